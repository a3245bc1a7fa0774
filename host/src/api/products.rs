//! `/api/v1/products`: brands' SKUs with prices in fen, stock for livestreams, and listings.

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
use crate::domain::{Actor, ProductRole};
use crate::service::roster::products::{self, NewProduct, Product, ProductPatch, ProductQuery};

#[derive(Debug, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct ProductFilter {
    pub brand_id: Option<Uuid>,
    pub category: Option<String>,
    pub role: Option<ProductRole>,
    /// Items per page (1 to 500, default 50).
    pub limit: Option<u64>,
    /// `next_cursor` of the previous page.
    pub cursor: Option<String>,
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
}

/// Lists products, optionally of one brand, category or role.
#[utoipa::path(get, path = "/products", tag = "products", params(ProductFilter),
    responses((status = 200, body = Page<Product>), (status = 401, body = Problem)))]
async fn list_products(
    State(s): State<AppState>,
    actor: Actor,
    Query(f): Query<ProductFilter>,
) -> ApiResult<Json<Page<Product>>> {
    let page = PageRequest::parse(f.limit, f.cursor.as_deref())?;
    let query = ProductQuery {
        brand_id: f.brand_id,
        category: f.category,
        role: f.role,
    };
    Ok(Json(products::list(&s.db, &actor, query, page).await?))
}

/// Adds a product to a brand's catalogue.
#[utoipa::path(post, path = "/products", tag = "products", request_body = NewProduct,
    responses((status = 201, body = Product), (status = 422, body = Problem)))]
async fn create_product(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    let product = products::create(&s.db, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(product)))
}

/// One product.
#[utoipa::path(get, path = "/products/{id}", tag = "products", params(("id" = Uuid, Path)),
    responses((status = 200, body = Product), (status = 404, body = Problem)))]
async fn get_product(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Product>> {
    Ok(Json(products::get(&s.db, &actor, id).await?))
}

/// Changes a product.
#[utoipa::path(patch, path = "/products/{id}", tag = "products", params(("id" = Uuid, Path)), request_body = ProductPatch,
    responses((status = 200, body = Product), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn update_product(
    State(s): State<AppState>,
    actor: Actor,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<ProductPatch>,
) -> ApiResult<Json<Product>> {
    Ok(Json(products::update(&s.db, &actor, id, input).await?))
}
