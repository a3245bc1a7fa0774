//! `/api/v1/products`: brands' SKUs with prices in fen, stock for livestreams, and listings.

use std::collections::HashMap;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, IntoActiveModel,
    QueryFilter, QueryOrder, QuerySelect, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::auth::{MANAGERS, Principal};
use super::brands::is_slug;
use super::compliance;
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path, Query};
use super::pagination::{Page, PageParams};
use super::scope;
use crate::app::AppState;
use crate::domain::{Platform, ProductRole, Validator};
use crate::store::audit;
use crate::store::entities::{brand, product, product_listing};

/// A product's item on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    pub platform: Platform,
    pub item_id: String,
}

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Product {
    pub id: Uuid,
    pub brand_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub role: ProductRole,
    pub list_price_fen: i64,
    /// The lowest live price the brand allows.
    pub floor_price_fen: i64,
    pub stock_units: i64,
    pub copy: String,
    pub listings: Vec<Listing>,
    pub created_at: chrono::DateTime<Utc>,
    pub updated_at: chrono::DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub brand_id: Uuid,
    pub sku: String,
    pub name: String,
    pub category: String,
    pub role: ProductRole,
    pub list_price_fen: i64,
    pub floor_price_fen: i64,
    pub stock_units: i64,
    #[serde(default)]
    pub copy: String,
    #[serde(default)]
    pub listings: Vec<Listing>,
}

/// Changes to a product; `listings`, when given, replaces the whole list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    pub sku: Option<String>,
    pub name: Option<String>,
    pub category: Option<String>,
    pub role: Option<ProductRole>,
    pub list_price_fen: Option<i64>,
    pub floor_price_fen: Option<i64>,
    pub stock_units: Option<i64>,
    pub copy: Option<String>,
    pub listings: Option<Vec<Listing>>,
}

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

impl ProductFilter {
    fn page(&self) -> PageParams {
        PageParams {
            limit: self.limit,
            cursor: self.cursor.clone(),
        }
    }
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_products, create_product))
        .routes(routes!(get_product, update_product))
}

/// Lists products, optionally of one brand, category or role.
#[utoipa::path(get, path = "/products", tag = "products", params(ProductFilter),
    responses((status = 200, body = Page<Product>), (status = 401, body = super::error::Problem)))]
async fn list_products(
    State(s): State<AppState>,
    p: Principal,
    Query(f): Query<ProductFilter>,
) -> ApiResult<Json<Page<Product>>> {
    let limit = f.page().limit()?;
    let mut q = product::Entity::find()
        .order_by_asc(product::Column::Id)
        .limit(limit + 1);
    if let Some(after) = f.page().after()? {
        q = q.filter(product::Column::Id.gt(after));
    }
    if let Some(b) = f.brand_id {
        q = q.filter(product::Column::BrandId.eq(b));
    }
    if let Some(c) = &f.category {
        q = q.filter(product::Column::Category.eq(c.as_str()));
    }
    if let Some(r) = f.role {
        q = q.filter(product::Column::Role.eq(r.as_str()));
    }
    if let Some(ids) = scope::visible_brands(&s.db, p.scope()).await? {
        q = q.filter(product::Column::BrandId.is_in(ids));
    }
    let rows = q.all(&s.db).await?;
    let views = with_listings(&s.db, rows).await?;
    Ok(Json(Page::from_rows(views, limit, |p: &Product| p.id)))
}

/// Adds a product to a brand's catalogue.
#[utoipa::path(post, path = "/products", tag = "products", request_body = NewProduct,
    responses((status = 201, body = Product), (status = 422, body = super::error::Problem)))]
async fn create_product(
    State(s): State<AppState>,
    p: Principal,
    JsonBody(input): JsonBody<NewProduct>,
) -> ApiResult<(StatusCode, Json<Product>)> {
    p.require(MANAGERS)?;
    let mut v = Validator::new();
    validate_fields(
        &mut v,
        &input.sku,
        &input.name,
        &input.category,
        input.list_price_fen,
        input.floor_price_fen,
        input.stock_units,
        &input.copy,
    );
    validate_listings(&mut v, &input.listings);
    v.finish()?;
    let id = Uuid::now_v7();
    let now = Utc::now();
    let txn = crate::store::write_txn(&s.db).await?;
    if brand::Entity::find_by_id(input.brand_id)
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(ApiError::field("brand_id", "no such brand"));
    }
    check_sku_free(&txn, input.brand_id, input.sku.trim(), id).await?;
    check_listings_free(&txn, &input.listings, id).await?;
    let row = product::ActiveModel {
        id: Set(id),
        brand_id: Set(input.brand_id),
        sku: Set(input.sku.trim().to_owned()),
        name: Set(input.name.trim().to_owned()),
        category: Set(input.category),
        role: Set(input.role.as_str().to_owned()),
        list_price_fen: Set(input.list_price_fen),
        floor_price_fen: Set(input.floor_price_fen),
        stock_units: Set(input.stock_units),
        copy: Set(input.copy),
        created_at: Set(now),
        updated_at: Set(now),
    }
    .insert(&txn)
    .await?;
    insert_listings(&txn, id, &input.listings).await?;
    compliance::check_product(&txn, &p, id, Some(row.copy.as_str()), None).await?;
    let view = to_view(row, input.listings);
    audit::record(
        &txn,
        &p,
        "product.create",
        "product",
        id,
        None::<&Product>,
        Some(&view),
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// One product.
#[utoipa::path(get, path = "/products/{id}", tag = "products", params(("id" = Uuid, Path)),
    responses((status = 200, body = Product), (status = 404, body = super::error::Problem)))]
async fn get_product(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
) -> ApiResult<Json<Product>> {
    let row = product::Entity::find_by_id(id)
        .one(&s.db)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    if !scope::brand_visible(&s.db, p.scope(), row.brand_id).await? {
        return Err(ApiError::NotFound("product"));
    }
    Ok(Json(with_listings(&s.db, vec![row]).await?.remove(0)))
}

/// Changes a product.
#[utoipa::path(patch, path = "/products/{id}", tag = "products", params(("id" = Uuid, Path)), request_body = ProductPatch,
    responses((status = 200, body = Product), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
async fn update_product(
    State(s): State<AppState>,
    p: Principal,
    Path(id): Path<Uuid>,
    JsonBody(input): JsonBody<ProductPatch>,
) -> ApiResult<Json<Product>> {
    p.require(MANAGERS)?;
    let txn = crate::store::write_txn(&s.db).await?;
    let row = product::Entity::find_by_id(id)
        .one(&txn)
        .await?
        .ok_or(ApiError::NotFound("product"))?;
    let before = with_listings(&txn, vec![row.clone()]).await?.remove(0);
    // Validate the product as it would be after the change, so cross-field rules hold.
    let sku = input.sku.clone().unwrap_or_else(|| row.sku.clone());
    let name = input.name.clone().unwrap_or_else(|| row.name.clone());
    let category = input
        .category
        .clone()
        .unwrap_or_else(|| row.category.clone());
    let list = input.list_price_fen.unwrap_or(row.list_price_fen);
    let floor = input.floor_price_fen.unwrap_or(row.floor_price_fen);
    let stock = input.stock_units.unwrap_or(row.stock_units);
    let copy = input.copy.clone().unwrap_or_else(|| row.copy.clone());
    let mut v = Validator::new();
    validate_fields(&mut v, &sku, &name, &category, list, floor, stock, &copy);
    if let Some(l) = &input.listings {
        validate_listings(&mut v, l);
    }
    v.finish()?;
    check_sku_free(&txn, row.brand_id, sku.trim(), id).await?;
    let mut am = row.into_active_model();
    am.sku = Set(sku.trim().to_owned());
    am.name = Set(name.trim().to_owned());
    am.category = Set(category);
    if let Some(r) = input.role {
        am.role = Set(r.as_str().to_owned());
    }
    am.list_price_fen = Set(list);
    am.floor_price_fen = Set(floor);
    am.stock_units = Set(stock);
    am.copy = Set(copy);
    am.updated_at = Set(Utc::now());
    let row = am.update(&txn).await?;
    let listings = match input.listings {
        Some(l) => {
            check_listings_free(&txn, &l, id).await?;
            product_listing::Entity::delete_many()
                .filter(product_listing::Column::ProductId.eq(id))
                .exec(&txn)
                .await?;
            insert_listings(&txn, id, &l).await?;
            l
        }
        None => before.listings.clone(),
    };
    let after = to_view(row, listings);
    compliance::check_product(
        &txn,
        &p,
        id,
        Some(after.copy.as_str()).filter(|c| *c != before.copy),
        Some(after.floor_price_fen).filter(|f| *f > before.floor_price_fen),
    )
    .await?;
    audit::record(
        &txn,
        &p,
        "product.update",
        "product",
        id,
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(after))
}

#[allow(clippy::too_many_arguments)]
fn validate_fields(
    v: &mut Validator,
    sku: &str,
    name: &str,
    category: &str,
    list: i64,
    floor: i64,
    stock: i64,
    copy: &str,
) {
    v.non_empty(sku, "sku", 64);
    v.non_empty(name, "name", 200);
    v.check(
        is_slug(category),
        "category",
        "must be a lowercase slug of a-z, 0-9 and _ (1 to 40 characters)",
    );
    v.fen(list, "list_price_fen");
    v.check(list > 0, "list_price_fen", "must be positive");
    v.fen(floor, "floor_price_fen");
    v.check(floor > 0, "floor_price_fen", "must be positive");
    v.check(
        floor <= list,
        "floor_price_fen",
        "must not exceed list_price_fen",
    );
    v.check(
        (0..=1_000_000_000).contains(&stock),
        "stock_units",
        "must be between 0 and 1000000000",
    );
    v.check(
        copy.chars().count() <= 20_000,
        "copy",
        "must be at most 20000 characters",
    );
}

fn validate_listings(v: &mut Validator, listings: &[Listing]) {
    v.check(listings.len() <= 16, "listings", "at most 16 listings");
    for (i, l) in listings.iter().enumerate() {
        v.non_empty(&l.item_id, &format!("listings[{i}].item_id"), 128);
        if listings[..i]
            .iter()
            .any(|m| m.platform == l.platform && m.item_id == l.item_id)
        {
            v.error(format!("listings[{i}].item_id"), "is listed twice");
        }
    }
}

async fn check_sku_free<C: ConnectionTrait>(
    db: &C,
    brand_id: Uuid,
    sku: &str,
    id: Uuid,
) -> ApiResult<()> {
    let taken = product::Entity::find()
        .filter(product::Column::BrandId.eq(brand_id))
        .filter(product::Column::Sku.eq(sku))
        .filter(product::Column::Id.ne(id))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(ApiError::field(
            "sku",
            "the brand already has a product with this sku",
        ));
    }
    Ok(())
}

/// A platform item belongs to one product only: attribution of orders depends on it.
async fn check_listings_free<C: ConnectionTrait>(
    db: &C,
    listings: &[Listing],
    product_id: Uuid,
) -> ApiResult<()> {
    let mut v = Validator::new();
    for (i, l) in listings.iter().enumerate() {
        let taken = product_listing::Entity::find()
            .filter(product_listing::Column::Platform.eq(l.platform.as_str()))
            .filter(product_listing::Column::ItemId.eq(l.item_id.trim()))
            .filter(product_listing::Column::ProductId.ne(product_id))
            .one(db)
            .await?;
        v.check(
            taken.is_none(),
            format!("listings[{i}].item_id"),
            "is listed for another product",
        );
    }
    Ok(v.finish()?)
}

async fn insert_listings<C: ConnectionTrait>(
    db: &C,
    product_id: Uuid,
    listings: &[Listing],
) -> Result<(), DbErr> {
    for l in listings {
        product_listing::ActiveModel {
            id: Set(Uuid::now_v7()),
            product_id: Set(product_id),
            platform: Set(l.platform.as_str().to_owned()),
            item_id: Set(l.item_id.trim().to_owned()),
        }
        .insert(db)
        .await?;
    }
    Ok(())
}

fn to_view(m: product::Model, listings: Vec<Listing>) -> Product {
    Product {
        id: m.id,
        brand_id: m.brand_id,
        sku: m.sku,
        name: m.name,
        category: m.category,
        role: ProductRole::parse(&m.role).unwrap_or(ProductRole::Profit),
        list_price_fen: m.list_price_fen,
        floor_price_fen: m.floor_price_fen,
        stock_units: m.stock_units,
        copy: m.copy,
        listings,
        created_at: m.created_at,
        updated_at: m.updated_at,
    }
}

/// Loads the listings of `rows` in one query and builds their views.
pub async fn with_listings<C: ConnectionTrait>(
    db: &C,
    rows: Vec<product::Model>,
) -> Result<Vec<Product>, DbErr> {
    let ids: Vec<Uuid> = rows.iter().map(|p| p.id).collect();
    let mut by_product: HashMap<Uuid, Vec<Listing>> = HashMap::new();
    if !ids.is_empty() {
        for l in product_listing::Entity::find()
            .filter(product_listing::Column::ProductId.is_in(ids))
            .order_by_asc(product_listing::Column::Id)
            .all(db)
            .await?
        {
            if let Some(platform) = Platform::parse(&l.platform) {
                by_product.entry(l.product_id).or_default().push(Listing {
                    platform,
                    item_id: l.item_id,
                });
            }
        }
    }
    Ok(rows
        .into_iter()
        .map(|p| {
            let listings = by_product.remove(&p.id).unwrap_or_default();
            to_view(p, listings)
        })
        .collect())
}
