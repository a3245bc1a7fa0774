//! `/api/v1/plugins`: upload, list, enable, disable, roll back, configure and poll WASM plugins
//! (integrator and admin; `service::plugins`).

use std::collections::BTreeMap;

use axum::Json;
use axum::extract::multipart::MultipartError;
use axum::extract::{DefaultBodyLimit, Multipart, State};
use axum::http::StatusCode;
use tokio::io::AsyncWriteExt;
use utoipa::ToSchema;
use utoipa::openapi::RefOr;
use utoipa::openapi::schema::{ObjectBuilder, Schema, SchemaType, Type};
use utoipa_axum::{router::OpenApiRouter, routes};

use super::error::{ApiError, ApiResult, Problem};
use super::extract::{JsonBody, Path};
use super::pagination::Page;
use crate::app::AppState;
use crate::domain::Actor;
use crate::service::plugins::{self, MAX_COMPONENT_BYTES, Plugin, RoundReport, Upload};

/// A plugin upload (`multipart/form-data`): these two parts (the schema says no others;
/// `deny_unknown_fields` is what makes utoipa say so).
#[derive(ToSchema, serde::Deserialize)]
#[serde(deny_unknown_fields)]
#[allow(dead_code)]
pub struct PluginUpload {
    /// The manifest, as TOML or JSON: name, version, world, grants, allowed_hosts, limits.
    manifest: String,
    /// The WebAssembly component.
    #[schema(value_type = String, format = Binary)]
    component: Vec<u8>,
}

/// The body of `PUT /plugins/{name}/config`: a JSON object of string values, its keys and sizes
/// as `service::plugins::configure` checks them.
pub struct ConfigValues;

impl utoipa::PartialSchema for ConfigValues {
    fn schema() -> RefOr<Schema> {
        config_object(Type::String.into())
    }
}

impl ToSchema for ConfigValues {}

/// The body of `PATCH /plugins/{name}/config`: keys as in [`ConfigValues`], each a string to set
/// or `null` to remove.
pub struct ConfigChanges;

impl utoipa::PartialSchema for ConfigChanges {
    fn schema() -> RefOr<Schema> {
        config_object(SchemaType::from_iter([Type::String, Type::Null]))
    }
}

impl ToSchema for ConfigChanges {}

/// A config object: keys and value sizes as the service checks them, values of `values` type.
fn config_object(values: SchemaType) -> RefOr<Schema> {
    ObjectBuilder::new()
        .schema_type(Type::Object)
        .max_properties(Some(plugins::MAX_CONFIG_VALUES))
        .property_names(Some(
            ObjectBuilder::new()
                .schema_type(Type::String)
                .pattern(Some(plugins::CONFIG_KEY_PATTERN)),
        ))
        .additional_properties(Some(
            ObjectBuilder::new()
                .schema_type(values)
                .max_length(Some(plugins::MAX_CONFIG_VALUE_CHARS)),
        ))
        .into()
}

pub fn router() -> OpenApiRouter<AppState> {
    OpenApiRouter::new()
        .routes(routes!(list_plugins, upload_plugin))
        .layer(DefaultBodyLimit::max(MAX_COMPONENT_BYTES))
        .routes(routes!(get_plugin))
        .routes(routes!(enable_plugin))
        .routes(routes!(disable_plugin))
        .routes(routes!(rollback_plugin))
        .routes(routes!(delete_plugin_version))
        .routes(routes!(configure_plugin, patch_plugin_config))
        .routes(routes!(poll_plugin))
}

/// Every plugin with its state and figures.
#[utoipa::path(get, path = "/plugins", tag = "plugins", responses((status = 200, body = Page<Plugin>)))]
async fn list_plugins(State(s): State<AppState>, actor: Actor) -> ApiResult<Json<Page<Plugin>>> {
    Ok(Json(plugins::list(&s.plugins, &actor)?))
}

/// Uploads a component with its manifest. It is checked (a component, a world and package
/// version this host runs, no import beyond what plugins are offered; what the manifest does not
/// grant is linked to refusing stubs and listed in `warnings`) before it is compiled, compiled
/// (one upload at a time: 503 with `Retry-After` while another compiles), stored, and becomes the
/// active version of its plugin. A component over 64 MiB is a 413. Once the upload has arrived, a
/// client that disconnects does not stop it: the version is stored and active, or nothing is.
#[utoipa::path(post, path = "/plugins", tag = "plugins", request_body(content = PluginUpload, content_type = "multipart/form-data"),
    responses((status = 201, body = Plugin), (status = 413, body = Problem), (status = 422, body = Problem),
        (status = 503, body = Problem, description = "another component is being compiled; retry after `Retry-After` seconds")))]
async fn upload_plugin(
    State(s): State<AppState>,
    actor: Actor,
    form: Multipart,
) -> ApiResult<(StatusCode, Json<Plugin>)> {
    let plugin = plugins::upload(&s.db, &s.plugins, &actor, read_upload(form)).await?;
    Ok((StatusCode::CREATED, Json(plugin)))
}

/// The form's `manifest` and `component` fields; others are ignored. The component streams to
/// an unnamed temporary file (gone when dropped, even if the process dies), so a slow upload
/// holds no memory for its bytes; past [`MAX_COMPONENT_BYTES`] it is a 413.
async fn read_upload(mut form: Multipart) -> ApiResult<Upload> {
    let unreadable = |what: &str, e: MultipartError| {
        if e.status() == StatusCode::PAYLOAD_TOO_LARGE {
            ApiError::PayloadTooLarge
        } else {
            ApiError::BadRequest(format!("{what}: {e}"))
        }
    };
    let mut upload = Upload::default();
    while let Some(mut field) = form
        .next_field()
        .await
        .map_err(|e| unreadable("malformed upload", e))?
    {
        match field.name() {
            Some("manifest") => {
                upload.manifest = Some(field.text().await.map_err(|e| unreadable("manifest", e))?)
            }
            Some("component") => {
                let internal = |e: std::io::Error| ApiError::Internal(e.into());
                let mut file = tokio::fs::File::from_std(tempfile::tempfile().map_err(internal)?);
                let mut size = 0;
                while let Some(chunk) = field
                    .chunk()
                    .await
                    .map_err(|e| unreadable("component", e))?
                {
                    size += chunk.len();
                    if size > MAX_COMPONENT_BYTES {
                        return Err(ApiError::PayloadTooLarge);
                    }
                    file.write_all(&chunk).await.map_err(internal)?;
                }
                file.flush().await.map_err(internal)?;
                upload.component = Some(file.into_std().await);
            }
            _ => {}
        }
    }
    Ok(upload)
}

/// Deletes an inactive version of a plugin (its stored component and manifest; audited, and
/// gone on every host). The active version cannot be deleted: 409.
#[utoipa::path(delete, path = "/plugins/{name}/versions/{version}", tag = "plugins",
    params(("name" = String, Path), ("version" = String, Path, description = "the manifest's version, e.g. `1.2.0`")),
    responses((status = 200, body = Plugin, description = "the plugin without the version"), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn delete_plugin_version(
    State(s): State<AppState>,
    actor: Actor,
    Path((name, version)): Path<(String, String)>,
) -> ApiResult<Json<Plugin>> {
    Ok(Json(
        plugins::delete_version(&s.db, &s.plugins, &actor, &name, &version).await?,
    ))
}

/// One plugin: active version, versions, state, quarantine, calls, errors, p50/p99 latency.
#[utoipa::path(get, path = "/plugins/{name}", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = Problem)))]
async fn get_plugin(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Plugin>> {
    Ok(Json(plugins::get(&s.plugins, &actor, &name)?))
}

/// Enables a plugin, lifting a quarantine.
#[utoipa::path(post, path = "/plugins/{name}/enable", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = Problem)))]
async fn enable_plugin(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Plugin>> {
    Ok(Json(
        plugins::enable(&s.db, &s.plugins, &actor, &name).await?,
    ))
}

/// Disables a plugin: its calls are refused until it is enabled.
#[utoipa::path(post, path = "/plugins/{name}/disable", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = Problem)))]
async fn disable_plugin(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Plugin>> {
    Ok(Json(
        plugins::disable(&s.db, &s.plugins, &actor, &name).await?,
    ))
}

/// Runs one polling round of a platform plugin now (its signed open API, through the host's
/// HTTP capability): pages until it is caught up. The cursor is kept, so the scheduled poller
/// (config `poll_interval_secs`) continues from here. With several hosts, the round runs under
/// the plugin's poller lease: 409 when another host keeps it past one lease length.
#[utoipa::path(post, path = "/plugins/{name}/poll", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = RoundReport), (status = 404, body = Problem), (status = 409, body = Problem), (status = 422, body = Problem)))]
async fn poll_plugin(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<RoundReport>> {
    Ok(Json(
        plugins::poll(&s.db, &s.plugins, &s.ingest, &s.leases, &actor, &name).await?,
    ))
}

/// Makes the version before the active one active again. Calls in flight finish on the old one.
#[utoipa::path(post, path = "/plugins/{name}/rollback", tag = "plugins", params(("name" = String, Path)),
    responses((status = 200, body = Plugin), (status = 404, body = Problem), (status = 409, body = Problem)))]
async fn rollback_plugin(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
) -> ApiResult<Json<Plugin>> {
    Ok(Json(
        plugins::rollback(&s.db, &s.plugins, &actor, &name).await?,
    ))
}

/// Sets a plugin's config: a JSON object of string values. Keys that name a secret (containing
/// `secret`, `token`, `password` or `private`, e.g. `app_secret`) are kept as secrets, sealed
/// at rest: the API shows their names, never their values.
#[utoipa::path(put, path = "/plugins/{name}/config", tag = "plugins", params(("name" = String, Path)),
    request_body(content = ConfigValues, description = "string values, e.g. {\"app_key\": \"...\", \"app_secret\": \"...\"}"),
    responses((status = 200, body = Plugin), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn configure_plugin(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
    JsonBody(values): JsonBody<BTreeMap<String, String>>,
) -> ApiResult<Json<Plugin>> {
    Ok(Json(
        plugins::configure(&s.db, &s.plugins, &s.secrets, &actor, &name, values).await?,
    ))
}

/// Changes some config keys: a string sets a key, `null` removes it, keys not named (secrets
/// included) keep their values. The dashboard's form sends only what was changed.
#[utoipa::path(patch, path = "/plugins/{name}/config", tag = "plugins", params(("name" = String, Path)),
    request_body(content = ConfigChanges, description = "string values or null, e.g. {\"app_key\": \"...\", \"old_key\": null}"),
    responses((status = 200, body = Plugin), (status = 404, body = Problem), (status = 422, body = Problem)))]
async fn patch_plugin_config(
    State(s): State<AppState>,
    actor: Actor,
    Path(name): Path<String>,
    JsonBody(changes): JsonBody<BTreeMap<String, Option<String>>>,
) -> ApiResult<Json<Plugin>> {
    Ok(Json(
        plugins::patch_config(&s.db, &s.plugins, &s.secrets, &actor, &name, changes).await?,
    ))
}
