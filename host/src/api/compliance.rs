//! `/api/v1/compliance`: the findings, and the rules with their modes (design §6a). The checks
//! themselves run inside the writes that carry marketing text or prices (`service::compliance`).

use axum::Json;
use axum::extract::State;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{JsonBody, Path, Query};
use super::pagination::{Page, PageRequest};
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::compliance::{
    self, ComplianceConfig, ConfigChange, FindingQuery, Review, ReviewStep, StoredFinding,
};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct FindingFilter {
    pub entity_id: Option<Uuid>,
    #[param(pattern = "^(banned_term|floor_price|lowest_price)$")]
    pub rule: Option<String>,
    /// `open`, `acknowledged` or `resolved`.
    pub status: Option<Review>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_findings))
        .routes(routes!(acknowledge_finding))
        .routes(routes!(resolve_finding))
        .routes(routes!(get_rules, put_rules))
}

/// Findings, oldest first (brand and KOL tokens: on their own products and sessions).
#[utoipa::path(get, path = "/compliance/findings", tag = "compliance", params(FindingFilter),
    responses((status = 200, body = Page<StoredFinding>), (status = 401, body = Problem)))]
async fn list_findings(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<FindingFilter>,
) -> ApiResult<Json<Page<StoredFinding>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = FindingQuery {
        entity_id: f.entity_id,
        rule: f.rule,
        status: f.status,
    };
    Ok(Json(
        compliance::findings(&s.db, &actor, query, page).await?,
    ))
}

/// The rules with their modes, and the banned terms (staff).
#[utoipa::path(get, path = "/compliance/rules", tag = "compliance",
    responses((status = 200, body = ComplianceConfig), (status = 403, body = Problem)))]
async fn get_rules(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<ComplianceConfig>> {
    Ok(Json(compliance::config(&s.db, &actor).await?))
}

/// Sets rules' modes (`block` or `warn`) and/or replaces the banned-term list (admin).
#[utoipa::path(put, path = "/compliance/rules", tag = "compliance", request_body = ConfigChange,
    responses((status = 200, body = ComplianceConfig), (status = 403, body = Problem),
        (status = 422, body = Problem)))]
async fn put_rules(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(change): JsonBody<ConfigChange>,
) -> ApiResult<Json<ComplianceConfig>> {
    Ok(Json(compliance::configure(&s.db, &actor, change).await?))
}

/// Takes a finding on (admins and managers): `open` becomes `acknowledged`, naming who and when.
#[utoipa::path(post, path = "/compliance/findings/{id}/acknowledge", tag = "compliance",
    params(("id" = Uuid, Path)), request_body = ReviewStep,
    responses((status = 200, body = StoredFinding), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn acknowledge_finding(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(step): JsonBody<ReviewStep>,
) -> ApiResult<Json<StoredFinding>> {
    Ok(Json(
        compliance::review(&s.db, &actor, id, Review::Acknowledged, step).await?,
    ))
}

/// Closes a finding with a note of what was done (admins and managers); the finding is kept.
#[utoipa::path(post, path = "/compliance/findings/{id}/resolve", tag = "compliance",
    params(("id" = Uuid, Path)), request_body = ReviewStep,
    responses((status = 200, body = StoredFinding), (status = 404, body = Problem), (status = 409, body = Problem),
        (status = 422, body = Problem)))]
async fn resolve_finding(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(step): JsonBody<ReviewStep>,
) -> ApiResult<Json<StoredFinding>> {
    Ok(Json(
        compliance::review(&s.db, &actor, id, Review::Resolved, step).await?,
    ))
}
