//! `/api/v1/scripts`: Lua allocation strategies, versioned, with dry runs.

use axum::Json;
use axum::extract::State;
use axum::http::StatusCode;
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiResult, Problem};
use super::extract::{JsonBody, Path};
use super::pagination::Page;
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::allocation::AllocationOutcome;
use crate::service::scripts::{self, DryRun, NewScript, Publish, Script};

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_scripts, create_script))
        .routes(routes!(get_script))
        .routes(routes!(list_script_versions))
        .routes(routes!(dry_run_script))
        .routes(routes!(publish_script))
}

/// The newest version of every script.
#[utoipa::path(get, path = "/scripts", tag = "scripts", responses((status = 200, body = Page<Script>)))]
async fn list_scripts(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Page<Script>>> {
    Ok(Json(scripts::list(&s.db, &actor).await?))
}

/// Saves a script as a draft: a new name starts at version 1 (published at once), an existing one
/// gets the next version, which allocations run only once published. The source must compile (a
/// syntax error is a 422 with its `line`).
#[utoipa::path(post, path = "/scripts", tag = "scripts", request_body = NewScript,
    responses((status = 201, body = Script), (status = 422, body = Problem)))]
async fn create_script(
    State(s): State<AppState>,
    actor: Actor,
    JsonBody(input): JsonBody<NewScript>,
) -> ApiResult<(StatusCode, Json<Script>)> {
    let script = scripts::save(&s.db, &actor, input).await?;
    Ok((StatusCode::CREATED, Json(script)))
}

/// The newest version of a script (its draft), with its source and the published version.
#[utoipa::path(get, path = "/scripts/{name}", tag = "scripts", params(("name" = String, Path)),
    responses((status = 200, body = Script), (status = 404, body = Problem)))]
async fn get_script(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Script>> {
    Ok(Json(scripts::get(&s.db, &actor, &name).await?))
}

/// Every version of a script, oldest first, with sources.
#[utoipa::path(get, path = "/scripts/{name}/versions", tag = "scripts", params(("name" = String, Path)),
    responses((status = 200, body = Page<Script>), (status = 404, body = Problem)))]
async fn list_script_versions(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Page<Script>>> {
    Ok(Json(scripts::versions(&s.db, &actor, &name).await?))
}

/// Runs a version (the newest, unless `version` names one) on the agency's data (or a given
/// `ctx`) and validates the result. Nothing is written. A script error is a 422 with its `code`
/// and `line`.
#[utoipa::path(post, path = "/scripts/{name}/dry-run", tag = "scripts", params(("name" = String, Path)), request_body = DryRun,
    responses((status = 200, body = AllocationOutcome), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn dry_run_script(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<DryRun>,
) -> ApiResult<Json<AllocationOutcome>> {
    Ok(Json(scripts::dry_run(&s.db, &actor, &name, input).await?))
}

/// Makes a version the one allocations run (audited as `script.publish`).
#[utoipa::path(post, path = "/scripts/{name}/publish", tag = "scripts", params(("name" = String, Path)), request_body = Publish,
    responses((status = 200, body = Script), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn publish_script(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
    JsonBody(input): JsonBody<Publish>,
) -> ApiResult<Json<Script>> {
    Ok(Json(scripts::publish(&s.db, &actor, &name, input).await?))
}
