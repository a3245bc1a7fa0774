//! `/api/v1/plugins`: upload, list, enable, disable, roll back and configure WASM plugins
//! (integrator and admin). Every change is stored, audited, and survives a restart.

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use serde::Serialize;
use utoipa::ToSchema;
use utoipa_axum::{router::OpenApiRouter, routes};
use uuid::Uuid;

use super::error::{ApiError, ApiResult};
use super::extract::{JsonBody, Path};
use super::pagination::Page;
use crate::app::AppState;
use crate::domain::Actor;
use crate::domain::{Role, Validator};
use crate::plugins::{LoadError, Manifest, PluginStatus, RegistryError, Settings};
use crate::store::{audit, plugins as store};

/// Who manages plugins.
pub const INTEGRATORS: &[Role] = &[Role::Admin, Role::Integrator];
/// The largest component accepted.
const MAX_COMPONENT_BYTES: usize = 64 * 1024 * 1024;

/// A plugin upload (`multipart/form-data`).
#[derive(ToSchema)]
#[allow(dead_code)]
pub struct PluginUpload {
    /// The manifest, as TOML or JSON: name, version, world, grants, allowed_hosts, limits.
    manifest: String,
    /// The WebAssembly component.
    #[schema(value_type = String, format = Binary)]
    component: Vec<u8>,
}

/// A plugin as the API shows it; secrets appear by name only.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct Plugin(PluginStatus);

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES))
        .routes(routes!(get_plugin))
        .routes(routes!(enable_plugin))
        .routes(routes!(disable_plugin))
        .routes(routes!(rollback_plugin))
        .routes(routes!(configure_plugin))
        .routes(routes!(poll_plugin))
}

/// Every plugin with its state and figures.
#[utoipa::path(get, path = "/plugins", tag = "plugins", responses((status = 200, body = Page<Plugin>)))]
async fn list_plugins(State(s): State<AppState>, p: Actor) -> ApiResult<Json<Page<Plugin>>> {
    p.require(INTEGRATORS)?;
    Ok(Json(Page {
        items: s.plugins.list().into_iter().map(Plugin).collect(),
        next_cursor: None,
    }))
}

/// Uploads a component with its manifest. It is checked (a component, a world and package
/// version this host runs, only granted imports) before it is stored; it becomes the active
/// version of its plugin.
#[utoipa::path(post, path = "/plugins", tag = "plugins", request_body(content = PluginUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = Plugin), (status = 422, body = super::error::Problem)))]
async fn upload_plugin(
    State(s): State<AppState>,
    p: Actor,
    mut form: Multipart,
) -> ApiResult<(StatusCode, Json<Plugin>)> {
    p.require(INTEGRATORS)?;
    let (mut manifest_text, mut component) = (None, None);
    while let Some(field) = form
        .next_field()
        .await
        .map_err(|e| ApiError::BadRequest(format!("malformed upload: {e}")))?
    {
        match field.name() {
            Some("manifest") => {
                manifest_text = Some(
                    field
                        .text()
                        .await
                        .map_err(|e| ApiError::BadRequest(format!("manifest: {e}")))?,
                )
            }
            Some("component") => {
                component = Some(
                    field
                        .bytes()
                        .await
                        .map_err(|e| ApiError::BadRequest(format!("component: {e}")))?,
                )
            }
            _ => {}
        }
    }
    let manifest_text = manifest_text
        .ok_or_else(|| ApiError::field("manifest", "missing: a TOML or JSON manifest"))?;
    let component = component
        .ok_or_else(|| ApiError::field("component", "missing: the WebAssembly component"))?;
    let manifest = if manifest_text.trim_start().starts_with('{') {
        Manifest::from_json(&manifest_text)
    } else {
        Manifest::from_toml(&manifest_text)
    }
    .map_err(|e| ApiError::field("manifest", e.to_string()))?;
    s.plugins
        .check(manifest.clone(), &component)
        .await
        .map_err(load_error)?;

    let active_before = s.plugins.status(&manifest.name).map(|st| st.version);
    let txn = crate::store::write_txn(&s.db).await?;
    store::save_version(&txn, &manifest, &component, &p.name, store::Origin::Upload).await?;
    let status = s
        .plugins
        .load(manifest, &component)
        .await
        .map_err(load_error)?;
    let stored = async {
        let after = Some(&status);
        audit::record(
            &txn,
            &p,
            "plugin.upload",
            "plugin",
            entity_id(&status.name),
            None::<&PluginStatus>,
            after,
        )
        .await?;
        txn.commit().await
    }
    .await;
    if let Err(e) = stored {
        // Keep memory in step with the database: the version that did not persist stops serving.
        let _ = match &active_before {
            Some(v) => s.plugins.activate(&status.name, v).map(|_| ()),
            None => s.plugins.remove(&status.name),
        };
        return Err(e.into());
    }
    Ok((StatusCode::CREATED, Json(Plugin(status))))
}

/// One plugin: active version, versions, state, quarantine, calls, errors, p50/p99 latency.
#[utoipa::path(get, path = "/plugins/{name}", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = super::error::Problem)))]
async fn get_plugin(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Plugin>> {
    p.require(INTEGRATORS)?;
    s.plugins
        .status(&name)
        .map(|st| Json(Plugin(st)))
        .ok_or(ApiError::NotFound("plugin"))
}

/// Enables a plugin, lifting a quarantine.
#[utoipa::path(post, path = "/plugins/{name}/enable", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = super::error::Problem)))]
async fn enable_plugin(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Plugin>> {
    lifecycle(&s, &p, &name, "plugin.enable", |r| r.enable(&name)).await
}

/// Disables a plugin: its calls are refused until it is enabled.
#[utoipa::path(post, path = "/plugins/{name}/disable", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = super::error::Problem)))]
async fn disable_plugin(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Plugin>> {
    lifecycle(&s, &p, &name, "plugin.disable", |r| r.disable(&name)).await
}

/// Runs one polling round of a platform plugin now (its signed open API, through the host's
/// HTTP capability): pages until it is caught up. The cursor is kept, so the scheduled poller
/// (config `poll_interval_secs`) continues from here.
#[utoipa::path(post, path = "/plugins/{name}/poll", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = crate::ingest::poller::RoundReport), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
async fn poll_plugin(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<crate::ingest::poller::RoundReport>> {
    p.require(INTEGRATORS)?;
    let status = s
        .plugins
        .status(&name)
        .ok_or(ApiError::NotFound("plugin"))?;
    if status.world != crate::plugins::World::Platform {
        return Err(ApiError::field("name", "only platform plugins poll"));
    }
    let platform = if status.info.platform.is_empty() {
        name.clone()
    } else {
        status.info.platform.clone()
    };
    Ok(Json(
        crate::ingest::poller::round(&s.db, &s.plugins, &s.ingest, &name, &platform).await,
    ))
}

/// Makes the version before the active one active again. Calls in flight finish on the old one.
#[utoipa::path(post, path = "/plugins/{name}/rollback", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = super::error::Problem), (status = 409, body = super::error::Problem)))]
async fn rollback_plugin(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Plugin>> {
    lifecycle(&s, &p, &name, "plugin.rollback", |r| r.rollback(&name)).await
}

/// Sets a plugin's config: a JSON object of string values. Keys that name a secret (containing
/// `secret`, `token`, `password` or `private`, e.g. `app_secret`) are kept as secrets: the API
/// shows their names, never their values.
#[utoipa::path(put, path = "/plugins/{name}/config", tag = "plugins", params(("name" = String, Path)),
    request_body(content = Object, description = "string values, e.g. {\"app_key\": \"...\", \"app_secret\": \"...\"}"),
    responses((status = 200, body = Plugin), (status = 404, body = super::error::Problem), (status = 422, body = super::error::Problem)))]
async fn configure_plugin(
    State(s): State<AppState>,
    p: Actor,
    Path(name): Path<String>,
    JsonBody(values): JsonBody<BTreeMap<String, String>>,
) -> ApiResult<Json<Plugin>> {
    p.require(INTEGRATORS)?;
    let before = s
        .plugins
        .status(&name)
        .ok_or(ApiError::NotFound("plugin"))?;
    let mut v = Validator::new();
    v.check(values.len() <= 64, "config", "at most 64 values");
    for (k, val) in &values {
        let ok = (1..=64).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        v.check(
            ok,
            k.clone(),
            "keys are 1 to 64 characters of a-z, 0-9, _ and -",
        );
        v.check(
            val.len() <= 8192,
            k.clone(),
            "values are at most 8192 bytes",
        );
    }
    v.finish()?;
    let (secrets, config): (BTreeMap<_, _>, BTreeMap<_, _>) =
        values.into_iter().partition(|(k, _)| is_secret_key(k));
    let settings = Settings { config, secrets };
    let txn = crate::store::write_txn(&s.db).await?;
    store::save_settings(&txn, &name, &settings).await?;
    s.plugins
        .set_settings(&name, settings)
        .map_err(registry_error)?;
    let after = s
        .plugins
        .status(&name)
        .ok_or(ApiError::NotFound("plugin"))?;
    audit::record(
        &txn,
        &p,
        "plugin.configure",
        "plugin",
        entity_id(&name),
        Some(&before),
        Some(&after),
    )
    .await?;
    txn.commit().await?;
    Ok(Json(Plugin(after)))
}

/// Whether a config key names a secret (kept apart, never shown back).
pub fn is_secret_key(key: &str) -> bool {
    ["secret", "token", "password", "private"]
        .iter()
        .any(|w| key.contains(w))
}

async fn lifecycle(
    s: &AppState,
    p: &Actor,
    name: &str,
    action: &str,
    change: impl FnOnce(&crate::plugins::Registry) -> Result<PluginStatus, RegistryError>,
) -> ApiResult<Json<Plugin>> {
    p.require(INTEGRATORS)?;
    let before = s.plugins.status(name).ok_or(ApiError::NotFound("plugin"))?;
    let after = change(&s.plugins).map_err(registry_error)?;
    let saved = async {
        let txn = crate::store::write_txn(&s.db).await?;
        store::save_state(&txn, name, &after.version, after.enabled).await?;
        audit::record(
            &txn,
            p,
            action,
            "plugin",
            entity_id(name),
            Some(&before),
            Some(&after),
        )
        .await?;
        txn.commit().await
    }
    .await;
    if let Err(e) = saved {
        // Undo in memory what could not be stored.
        let _ = s.plugins.activate(name, &before.version);
        let _ = if before.enabled {
            s.plugins.enable(name)
        } else {
            s.plugins.disable(name)
        };
        return Err(e.into());
    }
    Ok(Json(Plugin(after)))
}

/// Plugins are named, not numbered: their audit entity id is derived from the name.
fn entity_id(name: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("kolhost:plugin:{name}").as_bytes(),
    )
}

fn load_error(e: LoadError) -> ApiError {
    let field = match &e {
        LoadError::Manifest(_) | LoadError::Limits(_) | LoadError::VersionExists { .. } => {
            "manifest"
        }
        _ => "component",
    };
    ApiError::field(field, e.to_string())
}

fn registry_error(e: RegistryError) -> ApiError {
    match e {
        RegistryError::NotFound(_) => ApiError::NotFound("plugin"),
        other => ApiError::Conflict(other.to_string()),
    }
}
