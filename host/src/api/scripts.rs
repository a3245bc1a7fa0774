//! `/api/v1/scripts`: Lua allocation strategies, versioned, with dry runs.

use std::sync::Arc;

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use chrono::{DateTime, Utc};
use sea_orm::{ColumnTrait, EntityTrait, QueryFilter, QueryOrder};
use serde::{Deserialize, Serialize};
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::allocations::{AllocationOutcome, ContextSource, RunLimits, build_context};
use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use super::pagination::Page;
use crate::app::AppState;
use crate::domain::Actor;
use crate::domain::{Role, Validator};
use crate::scripting;
use crate::service::roster::is_slug;
use crate::store::entities::script;
use crate::store::{audit, scripts};

/// Who may read and write scripts.
pub const SCRIPTERS: &[Role] = &[Role::Admin, Role::Manager, Role::Scripter];
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
    /// The Lua source (omitted in lists).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub source: Option<String>,
}

#[derive(Debug, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct NewScript {
    pub name: String,
    pub source: String,
}

/// A dry run: the newest version of the script on the database's context (or an explicit one).
#[derive(Debug, Default, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct DryRun {
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

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_scripts, create_script))
        .routes(routes!(get_script))
        .routes(routes!(list_script_versions))
        .routes(routes!(dry_run_script))
}

fn view(m: script::Model, with_source: bool) -> Script {
    Script {
        name: m.name,
        version: m.version,
        sha256: m.sha256,
        bundled: m.bundled,
        created_by: m.created_by,
        created_at: m.created_at,
        source: with_source.then_some(m.source),
    }
}

/// The newest version of every script.
#[utoipa::path(get, path = "/scripts", tag = "scripts", responses((status = 200, body = Page<Script>)))]
async fn list_scripts(State(s): State<AppState>, p: Actor) -> ApiResult<Json<Page<Script>>> {
    p.require(SCRIPTERS)?;
    let rows = script::Entity::find()
        .order_by_asc(script::Column::Name)
        .order_by_desc(script::Column::Version)
        .all(&s.db)
        .await?;
    let mut items: Vec<Script> = Vec::new();
    for r in rows {
        if items.last().is_none_or(|l| l.name != r.name) {
            items.push(view(r, false));
        }
    }
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Saves a script: a new name starts at version 1, an existing one gets the next version. The
/// source must compile (a syntax error is a 422 with its `line`).
#[utoipa::path(post, path = "/scripts", tag = "scripts", request_body = NewScript,
    responses((status = 201, body = Script), (status = 422, body = super::error::Problem)))]
async fn create_script(
    State(s): State<AppState>,
    p: Actor,
    JsonBody(input): JsonBody<NewScript>,
) -> ApiResult<(StatusCode, Json<Script>)> {
    p.require(SCRIPTERS)?;
    let mut v = Validator::new();
    v.check(
        is_slug(&input.name),
        "name",
        "must be a lowercase slug of a-z, 0-9 and _ (1 to 40 characters)",
    );
    v.check(
        !input.source.trim().is_empty(),
        "source",
        "must not be empty",
    );
    v.check(
        input.source.len() <= MAX_SOURCE_BYTES,
        "source",
        format!("must be at most {MAX_SOURCE_BYTES} bytes"),
    );
    v.finish()?;
    scripting::check_syntax(&input.source, &chunk_name(&input.name)).map_err(ApiError::Script)?;
    let txn = crate::store::write_txn(&s.db).await?;
    let row = scripts::save(&txn, &input.name, &input.source, false, &p.name).await?;
    let id = row.id;
    let view = view(row, false);
    audit::record(
        &txn,
        &p,
        "script.save",
        "script",
        id,
        None::<&Script>,
        Some(&view),
    )
    .await?;
    txn.commit().await?;
    Ok((StatusCode::CREATED, Json(view)))
}

/// The newest version of a script, with its source.
#[utoipa::path(get, path = "/scripts/{name}", tag = "scripts", params(("name" = String, Path)),
    responses((status = 200, body = Script), (status = 404, body = super::error::Problem)))]
async fn get_script(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Script>> {
    p.require(SCRIPTERS)?;
    let row = scripts::latest(&s.db, &name)
        .await?
        .ok_or(ApiError::NotFound("script"))?;
    Ok(Json(view(row, true)))
}

/// Every version of a script, oldest first, with sources.
#[utoipa::path(get, path = "/scripts/{name}/versions", tag = "scripts", params(("name" = String, Path)),
    responses((status = 200, body = Page<Script>), (status = 404, body = super::error::Problem)))]
async fn list_script_versions(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Page<Script>>> {
    p.require(SCRIPTERS)?;
    let items: Vec<Script> = script::Entity::find()
        .filter(script::Column::Name.eq(name.as_str()))
        .order_by_asc(script::Column::Version)
        .all(&s.db)
        .await?
        .into_iter()
        .map(|m| view(m, true))
        .collect();
    if items.is_empty() {
        return Err(ApiError::NotFound("script"));
    }
    Ok(Json(Page {
        items,
        next_cursor: None,
    }))
}

/// Runs the newest version on the agency's data (or a given `ctx`) and validates the result.
/// Nothing is written. A script error is a 422 with its `code` and `line`.
#[utoipa::path(post, path = "/scripts/{name}/dry-run", tag = "scripts", params(("name" = String, Path)), request_body = DryRun,
    responses((status = 200, body = AllocationOutcome), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
async fn dry_run_script(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<DryRun>,
) -> ApiResult<Json<AllocationOutcome>> {
    p.require(SCRIPTERS)?;
    let row = scripts::latest(&s.db, &name)
        .await?
        .ok_or(ApiError::NotFound("script"))?;
    let source = match input.ctx {
        Some(ctx) => ContextSource::Explicit(ctx),
        None => ContextSource::Database,
    };
    let ctx = build_context(&s.db, source, input.params).await?;
    let limits = input.limits.unwrap_or_default().resolve()?;
    let preview = scripting::preview_async(
        Arc::from(row.source),
        Arc::from(chunk_name(&name)),
        Arc::new(ctx),
        limits,
    )
    .await
    .map_err(ApiError::Script)?;
    Ok(Json(AllocationOutcome::from_preview(
        preview,
        Some(row.version),
        false,
    )))
}

/// The chunk name a script's errors carry: `name.lua:LINE: message`.
pub fn chunk_name(name: &str) -> String {
    format!("{name}.lua")
}
