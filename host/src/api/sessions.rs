//! `/api/v1/sessions`: livestreams with their schedule, run-of-show outline and lineup.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{JsonBody, Path, Query};
use super::pagination::{Page, PageRequest};
use crate::app::AppState;
use crate::domain::{Actor, SessionStatus};
use crate::service::sessions::{self, NewSession, Session, SessionPatch, SessionQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct SessionFilter {
    pub kol_id: Option<Uuid>,
    pub status: Option<SessionStatus>,
    /// Sessions starting at or after this time.
    pub from: Option<DateTime<Utc>>,
    /// Sessions starting before this time.
    pub to: Option<DateTime<Utc>>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_sessions, create_session))
        .routes(routes!(get_session, update_session))
}

/// Lists sessions (a KOL token: its own; a brand token: those with its products in the lineup).
#[utoipa::path(get, path = "/sessions", tag = "sessions", params(SessionFilter),
    responses((status = 200, body = Page<Session>), (status = 401, body = Problem)))]
async fn list_sessions(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<SessionFilter>,
) -> ApiResult<Json<Page<Session>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = SessionQuery {
        kol_id: f.kol_id,
        status: f.status,
        from: f.from,
        to: f.to,
    };
    Ok(Json(sessions::list(&s.db, &actor, query, page).await?))
}

/// Schedules a session, optionally with its lineup.
#[utoipa::path(post, path = "/sessions", tag = "sessions", request_body = NewSession,
    responses((status = 201, body = Session), (status = 422, body = Problem)))]
async fn create_session(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewSession>,
) -> ApiResult<(StatusCode, Json<Session>)> {
    let session = sessions::create(&s.db, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(session)))
}

/// One session.
#[utoipa::path(get, path = "/sessions/{id}", tag = "sessions", params(("id" = Uuid, Path)),
    responses((status = 200, body = Session), (status = 404, body = Problem)))]
async fn get_session(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Session>> {
    Ok(Json(sessions::get(&s.db, &actor, id).await?))
}

/// Changes a session: schedule, outline, status (scheduled -> live -> ended, or cancelled) or lineup.
#[utoipa::path(patch, path = "/sessions/{id}", tag = "sessions", params(("id" = Uuid, Path)), request_body = SessionPatch,
    responses((status = 200, body = Session), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn update_session(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<SessionPatch>,
) -> ApiResult<Json<Session>> {
    Ok(Json(sessions::update(&s.db, &actor, id, input).await?))
}
