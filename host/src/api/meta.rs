//! Who am I, health and metrics.

use axum::Json;
use axum::extract::State;
use axum::http::header;
use axum::response::IntoResponse;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::ApiResult;
use crate::app::AppState;
use crate::domain::Actor;
use crate::domain::Role;

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

/// Liveness and database reachability.
#[utoipa::path(get, path = "/healthz", tag = "meta", responses((status = 200, description = "healthy"), (status = 503, description = "database unreachable")))]
async fn healthz(State(s): State<AppState>) -> ApiResult<impl IntoResponse> {
    match s.db.ping().await {
        Ok(()) => Ok((
            axum::http::StatusCode::OK,
            Json(serde_json::json!({"status": "ok"})),
        )),
        Err(e) => {
            tracing::warn!(error = %e, "health check: database unreachable");
            Ok((
                axum::http::StatusCode::SERVICE_UNAVAILABLE,
                Json(serde_json::json!({"status": "database unreachable"})),
            ))
        }
    }
}

/// Prometheus text exposition: request counts and latencies per route.
#[utoipa::path(get, path = "/metrics", tag = "meta", responses((status = 200, description = "Prometheus text", content_type = "text/plain")))]
async fn metrics(State(s): State<AppState>) -> impl IntoResponse {
    let mut text = s.metrics.render();
    text.push_str(&s.plugins.render_prometheus());
    ([(header::CONTENT_TYPE, "text/plain; version=0.0.4")], text)
}
