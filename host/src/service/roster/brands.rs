//! Brands: the companies whose products the agency's KOLs sell.

use chrono::{DateTime, Utc};
use sea_orm::{
    ActiveModelTrait, ColumnTrait, DatabaseConnection, EntityTrait, IntoActiveModel, QueryFilter,
    Set,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use uuid::Uuid;

use super::validate_categories;
use crate::domain::actor::MANAGERS;
use crate::domain::{Actor, Validator};
use crate::service::visibility::{self, visible_brands};
use crate::service::{Page, PageRequest, Result};
use crate::store::{self, audit, entities::brand};

#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Brand {
    pub id: Uuid,
    pub name: String,
    pub categories: Vec<String>,
    pub created_at: DateTime<Utc>,
    pub updated_at: DateTime<Utc>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewBrand {
    #[schema(min_length = 1, max_length = 200)]
    pub name: String,
    #[serde(default)]
    #[schema(value_type = std::collections::BTreeSet<String>, max_items = 32, pattern = "^[a-z0-9_]{1,40}$")]
    pub categories: Vec<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BrandPatch {
    #[schema(min_length = 1, max_length = 200)]
    pub name: Option<String>,
    #[schema(value_type = Option<std::collections::BTreeSet<String>>, max_items = 32, pattern = "^[a-z0-9_]{1,40}$")]
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

/// Brands the actor may see (a brand token its own; a KOL token those it has contracts with).
pub async fn list(
    db: &DatabaseConnection,
    actor: &Actor,
    page: PageRequest,
) -> Result<Page<Brand>> {
    let mut q = brand::Entity::find();
    if let Some(ids) = visible_brands(db, actor.scope()).await? {
        q = q.filter(brand::Column::Id.is_in(ids));
    }
    Ok(page.fetch(db, q, brand::Column::Id).await?.map(Brand::from))
}

pub async fn get(db: &DatabaseConnection, actor: &Actor, id: Uuid) -> Result<Brand> {
    Ok(visibility::find::<brand::Entity, _>(db, actor, id)
        .await?
        .into())
}

pub async fn create(db: &DatabaseConnection, actor: &Actor, input: NewBrand) -> Result<Brand> {
    actor.require(MANAGERS)?;
    let mut v = Validator::new();
    v.non_empty(&input.name, "name", 200);
    validate_categories(&mut v, &input.categories, "categories");
    v.finish()?;
    let now = Utc::now();
    let txn = store::write_txn(db).await?;
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
    Ok(audit::commit_created(txn, actor, "brand", view.id, view).await?)
}

/// Changes a brand's name or categories.
pub async fn update(
    db: &DatabaseConnection,
    actor: &Actor,
    id: Uuid,
    input: BrandPatch,
) -> Result<Brand> {
    actor.require(MANAGERS)?;
    let mut v = Validator::new();
    if let Some(name) = &input.name {
        v.non_empty(name, "name", 200);
    }
    if let Some(c) = &input.categories {
        validate_categories(&mut v, c, "categories");
    }
    v.finish()?;
    let txn = store::write_txn(db).await?;
    let row = visibility::find_for_write::<brand::Entity, _>(&txn, id).await?;
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
    Ok(audit::commit_updated(txn, actor, "brand", id, &before, after).await?)
}
