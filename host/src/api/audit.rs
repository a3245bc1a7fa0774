//! `/api/v1/audit`: the trail of every successful write.

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::Query;
use super::pagination::{Page, PageRequest};
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::audit::{self, AuditEvent, AuditQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct AuditFilter {
    pub entity_id: Option<Uuid>,
    pub entity_type: Option<String>,
    pub action: Option<String>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(list_audit))
}

/// The audit trail, oldest first (admin and manager).
#[utoipa::path(get, path = "/audit", tag = "audit", params(AuditFilter),
    responses((status = 200, body = Page<AuditEvent>), (status = 403, body = Problem)))]
async fn list_audit(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<AuditFilter>,
) -> ApiResult<Json<Page<AuditEvent>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = AuditQuery {
        entity_id: f.entity_id,
        entity_type: f.entity_type,
        action: f.action,
    };
    Ok(Json(audit::list(&s.db, &actor, query, page).await?))
}
