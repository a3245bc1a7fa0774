//! Versioned Lua strategies: saving a source under an existing name makes the next version;
//! the bundled strategies are stored at start whenever their source changed.

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::entities::script;
use crate::scripting::bundled;

pub fn sha256(source: &str) -> String {
    hex::encode(Sha256::digest(source.as_bytes()))
}

/// The newest version of `name`.
pub async fn latest<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<script::Model>, DbErr> {
    script::Entity::find()
        .filter(script::Column::Name.eq(name))
        .order_by_desc(script::Column::Version)
        .one(db)
        .await
}

/// Stores `source` as the next version of `name`.
pub async fn save<C: ConnectionTrait>(
    db: &C,
    name: &str,
    source: &str,
    bundled: bool,
    by: &str,
) -> Result<script::Model, DbErr> {
    let version = latest(db, name).await?.map_or(1, |s| s.version + 1);
    script::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(name.to_owned()),
        version: Set(version),
        source: Set(source.to_owned()),
        sha256: Set(sha256(source)),
        bundled: Set(bundled),
        created_by: Set(by.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await
}

/// Stores each bundled strategy whose source is not already its newest version.
pub async fn sync_bundled<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    for b in bundled::ALL {
        let name = b.name.trim_end_matches(".lua");
        let current = latest(db, name).await?;
        if current
            .as_ref()
            .is_none_or(|s| s.sha256 != sha256(b.source))
        {
            save(db, name, b.source, true, "kolhost (bundled)").await?;
            tracing::info!(script = name, "bundled strategy stored");
        }
    }
    Ok(())
}
