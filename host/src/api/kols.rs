//! `/api/v1/kols`: the roster of streamers, with their tier and platform accounts.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use serde::Deserialize;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{JsonBody, Path, Query};
use super::pagination::{Page, PageRequest};
use crate::app::AppState;
use crate::domain::{Actor, Tier};
use crate::service::privacy::KolView;
use crate::service::roster::kols::{self, Kol, KolPatch, KolQuery, NewKol};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_kols, create_kol))
        .routes(routes!(get_kol, update_kol))
}

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct KolFilter {
    pub tier: Option<Tier>,
    pub category: Option<String>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

/// Lists KOLs, optionally of one tier or category.
#[utoipa::path(get, path = "/kols", tag = "kols", params(KolFilter),
    responses((status = 200, body = Page<KolView>), (status = 401, body = Problem)))]
async fn list_kols(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<KolFilter>,
) -> ApiResult<Json<Page<KolView>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = KolQuery {
        tier: f.tier,
        category: f.category,
    };
    Ok(Json(kols::list(&s.db, &actor, query, page).await?))
}

/// Adds a KOL to the roster.
#[utoipa::path(post, path = "/kols", tag = "kols", request_body = NewKol,
    responses((status = 201, body = Kol), (status = 422, body = Problem)))]
async fn create_kol(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewKol>,
) -> ApiResult<(StatusCode, Json<Kol>)> {
    let kol = kols::create(&s.db, &actor, input, &s.secrets).await?;
    Ok((StatusCode::CREATED, Json(kol)))
}

/// One KOL.
#[utoipa::path(get, path = "/kols/{id}", tag = "kols", params(("id" = Uuid, Path)),
    responses((status = 200, body = KolView), (status = 404, body = Problem)))]
async fn get_kol(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<KolView>> {
    Ok(Json(kols::get(&s.db, &actor, id).await?))
}

/// Changes a KOL.
#[utoipa::path(patch, path = "/kols/{id}", tag = "kols", params(("id" = Uuid, Path)), request_body = KolPatch,
    responses((status = 200, body = Kol), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_kol(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<KolPatch>,
) -> ApiResult<Json<Kol>> {
    Ok(Json(
        kols::update(&s.db, &actor, id, input, &s.secrets).await?,
    ))
}
