//! Who am I, health and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::{Deserialize, Serialize};
use utoipa::{IntoParams, ToSchema};
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::ApiResult;
use super::extract::Query;
use crate::app::AppState;
use crate::domain::Role;
use crate::domain::{Actor, FieldError};
use crate::service::cluster::{self, Readiness};

#[derive(Debug, Serialize, ToSchema)]
pub struct Me {
    pub name: String,
    pub role: Role,
    pub brand_id: Option<Uuid>,
    pub kol_id: Option<Uuid>,
}

/// Routes under `/api/v1`.
pub fn api_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new().routes(routes!(me))
}

/// Routes at the root: `/healthz` and `/metrics`.
pub fn root_router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(healthz))
        .routes(routes!(metrics))
}

/// The caller's token: its name, role and, for brand and KOL tokens, whose it is.
#[utoipa::path(get, path = "/me", tag = "meta", responses((status = 200, body = Me), (status = 401, body = super::error::Problem)))]
async fn me(p: Actor) -> Json<Me> {
    Json(Me {
        name: p.name,
        role: p.role,
        brand_id: p.brand_id,
        kol_id: p.kol_id,
    })
}

/// `?ready=1` asks for readiness rather than liveness.
#[derive(Debug, Deserialize, IntoParams)]
#[into_params(parameter_in = Query)]
pub struct HealthQuery {
    /// `1` or `true`: answer whether this host is ready to take traffic (start-up done, the
    /// database answering, and with several hosts on PostgreSQL: hearing the others' changes);
    /// 503 when not. Without it: whether the process is alive, without touching the database.
    #[param(pattern = "^(1|0|true|false)$")]
    pub ready: Option<String>,
}

/// Liveness (the process answers; the database is not touched) or, with `?ready=1`,
/// readiness for a load balancer: start-up done, database reachable, change announcements heard.
#[utoipa::path(get, path = "/healthz", tag = "meta", params(HealthQuery),
    responses((status = 200, description = "alive; with `ready=1`: ready", body = Object),
        (status = 400, body = super::error::Problem),
        (status = 503, description = "with `ready=1`: not ready (the body says what is missing)", body = Readiness)))]
async fn healthz(
    State(s): State<AppState>,
    Query(q): Query<HealthQuery>,
) -> ApiResult<axum::response::Response> {
    let ready = match q.ready.as_deref() {
        None => false,
        Some("1" | "true") => true,
        Some("0" | "false") => false,
        Some(_) => {
            return Err(FieldError::one_of("ready", &["1", "true", "0", "false"]).into());
        }
    };
    if !ready {
        return Ok(
            Json(serde_json::json!({"status": "ok", "host_id": s.cluster.host_id})).into_response(),
        );
    }
    let r = cluster::readiness(&s.db, &s.cluster).await;
    let code = if r.ready() {
        axum::http::StatusCode::OK
    } else {
        axum::http::StatusCode::SERVICE_UNAVAILABLE
    };
    Ok((code, Json(r)).into_response())
}

/// Prometheus text exposition: request counts and latencies per route.
#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut text = s.metrics.render();
    text.push_str(&format!(
        "# HELP kolhost_host_info The host serving these figures (config host_id).\n\
         # TYPE kolhost_host_info gauge\nkolhost_host_info{{host=\"{}\",version=\"{}\"}} 1\n",
        s.cluster.host_id.replace(['\\', '"', '\n'], "_"),
        env!("CARGO_PKG_VERSION")
    ));
    text.push_str(&s.plugins.render_prometheus());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
