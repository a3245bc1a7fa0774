//! `/api/v1/reconciliation`: push against pull per platform (`service::reconciliation`).

use axum::Json;
use axum::extract::State;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiResult, Problem};
use super::extract::Query;
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::reconciliation::{self, Reconciliation, ReconciliationQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ReconciliationFilter {
    /// `douyin`, `kuaishou`, `taobao` (or another plugin's platform).
    #[param(pattern = "^[a-z0-9-]{1,32}$")]
    pub platform: String,
    /// Orders paid at or after, RFC 3339.
    pub from: DateTime<Utc>,
    /// Orders paid before, RFC 3339 (at most 92 days after `from`).
    pub to: DateTime<Utc>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(get_reconciliation))
}

/// Orders seen by push but never confirmed by a pull, pulled orders never pushed, and amount
/// mismatches between the two, with counts (admin, manager).
#[utoipa::path(get, path = "/reconciliation", tag = "orders", params(ReconciliationFilter),
    responses((status = 200, body = Reconciliation), (status = 400, body = Problem),
        (status = 403, body = Problem), (status = 422, body = Problem)))]
async fn get_reconciliation(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<ReconciliationFilter>,
) -> ApiResult<Json<Reconciliation>> {
    let q = ReconciliationQuery {
        platform: f.platform,
        from: f.from,
        to: f.to,
    };
    Ok(Json(reconciliation::report(&s.db, &actor, q).await?))
}
