//! Products: brands' SKUs with prices in fen, stock for livestreams, and platform listings.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseConnection, DbErr, EntityTrait,
    IntoActiveModel, QueryFilter, Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::handles::{self, Columns};
use crate::domain::actor::MANAGERS;
use crate::domain::{Actor, FieldError, Platform, ProductRole, Validator};
use crate::service::visibility::{self, visible_brands};
use crate::service::{Page, PageRequest, Result, children, compliance};
use crate::store::entities::{brand, product, product_listing};
use crate::store::{self, audit};

/// A product's item on one platform.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Listing {
    pub platform: Platform,
    #[schema(min_length = 1, max_length = 128)]
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
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewProduct {
    pub brand_id: Uuid,
    #[schema(min_length = 1, max_length = 64)]
    pub sku: String,
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[schema(pattern = "^[a-z0-9_]{1,40}$")]
    pub category: String,
    pub role: ProductRole,
    #[schema(minimum = 1, maximum = 10000000000000i64)]
    pub list_price_fen: i64,
    /// At most `list_price_fen`.
    #[schema(minimum = 1, maximum = 10000000000000i64)]
    pub floor_price_fen: i64,
    #[schema(minimum = 0, maximum = 1000000000)]
    pub stock_units: i64,
    #[serde(default)]
    #[schema(max_length = 20000)]
    pub copy: String,
    /// Each (platform, item_id) once.
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeSet<Listing>, max_items = 16)]
    pub listings: Vec<Listing>,
}

/// Changes to a product; `listings`, when given, replaces the whole list.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ProductPatch {
    #[schema(min_length = 1, max_length = 64)]
    pub sku: Option<String>,
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(pattern = "^[a-z0-9_]{1,40}$")]
    pub category: Option<String>,
    pub role: Option<ProductRole>,
    #[schema(minimum = 1, maximum = 10000000000000i64)]
    pub list_price_fen: Option<i64>,
    #[schema(minimum = 1, maximum = 10000000000000i64)]
    pub floor_price_fen: Option<i64>,
    #[schema(minimum = 0, maximum = 1000000000)]
    pub stock_units: Option<i64>,
    #[schema(max_length = 20000)]
    pub copy: Option<String>,
    #[schema(value_type = Option<std::collections::BTreeSet<Listing>>, max_items = 16)]
    pub listings: Option<Vec<Listing>>,
}

/// Which products to list.
#[derive(Debug, Default)]
pub struct ProductQuery {
    pub brand_id: Option<Uuid>,
    pub category: Option<String>,
    pub role: Option<ProductRole>,
}

const LISTINGS: Columns<product_listing::Entity> = Columns {
    platform: product_listing::Column::Platform,
    handle: product_listing::Column::ItemId,
    owner: product_listing::Column::ProductId,
};

/// Products the actor may see, optionally of one brand, category or role.
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    query: ProductQuery,
    page: PageRequest,
) -> Result<Page<Product>> {
    let mut q = product::Entity::find();
    if let Some(b) = query.brand_id {
        q = q.filter(product::Column::BrandId.eq(b));
    }
    if let Some(c) = &query.category {
        q = q.filter(product::Column::Category.eq(c.as_str()));
    }
    if let Some(r) = query.role {
        q = q.filter(product::Column::Role.eq(r.as_str()));
    }
    if let Some(ids) = visible_brands(db, actor.scope()).await? {
        q = q.filter(product::Column::BrandId.is_in(ids));
    }
    let Page { items, next_cursor } = page.fetch(db, q, product::Column::Id).await?;
    Ok(Page {
        items: with_listings(db, items).await?,
        next_cursor,
    })
}

pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<Product> {
    let row = visibility::find::<product::Entity, _>(db, actor, id).await?;
    Ok(with_listings(db, vec![row]).await?.remove(0))
}

/// Adds a product to a brand's catalogue.
pub async fn create(db: &DatabaseConnection, actor: &Actor, input: NewProduct) -> Result<Product> {
    actor.require(MANAGERS)?;
    validate_new(&input)?;
    let txn = store::write_txn(db).await?;
    if brand::Entity::find_by_id(input.brand_id)
        .one(&txn)
        .await?
        .is_none()
    {
        return Err(FieldError::unknown("brand_id", "brand").into());
    }
    let view = insert(&txn, actor, input).await?;
    txn.commit().await?;
    Ok(view)
}

/// Changes a product.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: ProductPatch,
) -> Result<Product> {
    actor.require(MANAGERS)?;
    let txn = store::write_txn(db).await?;
    let row = visibility::find_for_write::<product::Entity, _>(&txn, id).await?;
    let after = change(&txn, actor, row, input).await?;
    txn.commit().await?;
    Ok(after)
}

/// The field rules of a new product (no database needed).
pub(super) fn validate_new(input: &NewProduct) -> Result<()> {
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
    handles::validate(&mut v, "listings", "item_id", &handles_of(&input.listings));
    Ok(v.finish()?)
}

/// Stores a validated new product of an existing brand, with its listings, compliance check and
/// audit row, inside the caller's transaction.
pub(super) async fn insert<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    input: NewProduct,
) -> Result<Product> {
    let id = Uuid::now_v7();
    let now = Utc::now();
    check_sku_free(txn, input.brand_id, input.sku.trim(), id).await?;
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
    .insert(txn)
    .await?;
    let listings = replace_listings(txn, id, input.listings).await?;
    compliance::check_product(txn, actor, id, Some(row.copy.as_str()), None).await?;
    let view = to_view(row, listings);
    audit::created(txn, actor, "product", id, &view).await?;
    Ok(view)
}

/// Applies `input` to the stored product `row` (validated as it would be after the change), with
/// the compliance check and audit row, inside the caller's transaction.
pub(super) async fn change<C: ConnectionTrait>(
    txn: &C,
    actor: &Actor,
    row: product::Model,
    input: ProductPatch,
) -> Result<Product> {
    let id = row.id;
    let before = with_listings(txn, vec![row.clone()]).await?.remove(0);
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
        handles::validate(&mut v, "listings", "item_id", &handles_of(l));
    }
    v.finish()?;
    check_sku_free(txn, row.brand_id, sku.trim(), id).await?;
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
    let row = am.update(txn).await?;
    let listings = match input.listings {
        Some(l) => replace_listings(txn, id, l).await?,
        None => before.listings.clone(),
    };
    let after = to_view(row, listings);
    compliance::check_product(
        txn,
        actor,
        id,
        Some(after.copy.as_str()).filter(|c| *c != before.copy),
        Some(after.floor_price_fen).filter(|f| *f > before.floor_price_fen),
    )
    .await?;
    audit::updated(txn, actor, "product", id, &before, &after).await?;
    Ok(after)
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
    v.slug(category, "category");
    v.fen(list, "list_price_fen");
    v.positive(list, "list_price_fen");
    v.fen(floor, "floor_price_fen");
    v.positive(floor, "floor_price_fen");
    if floor > list {
        v.error_code(
            "floor_price_fen",
            "floor_above_list",
            "must not exceed list_price_fen",
        );
    }
    v.in_range(stock, "stock_units", 0, 1_000_000_000);
    v.max_chars(copy, "copy", 20_000);
}

fn handles_of(listings: &[Listing]) -> Vec<(Platform, &str)> {
    listings
        .iter()
        .map(|l| (l.platform, l.item_id.as_str()))
        .collect()
}

async fn check_sku_free<C: ConnectionTrait>(
    db: &C,
    brand_id: Uuid,
    sku: &str,
    id: Uuid,
) -> Result<()> {
    let taken = product::Entity::find()
        .filter(product::Column::BrandId.eq(brand_id))
        .filter(product::Column::Sku.eq(sku))
        .filter(product::Column::Id.ne(id))
        .one(db)
        .await?;
    if taken.is_some() {
        return Err(FieldError::new(
            "sku",
            "taken",
            "the brand already has a product with this sku",
        )
        .into());
    }
    Ok(())
}

/// Replaces the product's listings; an item listed for another product is refused.
async fn replace_listings<C: ConnectionTrait>(
    db: &C,
    product_id: Uuid,
    mut listings: Vec<Listing>,
) -> Result<Vec<Listing>> {
    for l in &mut listings {
        l.item_id = l.item_id.trim().to_owned();
    }
    let rows = listings
        .iter()
        .map(|l| product_listing::ActiveModel {
            id: Set(Uuid::now_v7()),
            product_id: Set(product_id),
            platform: Set(l.platform.as_str().to_owned()),
            item_id: Set(l.item_id.clone()),
        })
        .collect();
    let names = ("listings", "item_id", "is listed for another product");
    handles::replace(
        db,
        &LISTINGS,
        product_id,
        names,
        &handles_of(&listings),
        rows,
    )
    .await?;
    Ok(listings)
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

/// The views of `rows`, their listings loaded in one query.
pub async fn with_listings<C: ConnectionTrait>(
    db: &C,
    rows: Vec<product::Model>,
) -> Result<Vec<Product>, DbErr> {
    children::attach(
        db,
        children::Link::<product_listing::Entity> {
            parent: product_listing::Column::ProductId,
            order: product_listing::Column::Id,
            parent_of: |l| l.product_id,
        },
        rows,
        |p| p.id,
        |l| {
            Some(Listing {
                platform: Platform::parse(&l.platform)?,
                item_id: l.item_id,
            })
        },
        to_view,
    )
    .await
}
