//! Versioned Lua strategies: saving a source under an existing name makes the next version (a
//! draft); the published version of a name is the one allocations run. The bundled strategies
//! are stored at start whenever their source changed, and published over an earlier bundled
//! version (never over one the agency published).

use chrono::Utc;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DbErr, EntityTrait, QueryFilter, QueryOrder,
    Set,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::entities::{script, script_publication};
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

/// Version `version` of `name`.
pub async fn version<C: ConnectionTrait>(
    db: &C,
    name: &str,
    version: i32,
) -> Result<Option<script::Model>, DbErr> {
    script::Entity::find()
        .filter(script::Column::Name.eq(name))
        .filter(script::Column::Version.eq(version))
        .one(db)
        .await
}

/// Which version of `name` is published, if any.
pub async fn publication<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<script_publication::Model>, DbErr> {
    script_publication::Entity::find_by_id(name.to_owned())
        .one(db)
        .await
}

/// The published version of `name`: the one allocations run.
pub async fn published<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Option<script::Model>, DbErr> {
    match publication(db, name).await? {
        Some(p) => version(db, name, p.version).await,
        None => Ok(None),
    }
}

/// Makes `version` the published version of `name`.
pub async fn publish<C: ConnectionTrait>(
    db: &C,
    name: &str,
    version: i32,
    by: &str,
) -> Result<script_publication::Model, DbErr> {
    let row = script_publication::ActiveModel {
        name: Set(name.to_owned()),
        version: Set(version),
        published_by: Set(by.to_owned()),
        published_at: Set(Utc::now()),
    };
    match publication(db, name).await? {
        Some(_) => row.update(db).await,
        None => row.insert(db).await,
    }
}

/// Stores each bundled strategy whose source is not already its newest version, and publishes
/// it unless the agency published a version of its own.
pub async fn sync_bundled<C: ConnectionTrait>(db: &C) -> Result<(), DbErr> {
    const BY: &str = "kolhost (bundled)";
    for b in bundled::ALL {
        let name = b.name.trim_end_matches(".lua");
        let current = latest(db, name).await?;
        if current
            .as_ref()
            .is_none_or(|s| s.sha256 != sha256(b.source))
        {
            let stored = save(db, name, b.source, true, BY).await?;
            tracing::info!(script = name, "bundled strategy stored");
            let live_is_bundled = published(db, name).await?.is_none_or(|p| p.bundled);
            if live_is_bundled {
                publish(db, name, stored.version, BY).await?;
            }
        }
    }
    Ok(())
}
