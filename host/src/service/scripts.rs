//! Lua allocation strategies: saved as numbered draft versions (a source must compile), run dry
//! on the agency's data or on a given `ctx`, and published: allocations run the published version
//! of a script, so a draft being edited never changes what the next allocation does.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use sea_orm::{
    ColumnTrait, ConnectionTrait, DatabaseConnection, EntityTrait, QueryFilter, QueryOrder,
};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::Page;
use super::allocation::{AllocationOutcome, RunLimits, build_context};
use super::error::{Error, Result};
use crate::domain::actor::{Actor, SCRIPTERS};
use crate::domain::allocation::AllocationContext;
use crate::domain::{FieldError, Validator};
use crate::scripting::{self, Preview, ScriptLimits};
use crate::store::entities::{script, script_publication};
use crate::store::{self, audit, scripts};

/// The largest script accepted.
const MAX_SOURCE_BYTES: usize = 256 * 1024;

/// One version of a strategy.
#[derive(Debug, Clone, Serialize, ToSchema)]
pub struct Script {
    pub name: String,
    pub version: i32,
    pub sha256: String,
    /// Shipped with kolhost (from `scripts/`) rather than written here.
    pub bundled: bool,
    pub created_by: String,
    pub created_at: DateTime<Utc>,
    /// The version of this script that allocations run (`null` until one is published).
    pub published_version: Option<i32>,
    /// The Lua source (omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScript {
    #[schema(pattern = "^[a-z0-9_]{1,40}$")]
    pub name: String,
    /// Lua that compiles; at most 256 KiB of UTF-8 (65536 characters always fit).
    #[schema(min_length = 1, max_length = 65536)]
    pub source: String,
}

/// Which version becomes the one allocations run.
#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Publish {
    #[schema(minimum = 1)]
    pub version: i32,
}

/// A dry run: a version of the script (the newest, the draft, unless `version` names one) on
/// the database's context (or an explicit one).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
    /// The version to run; the newest when absent.
    #[serde(default)]
    pub version: Option<i32>,
    #[serde(default)]
    #[schema(value_type = Object)]
    pub params: serde_json::Value,
    /// An explicit `ctx` (products, kols, contracts, sessions) instead of the database's.
    #[serde(default)]
    #[schema(value_type = Option<Object>)]
    pub ctx: Option<serde_json::Value>,
    #[serde(default)]
    pub limits: Option<RunLimits>,
}

fn view(m: script::Model, published_version: Option<i32>, with_source: bool) -> Script {
    Script {
        published_version,
        name: m.name,
        version: m.version,
        sha256: m.sha256,
        bundled: m.bundled,
        created_by: m.created_by,
        created_at: m.created_at,
        source: with_source.then_some(m.source),
    }
}

/// The whole list as one page: scripts are few.
fn one_page(items: Vec<Script>) -> Page<Script> {
    Page {
        items,
        next_cursor: None,
    }
}

/// The newest version of every script.
pub async fn list(db: &DatabaseConnection, actor: &Actor) -> Result<Page<Script>> {
    actor.require(SCRIPTERS)?;
    let rows = script::Entity::find()
        .order_by_asc(script::Column::Name)
        .order_by_desc(script::Column::Version)
        .all(db)
        .await?;
    let published: HashMap<String, i32> = script_publication::Entity::find()
        .all(db)
        .await?
        .into_iter()
        .map(|p| (p.name, p.version))
        .collect();
    let mut items: Vec<Script> = Vec::new();
    for r in rows {
        if items.last().is_none_or(|l| l.name != r.name) {
            let live = published.get(&r.name).copied();
            items.push(view(r, live, false));
        }
    }
    Ok(one_page(items))
}

/// Saves a script as a draft: a new name starts at version 1, an existing one gets the next
/// version, which allocations run only once it is published. A new name's first version is
/// published at once (there is nothing live to protect). The source must compile (a syntax
/// error carries its `line`).
pub async fn save(db: &DatabaseConnection, actor: &Actor, input: NewScript) -> Result<Script> {
    actor.require(SCRIPTERS)?;
    let mut v = Validator::new();
    v.slug(&input.name, "name");
    v.check(
        !input.source.trim().is_empty(),
        "source",
        "required",
        "must not be empty",
    );
    v.check_with(input.source.len() <= MAX_SOURCE_BYTES, || {
        FieldError::new(
            "source",
            "too_large",
            format!("must be at most {MAX_SOURCE_BYTES} bytes"),
        )
        .with_param("max_bytes", MAX_SOURCE_BYTES)
    });
    v.finish()?;
    scripting::check_syntax(&input.source, &chunk_name(&input.name)).map_err(Error::Script)?;
    let txn = store::write_txn(db).await?;
    let row = scripts::save(&txn, &input.name, &input.source, false, &actor.name).await?;
    let live = match scripts::publication(&txn, &input.name).await? {
        Some(p) => p.version,
        None => {
            scripts::publish(&txn, &input.name, row.version, &actor.name)
                .await?
                .version
        }
    };
    let id = row.id;
    let view = view(row, Some(live), false);
    audit::wrote(&txn, actor, "script.save", ("script", id), &view).await?;
    txn.commit().await?;
    Ok(view)
}

/// The newest version of a script (the draft), with its source.
pub async fn get(db: &DatabaseConnection, actor: &Actor, name: &str) -> Result<Script> {
    actor.require(SCRIPTERS)?;
    let row = latest(db, name).await?;
    let live = published_version(db, name).await?;
    Ok(view(row, live, true))
}

/// Makes `version` the one allocations run (audited with the version it replaces).
pub async fn publish(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    input: Publish,
) -> Result<Script> {
    actor.require(SCRIPTERS)?;
    let txn = store::write_txn(db).await?;
    let Some(row) = scripts::version(&txn, name, input.version).await? else {
        if latest(&txn, name).await.is_err() {
            return Err(Error::NotFound("script"));
        }
        return Err(no_version(name, input.version).into());
    };
    let before = scripts::publication(&txn, name).await?.map(|p| p.version);
    let after = scripts::publish(&txn, name, row.version, &actor.name).await?;
    let id = row.id;
    let view = view(row, Some(after.version), false);
    audit::changed(
        &txn,
        actor,
        "script.publish",
        ("script", id),
        &serde_json::json!({ "name": name, "published_version": before }),
        &serde_json::json!({ "name": name, "published_version": after.version }),
    )
    .await?;
    txn.commit().await?;
    Ok(view)
}

/// Every version of a script, oldest first, with sources.
pub async fn versions(db: &DatabaseConnection, actor: &Actor, name: &str) -> Result<Page<Script>> {
    actor.require(SCRIPTERS)?;
    let live = published_version(db, name).await?;
    let items: Vec<Script> = script::Entity::find()
        .filter(script::Column::Name.eq(name))
        .order_by_asc(script::Column::Version)
        .all(db)
        .await?
        .into_iter()
        .map(|m| view(m, live, true))
        .collect();
    if items.is_empty() {
        return Err(Error::NotFound("script"));
    }
    Ok(one_page(items))
}

/// Runs a version (the newest, the draft, unless the input names one) on the agency's data (or a
/// given `ctx`) and validates the result. Nothing is written.
pub async fn dry_run(
    db: &DatabaseConnection,
    actor: &Actor,
    name: &str,
    input: DryRun,
) -> Result<AllocationOutcome> {
    actor.require(SCRIPTERS)?;
    let row = match input.version {
        None => latest(db, name).await?,
        Some(n) => match scripts::version(db, name, n).await? {
            Some(row) => row,
            None => {
                latest(db, name).await?;
                return Err(no_version(name, n).into());
            }
        },
    };
    let ctx = build_context(db, input.ctx.into(), input.params).await?;
    let limits = input.limits.unwrap_or_default().resolve()?;
    let preview = run(row.source, name, Arc::new(ctx), limits).await?;
    Ok(AllocationOutcome::from_preview(
        preview,
        Some(row.version),
        false,
    ))
}

/// The newest version of `name`, or 404.
async fn latest<C: ConnectionTrait>(db: &C, name: &str) -> Result<script::Model> {
    scripts::latest(db, name)
        .await?
        .ok_or(Error::NotFound("script"))
}

async fn published_version(db: &DatabaseConnection, name: &str) -> Result<Option<i32>> {
    Ok(scripts::publication(db, name).await?.map(|p| p.version))
}

/// Runs a script's `source` on `ctx` in the sandbox.
pub(super) async fn run(
    source: String,
    name: &str,
    ctx: Arc<AllocationContext>,
    limits: ScriptLimits,
) -> Result<Preview> {
    scripting::preview_async(Arc::from(source), Arc::from(chunk_name(name)), ctx, limits)
        .await
        .map_err(Error::Script)
}

/// The chunk name a script's errors carry: `name.lua:LINE: message`.
pub fn chunk_name(name: &str) -> String {
    format!("{name}.lua")
}

/// A script version that does not exist (`unknown_version`).
fn no_version(name: &str, version: i32) -> FieldError {
    FieldError::new(
        "version",
        "unknown_version",
        format!("script {name:?} has no version {version}"),
    )
    .with_param("version", version)
}
