//! `/api/v1/brands`

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, EntityTrait, IntoActiveModel, QueryFilter, QueryOrder,
    QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::auth::{MANAGERS, Principal};
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path, Query};
use super::pagination::{Page, PageParams};
use super::scope;
use crate::app::AppState;
use crate::domain::Validator;
use crate::store::audit;
use crate::store::entities::brand;

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Brand {
    pub id: Uuid,
    pub name: String,
    pub categories: Vec<String>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBrand {
    pub name: String,
    #[serde(default)]
    pub categories: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandPatch {
    pub name: Option<String>,
    pub categories: Option<Vec<String>>,
}

impl From<brand::Model> for Brand {
    fn from(m: brand::Model) -> Self {
        Brand {
            id: m.id,
            name: m.name,
            categories: serde_json::from_value(m.categories).unwrap_or_default(),
            created_at: m.created_at,
            updated_at: m.updated_at,
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_brands, create_brand))
        .routes(routes!(get_brand, update_brand))
}

/// Lists brands (a brand token sees only its own; a KOL token, the brands it has contracts with).
#[utoipa::path(get, path = "/brands", tag = "brands", params(PageParams),
    responses((status = 200, body = Page<Brand>), (status = 401, body = super::error::Problem)))]
async fn list_brands(
    State(s): State<AppState>,
    p: Principal,
    Query(page): Query<PageParams>,
) -> ApiResult<Json<Page<Brand>>> {
    let limit = page.limit()?;
    let mut q = brand::Entity::find()
        .order_by_asc(brand::Column::Id)
        .limit(limit + 1);
    if let Some(after) = page.after()? {
        q = q.filter(brand::Column::Id.gt(after));
    }
    if let Some(ids) = scope::visible_brands(&s.db, p.scope()).await? {
        q = q.filter(brand::Column::Id.is_in(ids));
    }
    let rows = q.all(&s.db).await?.into_iter().map(Brand::from).collect();
    Ok(Json(Page::from_rows(rows, limit, |b: &Brand| b.id)))
}

/// Creates a brand.
#[utoipa::path(post, path = "/brands", tag = "brands", request_body = NewBrand,
    responses((status = 201, body = Brand), (status = 422, body = super::error::Problem)))]
async fn create_brand(
    State(s): State<AppState>,
    p: Principal,
    JsonBody(input): JsonBody<NewBrand>,
) -> ApiResult<(StatusCode, Json<Brand>)> {
    p.require(MANAGERS)?;
    let mut v = Validator::new();
    v.non_empty(&input.name, "name", 200);
    validate_categories(&mut v, &input.categories, "categories");
    v.finish()?;
    let now = Utc::now();
    let txn = crate::store::write_txn(&s.db).await?;
    let row = brand::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(input.name.trim().to_owned()),
        categories: Set(serde_json::json!(input.categories)),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    let view = Brand::from(row);
    audit::record(
        &txn,
        &p,
        "brand.create",
        "brand",
        view.id,
        None::<&Brand>,
        Some(&view),
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One brand.
#[utoipa::path(get, path = "/brands/{id}", tag = "brands", params(("id" = Uuid, Path)),
    responses((status = 200, body = Brand), (status = 404, body = super::error::Problem)))]
async fn get_brand(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Brand>> {
    if !scope::brand_visible(&s.db, p.scope(), id).await? {
        return Err(ApiError::NotFound("brand"));
    }
    let row = brand::Entity::find_by_id(id)
        .one(&s.db)
        .await?
        .ok_or(ApiError::NotFound("brand"))?;
    Ok(Json(row.into()))
}

/// Changes a brand's name or categories.
#[utoipa::path(patch, path = "/brands/{id}", tag = "brands", params(("id" = Uuid, Path)), request_body = BrandPatch,
    responses((status = 200, body = Brand), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
async fn update_brand(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<BrandPatch>,
) -> ApiResult<Json<Brand>> {
    p.require(MANAGERS)?;
    let mut v = Validator::new();
    if let Some(name) = &input.name {
        v.non_empty(name, "name", 200);
    }
    if let Some(c) = &input.categories {
        validate_categories(&mut v, c, "categories");
    }
    v.finish()?;
    let txn = crate::store::write_txn(&s.db).await?;
    let row = brand::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("brand"))?;
    let before = Brand::from(row.clone());
    let mut am = row.into_active_model();
    if let Some(name) = input.name {
        am.name = Set(name.trim().to_owned());
    }
    if let Some(c) = input.categories {
        am.categories = Set(serde_json::json!(c));
    }
    am.updated_at = Set(Utc::now());
    let after = Brand::from(am.update(&txn).await?);
    audit::record(
        &txn,
        &p,
        "brand.update",
        "brand",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(after))
}

/// Categories are short lowercase slugs (`food`, `home_textiles`, `womens_fashion`, `beauty`, ...).
pub fn validate_categories(v: &mut Validator, categories: &[String], field: &str) {
    v.check(categories.len() <= 32, field, "at most 32 categories");
    for (i, c) in categories.iter().enumerate() {
        v.check(
            is_slug(c),
            format!("{field}[{i}]"),
            "must be a lowercase slug of a-z, 0-9 and _ (1 to 40 characters)",
        );
        if categories[..i].contains(c) {
            v.error(format!("{field}[{i}]"), "is listed twice");
        }
    }
}

pub fn is_slug(s: &str) -> bool {
    (1..=40).contains(&s.len())
        && s.bytes()
            .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_')
}
