//! `/api/v1/brands`

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiResult, Problem};
use super::extract::{JsonBody, Path, Query};
use super::pagination::{Page, PageParams};
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::roster::brands::{self, Brand, BrandPatch, NewBrand};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_brands, create_brand))
        .routes(routes!(get_brand, update_brand))
}

/// Lists brands (a brand token sees only its own; a KOL token, the brands it has contracts with).
#[utoipa::path(get, path = "/brands", tag = "brands", params(PageParams),
    responses((status = 200, body = Page<Brand>), (status = 401, body = Problem)))]
async fn list_brands(
    State(s): State<AppState>,
    actor: Actor,
    Query(page): Query<PageParams>,
) -> ApiResult<Json<Page<Brand>>> {
    Ok(Json(brands::list(&s.db, &actor, page.request()?).await?))
}

/// Creates a brand.
#[utoipa::path(post, path = "/brands", tag = "brands", request_body = NewBrand,
    responses((status = 201, body = Brand), (status = 422, body = Problem)))]
async fn create_brand(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewBrand>,
) -> ApiResult<(StatusCode, Json<Brand>)> {
    let brand = brands::create(&s.db, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(brand)))
}

/// One brand.
#[utoipa::path(get, path = "/brands/{id}", tag = "brands", params(("id" = Uuid, Path)),
    responses((status = 200, body = Brand), (status = 404, body = Problem)))]
async fn get_brand(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Brand>> {
    Ok(Json(brands::get(&s.db, &actor, id).await?))
}

/// Changes a brand's name or categories.
#[utoipa::path(patch, path = "/brands/{id}", tag = "brands", params(("id" = Uuid, Path)), request_body = BrandPatch,
    responses((status = 200, body = Brand), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_brand(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<BrandPatch>,
) -> ApiResult<Json<Brand>> {
    Ok(Json(brands::update(&s.db, &actor, id, input).await?))
}
