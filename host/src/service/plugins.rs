//! WASM plugins (integrator and admin): upload, list, enable, disable, roll back, configure and
//! poll. Every change is stored, audited, announced to the other hosts in its transaction, and
//! survives a restart; the registry in memory is kept in step with what the database holds.

use std::collections::BTreeMap;

use sea_orm::DatabaseConnection;
use serde::Serialize;
use utoipa::ToSchema;
use uuid::Uuid;

use crate::domain::Role;
use crate::domain::actor::{Actor, INTEGRATORS};
use crate::domain::{FieldError, Validator};
use crate::ingest::Ingest;
use crate::plugins::{LoadError, Manifest, PluginStatus, Registry, RegistryError, Settings, World};
use crate::service::{Error, Page, Result};
use crate::store::changes::{self, Change};
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

/// What an upload carried: the manifest's text (TOML or JSON) and the component's bytes.
#[derive(Debug, Default)]
pub struct Upload {
    pub manifest: Option<String>,
    pub component: Option<Vec<u8>>,
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

/// Checks an uploaded component with its manifest (a component, a world and package version
/// this host runs, only granted imports), stores it and makes it the active version. `form`
/// reads the upload; it is read only once the actor may upload.
pub async fn upload(
    db: &DatabaseConnection,
    registry: &Registry,
    actor: &Actor,
    form: impl Future<Output = Result<Upload>>,
) -> Result<Plugin> {
    actor.require(INTEGRATORS)?;
    let upload = form.await?;
    let manifest_text = upload.manifest.ok_or_else(|| {
        FieldError::new("manifest", "required", "missing: a TOML or JSON manifest")
    })?;
    let component = upload.component.ok_or_else(|| {
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
    registry
        .check(manifest.clone(), &component)
        .await
        .map_err(load_error)?;

    let _changing = registry.change_lock().await;
    let active_before = registry.status(&manifest.name).map(|st| st.version);
    let txn = store::write_txn(db).await?;
    stored::save_version(
        &txn,
        &manifest,
        &component,
        &actor.name,
        stored::Origin::Upload,
    )
    .await?;
    let status = registry
        .load(manifest, &component)
        .await
        .map_err(load_error)?;
    let saved = async {
        audit::record(
            &txn,
            actor,
            "plugin.upload",
            "plugin",
            entity_id(&status.name),
            None::<&PluginStatus>,
            Some(&status),
        )
        .await?;
        changes::announce(&txn, &Change::Plugin(status.name.clone())).await?;
        txn.commit().await
    }
    .await;
    if let Err(e) = saved {
        // Keep memory in step with the database: the version that did not persist stops serving.
        let _ = match &active_before {
            Some(v) => registry.activate(&status.name, v).map(|_| ()),
            None => registry.remove(&status.name),
        };
        return Err(e.into());
    }
    Ok(Plugin(status))
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
pub async fn rollback(
    db: &DatabaseConnection,
    registry: &Registry,
    actor: &Actor,
    name: &str,
) -> Result<Plugin> {
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
    actor.require(INTEGRATORS)?;
    let _changing = registry.change_lock().await;
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
    let txn = store::write_txn(db).await?;
    stored::save_settings(&txn, name, &settings, secrets).await?;
    registry
        .set_settings(name, settings)
        .map_err(registry_error)?;
    let after = status(registry, name)?;
    audit::record(
        &txn,
        actor,
        "plugin.configure",
        "plugin",
        entity_id(name),
        Some(&before),
        Some(&after),
    )
    .await?;
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
        audit::record(
            &txn,
            actor,
            action,
            "plugin",
            entity_id(name),
            Some(&before),
            Some(&after),
        )
        .await?;
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
    }
}
