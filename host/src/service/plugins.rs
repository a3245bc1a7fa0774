//! WASM plugins (integrator and admin): upload, list, enable, disable, roll back, configure and
//! poll. Every change is stored, audited, announced to the other hosts in its transaction, and
//! survives a restart; the registry in memory is kept in step with what the database holds.

use std::collections::BTreeMap;
use std::sync::Arc;

use sea_orm::{DatabaseConnection, EntityTrait, QuerySelect};
use serde::Serialize;
use sha2::{Digest, Sha256};
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Role;
use crate::domain::actor::{Actor, INTEGRATORS};
use crate::domain::{FieldError, Validator};
use crate::ingest::Ingest;
use crate::plugins::{
    Capability, LoadError, Manifest, PluginStatus, Registry, RegistryError, Settings, Wait, World,
};
use crate::service::{Error, Page, Result};
use crate::store::changes::{self, Change};
use crate::store::entities::plugin;
use crate::store::leases::Leases;
use crate::store::secrets::SecretBox;
use crate::store::{self, audit, plugins as stored};

pub use crate::ingest::poller::RoundReport;

/// The largest component accepted.
pub const MAX_COMPONENT_BYTES: usize = 64 * 1024 * 1024;
/// At most this many config values per plugin.
pub const MAX_CONFIG_VALUES: usize = 64;
/// A config key: 1 to 64 characters of a-z, 0-9, `_` and `-`.
pub const CONFIG_KEY_PATTERN: &str = "^[a-z0-9_-]{1,64}$";
/// A config value is at most this many characters.
pub const MAX_CONFIG_VALUE_CHARS: usize = 8192;

/// A plugin as the API shows it; secrets appear by name only.
#[derive(Serialize, ToSchema)]
#[schema(value_type = Object)]
pub struct Plugin(PluginStatus);

/// What an upload carried: the manifest's text (TOML or JSON) and a file holding the
/// component's bytes (the API streams them there, within [`MAX_COMPONENT_BYTES`]).
#[derive(Debug, Default)]
pub struct Upload {
    pub manifest: Option<String>,
    pub component: Option<std::fs::File>,
}

/// What the audit trail records of an uploaded version.
#[derive(Serialize)]
struct UploadedVersion<'a> {
    name: &'a str,
    version: &'a str,
    world: World,
    sha256: &'a str,
    grants: &'a [Capability],
    allowed_hosts: &'a [String],
    info: &'a crate::plugins::PluginInfo,
}

/// Every plugin with its state and figures.
pub fn list(registry: &Registry, actor: &Actor) -> Result<Page<Plugin>> {
    actor.require(INTEGRATORS)?;
    Ok(Page {
        items: registry.list().into_iter().map(Plugin).collect(),
        next_cursor: None,
    })
}

/// One plugin: active version, versions, state, quarantine, calls, errors, latency.
pub fn get(registry: &Registry, actor: &Actor, name: &str) -> Result<Plugin> {
    actor.require(INTEGRATORS)?;
    status(registry, name).map(Plugin)
}

/// Checks an uploaded component with its manifest, compiles it, stores it and makes it the
/// active version. `form` reads the upload; it is read only once the actor may upload.
///
/// In this order, so that a refusal is cheap and nothing holds the database while Cranelift
/// works: the manifest and the component's import and export names are checked (world,
/// `kolhost:plugin` version, imports against grants: milliseconds, before any compile); the component is
/// compiled on the compile pool, outside any transaction (503 when another compile runs); then
/// one short transaction stores bytes, manifest, audit entry and activation, and only after its
/// commit does the version serve. Once the upload is read, the rest runs as its own task: a
/// client that disconnects leaves either nothing (before the upload was read) or the whole
/// version (stored, audited, active), never a part.
pub async fn upload(
    db: &DatabaseConnection,
    registry: &Arc<Registry>,
    actor: &Actor,
    form: impl Future<Output = Result<Upload>>,
) -> Result<Plugin> {
    actor.require(INTEGRATORS)?;
    let upload = form.await?;
    let manifest_text = upload.manifest.ok_or_else(|| {
        FieldError::new("manifest", "required", "missing: a TOML or JSON manifest")
    })?;
    let file = upload.component.ok_or_else(|| {
        FieldError::new(
            "component",
            "required",
            "missing: the WebAssembly component",
        )
    })?;
    let manifest = if manifest_text.trim_start().starts_with('{') {
        Manifest::from_json(&manifest_text)
    } else {
        Manifest::from_toml(&manifest_text)
    }
    .map_err(|e| {
        FieldError::new("manifest", "bad_manifest", e.to_string())
            .with_param("reason", e.to_string())
    })?;
    if manifest.allow_private_hosts && actor.require(&[Role::Admin]).is_err() {
        return Err(Error::Forbidden(
            "only an admin may allow a plugin private hosts (`allow_private_hosts`)".into(),
        ));
    }
    let (db, registry, actor) = (db.clone(), registry.clone(), actor.clone());
    tokio::spawn(async move {
        let component = read_file(file).await?;
        install_upload(&db, &registry, &actor, manifest, component).await
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
}

async fn read_file(mut file: std::fs::File) -> Result<Vec<u8>> {
    tokio::task::spawn_blocking(move || {
        use std::io::{Read, Seek};
        let mut bytes = Vec::new();
        file.rewind()?;
        file.read_to_end(&mut bytes)?;
        Ok::<_, std::io::Error>(bytes)
    })
    .await
    .map_err(|e| Error::Internal(e.into()))?
    .map_err(|e| Error::Internal(e.into()))
}

/// The part of [`upload`] that runs to its end once started.
async fn install_upload(
    db: &DatabaseConnection,
    registry: &Registry,
    actor: &Actor,
    manifest: Manifest,
    component: Vec<u8>,
) -> Result<Plugin> {
    registry
        .check_upload(&manifest, &component)
        .map_err(load_error)?;
    let sha256 = hex::encode(Sha256::digest(&component));
    let component = Arc::new(component);
    let prepared = registry
        .prepare(manifest.clone(), component.clone(), &sha256, Wait::Refuse)
        .await
        .map_err(load_error)?;

    let _changing = registry.change_lock().await;
    // Another upload of the same version may have committed while this one compiled.
    registry
        .check_new_version_of(&manifest)
        .map_err(load_error)?;
    let txn = store::write_txn(db).await?;
    stored::save_version(
        &txn,
        &manifest,
        &component,
        &actor.name,
        stored::Origin::Upload,
    )
    .await?;
    let recorded = UploadedVersion {
        name: &manifest.name,
        version: &manifest.version,
        world: manifest.world,
        sha256: &sha256,
        grants: &manifest.grants,
        allowed_hosts: &manifest.allowed_hosts,
        info: prepared.info(),
    };
    let entity = ("plugin", entity_id(&manifest.name));
    audit::wrote(&txn, actor, "plugin.upload", entity, &recorded).await?;
    changes::announce(&txn, &Change::Plugin(manifest.name.clone())).await?;
    txn.commit().await?;
    // Stored: now it serves.
    let status = registry.install(prepared, true).map_err(load_error)?;
    Ok(Plugin(status))
}

/// Deletes an inactive version of a plugin: its stored component and manifest, and its place
/// in memory (on every host). The active version cannot be deleted (409).
pub async fn delete_version(
    db: &DatabaseConnection,
    registry: &Registry,
    actor: &Actor,
    name: &str,
    version: &str,
) -> Result<Plugin> {
    actor.require(INTEGRATORS)?;
    let _changing = registry.change_lock().await;
    let before = status(registry, name)?;
    if !before.versions.iter().any(|v| v == version) {
        return Err(Error::NotFound("plugin version"));
    }
    if before.version == version {
        return Err(Error::conflict(
            "active_version",
            format!(
                "version {version} is the active version of plugin {name}; make another version active first"
            ),
        )
        .with_param("version", version));
    }
    let txn = store::write_txn(db).await?;
    if !stored::delete_version(&txn, name, version).await? {
        return Err(Error::NotFound("plugin version"));
    }
    #[derive(Serialize)]
    struct Deleted<'a> {
        name: &'a str,
        version: &'a str,
    }
    audit::record(
        &txn,
        actor,
        "plugin.version.delete",
        "plugin",
        entity_id(name),
        Some(&Deleted { name, version }),
        None::<&Deleted>,
    )
    .await?;
    changes::announce(&txn, &Change::Plugin(name.to_owned())).await?;
    txn.commit().await?;
    let _ = registry.remove_version(name, version);
    status(registry, name).map(Plugin)
}

/// Enables a plugin, lifting a quarantine (integrators and admins both may), stored.
pub async fn enable(
    db: &DatabaseConnection,
    registry: &Registry,
    actor: &Actor,
    name: &str,
) -> Result<Plugin> {
    lifecycle(db, registry, actor, name, "plugin.enable", |r| {
        r.enable(name)
    })
    .await
}

/// Disables a plugin: its calls are refused until it is enabled.
pub async fn disable(
    db: &DatabaseConnection,
    registry: &Registry,
    actor: &Actor,
    name: &str,
) -> Result<Plugin> {
    lifecycle(db, registry, actor, name, "plugin.disable", |r| {
        r.disable(name)
    })
    .await
}

/// Makes the version before the active one active again. Calls in flight finish on the old one.
/// A version not in memory is loaded first (from the disk cache, else compiled).
pub async fn rollback(
    db: &DatabaseConnection,
    registry: &Registry,
    actor: &Actor,
    name: &str,
) -> Result<Plugin> {
    actor.require(INTEGRATORS)?;
    let target = registry.rollback_target(name).map_err(registry_error)?;
    if registry.is_loaded(name, &target) == Some(false) {
        stored::load_version(db, registry, name, &target)
            .await
            .map_err(|e| {
                Error::conflict(
                    "version_does_not_load",
                    format!("version {target} does not load: {e}"),
                )
                .with_param("version", target.as_str())
            })?;
    }
    lifecycle(db, registry, actor, name, "plugin.rollback", |r| {
        r.rollback(name)
    })
    .await
}

/// Runs one polling round of a platform plugin now, paging until it is caught up. The cursor is
/// kept, so the scheduled poller continues from here. The round runs under the plugin's poller
/// lease: when another host holds it, this waits up to one lease length for it, then answers a
/// conflict naming the holder.
pub async fn poll(
    db: &DatabaseConnection,
    registry: &Registry,
    ingest: &Ingest,
    leases: &Leases,
    actor: &Actor,
    name: &str,
) -> Result<RoundReport> {
    actor.require(INTEGRATORS)?;
    let status = status(registry, name)?;
    if status.world != World::Platform {
        return Err(FieldError::new("name", "not_platform", "only platform plugins poll").into());
    }
    let platform = if status.info.platform.is_empty() {
        name
    } else {
        &status.info.platform
    };
    let lease_name = crate::ingest::poller::lease_name(name);
    let holding = leases.hold_waiting(&lease_name).await?;
    let Some(lease) = holding.as_ref().and_then(|h| h.current()) else {
        let holder = leases.holder_of(&lease_name).await?.unwrap_or_default();
        return Err(Error::conflict(
            "poller_elsewhere",
            format!("the {name} poller runs on another host ({holder}); it polls there"),
        )
        .with_param("holder", holder));
    };
    let report =
        crate::ingest::poller::round_leased(db, registry, ingest, name, platform, Some(&lease))
            .await;
    drop(holding);
    Ok(report)
}

/// Sets a plugin's config from string values. Keys that name a secret (see [`is_secret_key`])
/// are kept as secrets: sealed at rest with `secrets`, shown by name, never by value.
pub async fn configure(
    db: &DatabaseConnection,
    registry: &Registry,
    secrets: &SecretBox,
    actor: &Actor,
    name: &str,
    values: BTreeMap<String, String>,
) -> Result<Plugin> {
    change_config(db, registry, secrets, actor, name, |_| values).await
}

/// Changes some of a plugin's config: a string sets its key, `null` removes it, and a key not
/// named keeps its value, secrets included, so a form that never shows a secret cannot wipe it.
pub async fn patch_config(
    db: &DatabaseConnection,
    registry: &Registry,
    secrets: &SecretBox,
    actor: &Actor,
    name: &str,
    changes: BTreeMap<String, Option<String>>,
) -> Result<Plugin> {
    change_config(db, registry, secrets, actor, name, |current| {
        let mut values: BTreeMap<String, String> =
            current.config.into_iter().chain(current.secrets).collect();
        for (k, v) in changes {
            match v {
                Some(v) => values.insert(k, v),
                None => values.remove(&k),
            };
        }
        values
    })
    .await
}

/// Checks and stores a plugin's whole config, `values` made from the stored one. The stored
/// settings are read in the write's transaction with the plugin's row locked, so a change
/// another host made a moment ago is what a patch starts from, never this host's older copy.
async fn change_config(
    db: &DatabaseConnection,
    registry: &Registry,
    secrets: &SecretBox,
    actor: &Actor,
    name: &str,
    values: impl FnOnce(Settings) -> BTreeMap<String, String>,
) -> Result<Plugin> {
    actor.require(INTEGRATORS)?;
    let _changing = registry.change_lock().await;
    let txn = store::write_txn(db).await?;
    let row = plugin::Entity::find_by_id(name)
        .lock_exclusive()
        .one(&txn)
        .await?
        .ok_or(Error::NotFound("plugin"))?;
    let values = values(stored::open_settings(&row, secrets)?);
    let before = status(registry, name)?;
    let mut v = Validator::new();
    v.max_items(values.len(), "config", MAX_CONFIG_VALUES);
    for (k, val) in &values {
        let ok = (1..=64).contains(&k.len())
            && k.bytes()
                .all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'_' || b == b'-');
        v.check(
            ok,
            k.clone(),
            "bad_key",
            "keys are 1 to 64 characters of a-z, 0-9, _ and -",
        );
        v.max_chars(val, k.clone(), MAX_CONFIG_VALUE_CHARS);
    }
    v.finish()?;
    let (secret_values, config): (BTreeMap<_, _>, BTreeMap<_, _>) =
        values.into_iter().partition(|(k, _)| is_secret_key(k));
    let settings = Settings {
        config,
        secrets: secret_values,
    };
    stored::save_settings(&txn, name, &settings, secrets).await?;
    registry
        .set_settings(name, settings)
        .map_err(registry_error)?;
    let after = status(registry, name)?;
    let entity = ("plugin", entity_id(name));
    audit::changed(&txn, actor, "plugin.configure", entity, &before, &after).await?;
    changes::announce(&txn, &Change::Plugin(name.to_owned())).await?;
    txn.commit().await?;
    Ok(Plugin(after))
}

/// Whether a config key names a secret (kept apart, never shown back).
pub fn is_secret_key(key: &str) -> bool {
    ["secret", "token", "password", "private"]
        .iter()
        .any(|w| key.contains(w))
}

fn status(registry: &Registry, name: &str) -> Result<PluginStatus> {
    registry.status(name).ok_or(Error::NotFound("plugin"))
}

/// A change of version or state, stored and audited; undone in memory if it cannot be stored.
async fn lifecycle(
    db: &DatabaseConnection,
    registry: &Registry,
    actor: &Actor,
    name: &str,
    action: &str,
    change: impl FnOnce(&Registry) -> Result<PluginStatus, RegistryError>,
) -> Result<Plugin> {
    actor.require(INTEGRATORS)?;
    let _changing = registry.change_lock().await;
    let before = status(registry, name)?;
    let after = change(registry).map_err(registry_error)?;
    let saved = async {
        let txn = store::write_txn(db).await?;
        stored::save_state(&txn, name, &after.version, after.enabled).await?;
        stored::save_quarantine(&txn, name, after.quarantine.as_ref()).await?;
        let entity = ("plugin", entity_id(name));
        audit::changed(&txn, actor, action, entity, &before, &after).await?;
        changes::announce(&txn, &Change::Plugin(name.to_owned())).await?;
        txn.commit().await
    }
    .await;
    if let Err(e) = saved {
        // Undo in memory what could not be stored.
        let _ = registry.activate(name, &before.version);
        let _ = if before.enabled {
            registry.enable(name)
        } else {
            registry.disable(name)
        };
        let _ = registry.set_quarantine(name, before.quarantine.clone());
        return Err(e.into());
    }
    Ok(Plugin(after))
}

/// Plugins are named, not numbered: their audit entity id is derived from the name.
fn entity_id(name: &str) -> Uuid {
    Uuid::new_v5(
        &Uuid::NAMESPACE_URL,
        format!("kolhost:plugin:{name}").as_bytes(),
    )
}

fn load_error(e: LoadError) -> Error {
    let (field, code) = match &e {
        LoadError::Manifest(_) | LoadError::Limits(_) => ("manifest", "bad_manifest"),
        LoadError::VersionExists { .. } => ("manifest", "version_exists"),
        LoadError::Busy => return Error::Unavailable(e.to_string()),
        _ => ("component", "bad_component"),
    };
    FieldError::new(field, code, e.to_string())
        .with_param("reason", e.to_string())
        .into()
}

fn registry_error(e: RegistryError) -> Error {
    match e {
        RegistryError::NotFound(_) => Error::NotFound("plugin"),
        e @ RegistryError::NoPreviousVersion(_) => {
            Error::conflict("no_previous_version", e.to_string())
        }
        e @ RegistryError::UnknownVersion { .. } => {
            Error::conflict("unknown_version", e.to_string())
        }
        e @ RegistryError::NotLoaded { .. } => Error::conflict("version_not_loaded", e.to_string()),
        e @ RegistryError::ActiveVersion { .. } => Error::conflict("active_version", e.to_string()),
    }
}
