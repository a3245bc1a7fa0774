//! Plugins in the database: every uploaded version (component bytes and manifest), each plugin's
//! state (active version, enabled, config, and secrets sealed with the server key), and the
//! plugins' key-value state.

use std::collections::BTreeMap;

use chrono::Utc;
use sea_orm::sea_query::OnConflict;
use sea_orm::{
    ActiveModelTrait, ColumnTrait, ConnectionTrait, DatabaseBackend, DatabaseConnection, DbErr,
    EntityTrait, QueryFilter, QueryOrder, QuerySelect, Set, Statement,
};
use sha2::{Digest, Sha256};
use uuid::Uuid;

use super::changes::{Change, announce};
use super::entities::{plugin, plugin_kv, plugin_version};
use super::secrets::{SecretBox, SecretError};
use crate::plugins::artifacts::Bundled;
use crate::plugins::{
    KvError, KvStore, KvUsage, Manifest, Quarantine, QuarantineStore, Registry, Settings,
    StoredVersion, Wait,
};
use std::sync::Arc;

/// Plugin key-value state kept in the database, scoped by plugin name.
pub struct DbKv {
    pub db: DatabaseConnection,
}

#[async_trait::async_trait]
impl KvStore for DbKv {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        let row = plugin_kv::Entity::find_by_id((plugin.to_owned(), key.to_owned()))
            .one(&self.db)
            .await
            .map_err(|e| KvError(format!("kv read failed: {e}")))?;
        Ok(row.map(|r| r.value))
    }

    async fn set(&self, plugin: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        plugin_kv::Entity::insert(plugin_kv::ActiveModel {
            plugin: Set(plugin.to_owned()),
            key: Set(key.to_owned()),
            value: Set(value),
            updated_at: Set(Utc::now()),
        })
        .on_conflict(
            OnConflict::columns([plugin_kv::Column::Plugin, plugin_kv::Column::Key])
                .update_columns([plugin_kv::Column::Value, plugin_kv::Column::UpdatedAt])
                .to_owned(),
        )
        .exec(&self.db)
        .await
        .map_err(|e| KvError(format!("kv write failed: {e}")))?;
        Ok(())
    }

    async fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError> {
        plugin_kv::Entity::delete_by_id((plugin.to_owned(), key.to_owned()))
            .exec(&self.db)
            .await
            .map_err(|e| KvError(format!("kv delete failed: {e}")))?;
        Ok(())
    }

    async fn usage(&self, plugin: &str) -> Result<KvUsage, KvError> {
        let backend = self.db.get_database_backend();
        let sql = match backend {
            DatabaseBackend::Postgres => {
                "SELECT COUNT(*)::BIGINT AS n, COALESCE(SUM(OCTET_LENGTH(key) + OCTET_LENGTH(value)), 0)::BIGINT AS b FROM plugin_kv WHERE plugin = $1"
            }
            _ => {
                "SELECT COUNT(*) AS n, COALESCE(SUM(LENGTH(CAST(key AS BLOB)) + LENGTH(value)), 0) AS b FROM plugin_kv WHERE plugin = ?"
            }
        };
        let fail = |e: DbErr| KvError(format!("kv usage read failed: {e}"));
        let row = self
            .db
            .query_one_raw(Statement::from_sql_and_values(
                backend,
                sql,
                [plugin.into()],
            ))
            .await
            .map_err(fail)?
            .ok_or_else(|| KvError("kv usage read returned nothing".into()))?;
        let n: i64 = row.try_get("", "n").map_err(fail)?;
        let b: i64 = row.try_get("", "b").map_err(fail)?;
        Ok(KvUsage {
            keys: n.max(0) as u64,
            bytes: b.max(0) as u64,
        })
    }

    async fn apply(
        &self,
        plugin: &str,
        writes: Vec<(String, Option<Vec<u8>>)>,
    ) -> Result<(), KvError> {
        let fail = |e: DbErr| KvError(format!("kv write failed: {e}"));
        let txn = crate::store::write_txn(&self.db).await.map_err(fail)?;
        for (key, value) in writes {
            match value {
                Some(value) => {
                    plugin_kv::Entity::insert(plugin_kv::ActiveModel {
                        plugin: Set(plugin.to_owned()),
                        key: Set(key),
                        value: Set(value),
                        updated_at: Set(Utc::now()),
                    })
                    .on_conflict(
                        OnConflict::columns([plugin_kv::Column::Plugin, plugin_kv::Column::Key])
                            .update_columns([
                                plugin_kv::Column::Value,
                                plugin_kv::Column::UpdatedAt,
                            ])
                            .to_owned(),
                    )
                    .exec(&txn)
                    .await
                    .map_err(fail)?;
                }
                None => {
                    plugin_kv::Entity::delete_by_id((plugin.to_owned(), key))
                        .exec(&txn)
                        .await
                        .map_err(fail)?;
                }
            }
        }
        txn.commit().await.map_err(fail)
    }
}

/// Plugin quarantines kept in the `plugins` table, so a restart keeps them.
pub struct DbQuarantine {
    pub db: DatabaseConnection,
}

#[async_trait::async_trait]
impl QuarantineStore for DbQuarantine {
    async fn save(&self, plugin: &str, q: Option<&Quarantine>) -> Result<(), String> {
        let saved = async {
            let txn = crate::store::write_txn(&self.db).await?;
            save_quarantine(&txn, plugin, q).await?;
            announce(&txn, &Change::Plugin(plugin.to_owned())).await?;
            txn.commit().await
        };
        saved
            .await
            .map_err(|e| format!("quarantine write failed: {e}"))
    }
}

/// Stores a plugin's quarantine, or its absence.
pub async fn save_quarantine<C: ConnectionTrait>(
    db: &C,
    name: &str,
    q: Option<&Quarantine>,
) -> Result<(), DbErr> {
    let row = plugin::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(name.to_owned()))?;
    let mut am: plugin::ActiveModel = row.into();
    am.quarantine_reason = Set(q.map(|q| q.reason.clone()));
    am.quarantined_at = Set(q.map(|q| q.since));
    am.quarantine_retry_at = Set(q.map(|q| q.retry_at));
    am.quarantine_trips = Set(q.map_or(0, |q| q.trips as i32));
    am.update(db).await?;
    Ok(())
}

/// Where a stored version comes from, and whether it becomes the active one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Origin {
    /// Uploaded over the API: becomes active.
    Upload,
    /// Shipped in the binary; becomes active unless `activate` is false (an integrator's
    /// upload is active and stays so).
    Bundled { activate: bool },
}

/// Stores a checked component as the next version of its plugin; a new plugin starts enabled.
pub async fn save_version<C: ConnectionTrait>(
    db: &C,
    manifest: &Manifest,
    component: &[u8],
    by: &str,
    origin: Origin,
) -> Result<(), DbErr> {
    let next = plugin_version::Entity::find()
        .filter(plugin_version::Column::Name.eq(manifest.name.as_str()))
        .order_by_desc(plugin_version::Column::Version)
        .one(db)
        .await?
        .map_or(1, |v| v.version + 1);
    plugin_version::ActiveModel {
        id: Set(Uuid::now_v7()),
        name: Set(manifest.name.clone()),
        version: Set(next),
        manifest: Set(serde_json::to_value(manifest).map_err(|e| DbErr::Custom(e.to_string()))?),
        component: Set(component.to_vec()),
        sha256: Set(hex::encode(Sha256::digest(component))),
        bundled: Set(matches!(origin, Origin::Bundled { .. })),
        created_by: Set(by.to_owned()),
        created_at: Set(Utc::now()),
    }
    .insert(db)
    .await?;
    let existing = plugin::Entity::find_by_id(manifest.name.clone())
        .one(db)
        .await?;
    match existing {
        Some(_) if origin == (Origin::Bundled { activate: false }) => {}
        Some(row) => {
            let mut am: plugin::ActiveModel = row.into();
            am.active_version = Set(next);
            am.updated_at = Set(Utc::now());
            am.update(db).await?;
        }
        None => {
            plugin::ActiveModel {
                name: Set(manifest.name.clone()),
                active_version: Set(next),
                enabled: Set(true),
                config: Set(serde_json::json!({})),
                secrets: Set(serde_json::json!({})),
                secrets_sealed: Set(None),
                updated_at: Set(Utc::now()),
                quarantine_reason: Set(None),
                quarantined_at: Set(None),
                quarantine_retry_at: Set(None),
                quarantine_trips: Set(0),
            }
            .insert(db)
            .await?;
        }
    }
    Ok(())
}

/// Installs the plugins bundled into the binary (`plugins/<dir>/kolhost.toml` and its
/// component, see [`crate::plugins::artifacts::BUNDLED`]) as stored versions, so that they load
/// at start like uploads and can be configured, disabled and rolled back the same way.
///
/// A bundled build is stored once (by its SHA-256); its version is the manifest's plus the
/// first 12 hex digits of that hash as semver build metadata (`1.0.0+3f2a…`), so every build
/// is a distinct, rollback-able version. A new bundled build becomes active when the active
/// version is an earlier bundled one; an integrator's upload stays active.
pub async fn sync_bundled(db: &DatabaseConnection) -> Result<(), DbErr> {
    install_bundled(db, crate::plugins::artifacts::BUNDLED).await
}

/// [`sync_bundled`] for a given list (tests pass their own builds).
pub async fn install_bundled(db: &DatabaseConnection, bundled: &[Bundled]) -> Result<(), DbErr> {
    for b in bundled {
        let mut manifest = match Manifest::from_toml(b.manifest) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(error = %e, "a bundled plugin manifest is invalid; skipped");
                continue;
            }
        };
        let sha = hex::encode(Sha256::digest(b.component));
        manifest.version = format!("{}+{}", manifest.version, &sha[..12]);
        let versions = plugin_version::Entity::find()
            .filter(plugin_version::Column::Name.eq(manifest.name.as_str()))
            .all(db)
            .await?;
        if versions.iter().any(|v| v.sha256 == sha) {
            continue;
        }
        let activate = match plugin::Entity::find_by_id(manifest.name.clone())
            .one(db)
            .await?
        {
            None => true,
            Some(p) => versions
                .iter()
                .find(|v| v.version == p.active_version)
                .is_none_or(|v| v.bundled),
        };
        let txn = crate::store::write_txn(db).await?;
        save_version(
            &txn,
            &manifest,
            b.component,
            "kolhost (bundled)",
            Origin::Bundled { activate },
        )
        .await?;
        announce(&txn, &Change::Plugin(manifest.name.clone())).await?;
        txn.commit().await?;
        tracing::info!(plugin = %manifest.name, version = %manifest.version, activate, "bundled plugin installed");
    }
    Ok(())
}

/// Records the registry's view of a plugin (active version, enabled) after a lifecycle change.
pub async fn save_state<C: ConnectionTrait>(
    db: &C,
    name: &str,
    active_manifest_version: &str,
    enabled: bool,
) -> Result<(), DbErr> {
    let versions = plugin_version::Entity::find()
        .filter(plugin_version::Column::Name.eq(name))
        .all(db)
        .await?;
    let active = versions
        .iter()
        .find(|v| {
            v.manifest.get("version").and_then(|x| x.as_str()) == Some(active_manifest_version)
        })
        .map(|v| v.version)
        .ok_or_else(|| {
            DbErr::Custom(format!(
                "plugin {name} has no stored version {active_manifest_version}"
            ))
        })?;
    let row = plugin::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(name.to_owned()))?;
    let mut am: plugin::ActiveModel = row.into();
    am.active_version = Set(active);
    am.enabled = Set(enabled);
    am.updated_at = Set(Utc::now());
    am.update(db).await?;
    Ok(())
}

/// Stores a plugin's settings: the config in plain text, the secrets sealed with `secrets`
/// (see [`seal_secrets`]); the legacy plain column is emptied.
pub async fn save_settings<C: ConnectionTrait>(
    db: &C,
    name: &str,
    settings: &Settings,
    secrets: &SecretBox,
) -> Result<(), DbErr> {
    let row = plugin::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .ok_or_else(|| DbErr::RecordNotFound(name.to_owned()))?;
    let mut am: plugin::ActiveModel = row.into();
    am.config =
        Set(serde_json::to_value(&settings.config).map_err(|e| DbErr::Custom(e.to_string()))?);
    am.secrets = Set(serde_json::json!({}));
    am.secrets_sealed = Set(seal_secrets(secrets, name, &settings.secrets));
    am.updated_at = Set(Utc::now());
    am.update(db).await?;
    Ok(())
}

/// What a plugin's sealed secrets are bound to: its name (the row's id), so sealed secrets
/// copied onto another plugin's row do not open.
fn secrets_aad(name: &str) -> Vec<u8> {
    format!("plugins/{name}").into_bytes()
}

/// A plugin's secret values sealed as one JSON object; none when there are none.
pub fn seal_secrets(
    secrets: &SecretBox,
    name: &str,
    values: &BTreeMap<String, String>,
) -> Option<String> {
    if values.is_empty() {
        return None;
    }
    let json = serde_json::to_vec(values).expect("a map of strings serializes");
    Some(secrets.seal(&json, &secrets_aad(name)))
}

/// A stored plugin's settings, its secrets opened with `secrets` (and any legacy plain ones not
/// yet sealed). Fails when the sealed secrets do not open: a wrong key or an altered row.
pub fn open_settings(row: &plugin::Model, secrets: &SecretBox) -> Result<Settings, DbErr> {
    let config: BTreeMap<String, String> =
        serde_json::from_value(row.config.clone()).unwrap_or_default();
    let mut values: BTreeMap<String, String> = match &row.secrets_sealed {
        Some(sealed) => {
            let json = secrets
                .open(sealed, &secrets_aad(&row.name))
                .map_err(|e| sealed_error(&format!("plugin {}'s secrets", row.name), e))?;
            serde_json::from_slice(&json).map_err(|e| {
                DbErr::Custom(format!(
                    "plugin {}'s secrets are not a JSON object of strings: {e}",
                    row.name
                ))
            })?
        }
        None => BTreeMap::new(),
    };
    let plain: BTreeMap<String, String> =
        serde_json::from_value(row.secrets.clone()).unwrap_or_default();
    values.extend(plain);
    Ok(Settings {
        config,
        secrets: values,
    })
}

/// The error for a sealed value that does not open, naming what it belongs to and what to do.
pub(crate) fn sealed_error(what: &str, e: SecretError) -> DbErr {
    DbErr::Custom(format!(
        "{what}: {e}. Start with the key the database was sealed with ({} or the {} file), \
         or, after `kolhost secrets rotate`, with the new key",
        super::secrets::KEY_ENV,
        super::secrets::KEY_FILE
    ))
}

/// Seals the secrets of rows written before secrets were sealed (plain in `secrets`) and
/// empties their plain column, inside the caller's transaction. Idempotent: a second run finds
/// nothing. Answers how many plugins it sealed.
pub(crate) async fn seal_plain_secrets<C: ConnectionTrait>(
    db: &C,
    secrets: &SecretBox,
) -> Result<usize, DbErr> {
    let mut n = 0;
    for row in plugin::Entity::find().all(db).await? {
        if row.secrets.as_object().is_none_or(|o| o.is_empty()) {
            continue;
        }
        let settings = open_settings(&row, secrets)?;
        let name = row.name.clone();
        let mut am: plugin::ActiveModel = row.into();
        am.secrets = Set(serde_json::json!({}));
        am.secrets_sealed = Set(seal_secrets(secrets, &name, &settings.secrets));
        am.update(db).await?;
        n += 1;
    }
    Ok(n)
}

/// Every plugin's secrets re-sealed from `old` to `new` inside the caller's transaction
/// (`kolhost secrets rotate`). Answers how many plugins' secrets it re-sealed.
pub(crate) async fn reseal_secrets<C: ConnectionTrait>(
    db: &C,
    old: &SecretBox,
    new: &SecretBox,
) -> Result<usize, DbErr> {
    let mut n = 0;
    for row in plugin::Entity::find().all(db).await? {
        if row.secrets_sealed.is_none() && row.secrets.as_object().is_none_or(|o| o.is_empty()) {
            continue;
        }
        let settings = open_settings(&row, old)?;
        let name = row.name.clone();
        let mut am: plugin::ActiveModel = row.into();
        am.secrets = Set(serde_json::json!({}));
        am.secrets_sealed = Set(seal_secrets(new, &name, &settings.secrets));
        am.update(db).await?;
        n += 1;
    }
    Ok(n)
}

/// Loads every stored plugin into the registry (see [`reload`]): at start, and in full when a
/// host reconnects to the change announcements.
pub async fn restore(
    db: &DatabaseConnection,
    registry: &Registry,
    secrets: &SecretBox,
) -> Result<(), DbErr> {
    let names: Vec<String> = plugin::Entity::find()
        .select_only()
        .column(plugin::Column::Name)
        .into_tuple()
        .all(db)
        .await?;
    for name in names {
        reload(db, registry, secrets, &name).await?;
    }
    Ok(())
}

/// Brings one plugin in the registry in step with the database: its stored versions (new ones
/// known, deleted ones gone), its settings (secrets opened with `secrets`: a plugin whose sealed
/// secrets do not open fails, since a wrong key must not leave plugins silently without their
/// secrets), whether it is enabled, its quarantine, and its active version. Only the active
/// version is read and loaded when it is not in memory (from the disk cache of compiled
/// components, else compiled, waiting its turn on the compile pool); that happens outside the
/// registry's change lock, so a long compile holds up no other change, and the state is applied
/// before it and again after it. An active version that no longer loads is logged and the plugin
/// keeps what it served. Safe to repeat, and to run concurrently.
pub async fn reload(
    db: &DatabaseConnection,
    registry: &Registry,
    secrets: &SecretBox,
    name: &str,
) -> Result<(), DbErr> {
    let Some(missing) = apply_stored(db, registry, secrets, name, None).await? else {
        return Ok(());
    };
    let StoredActive {
        id,
        manifest,
        sha256,
    } = missing;
    let version = manifest.version.clone();
    let Some(bytes) = component_bytes(db, id).await? else {
        return Ok(());
    };
    match registry
        .prepare(manifest, Arc::new(bytes), &sha256, Wait::Queue)
        .await
    {
        Ok(prepared) => {
            apply_stored(db, registry, secrets, name, Some(prepared)).await?;
        }
        Err(e) => {
            tracing::error!(plugin = %name, version = %version, error = %e, "stored plugin version no longer loads")
        }
    }
    Ok(())
}

/// A plugin's stored active version that is not loaded.
struct StoredActive {
    id: Uuid,
    manifest: Manifest,
    sha256: String,
}

/// [`reload`] under the change lock, from what the database holds now, with `prepared` (a
/// version just compiled) to add; answers the active version when it is not loaded.
async fn apply_stored(
    db: &DatabaseConnection,
    registry: &Registry,
    secrets: &SecretBox,
    name: &str,
    prepared: Option<crate::plugins::Prepared>,
) -> Result<Option<StoredActive>, DbErr> {
    let _changing = registry.change_lock().await;
    let Some(p) = plugin::Entity::find_by_id(name.to_owned()).one(db).await? else {
        return Ok(None);
    };
    let mut stored = Vec::new();
    let mut active = None;
    for (id, number, manifest, sha256) in version_rows(db, name).await? {
        let manifest: Manifest = match serde_json::from_value(manifest) {
            Ok(m) => m,
            Err(e) => {
                tracing::error!(plugin = %name, version = number, error = %e, "stored manifest unreadable");
                continue;
            }
        };
        if number == p.active_version {
            active = Some(StoredActive {
                id,
                manifest: manifest.clone(),
                sha256: sha256.clone(),
            });
        }
        stored.push(StoredVersion { manifest, sha256 });
    }
    let Some(active) = active else {
        tracing::error!(plugin = %name, "the plugin's active version is not stored");
        return Ok(None);
    };
    // A version compiled for an active version that changed meanwhile is only known, not kept.
    let prepared = prepared
        .filter(|p| p.manifest().version == active.manifest.version && p.sha256() == active.sha256);
    let in_step = registry.sync(name, stored, &active.manifest.version, prepared);
    let missing = (!in_step).then_some(active);
    let Some(status) = registry.status(name) else {
        return Ok(missing);
    };
    let _ = registry.set_settings(name, open_settings(&p, secrets)?);
    // `enable` also lifts a quarantine; the stored quarantine is set right after.
    if p.enabled && !status.enabled {
        let _ = registry.enable(name);
    } else if !p.enabled && status.enabled {
        let _ = registry.disable(name);
    }
    let q = match (p.quarantine_reason, p.quarantined_at, p.quarantine_retry_at) {
        (Some(reason), Some(since), Some(retry_at)) => Some(Quarantine {
            reason,
            since,
            retry_at,
            trips: p.quarantine_trips.max(1) as u32,
        }),
        _ => None,
    };
    if q != status.quarantine {
        let _ = registry.set_quarantine(name, q);
    }
    Ok(missing)
}

/// A stored version's component bytes.
async fn component_bytes(db: &DatabaseConnection, id: Uuid) -> Result<Option<Vec<u8>>, DbErr> {
    plugin_version::Entity::find_by_id(id)
        .select_only()
        .column(plugin_version::Column::Component)
        .into_tuple::<Vec<u8>>()
        .one(db)
        .await
}

/// A plugin's stored versions without their components, oldest first: id, number, manifest,
/// the component's SHA-256.
async fn version_rows<C: ConnectionTrait>(
    db: &C,
    name: &str,
) -> Result<Vec<(Uuid, i32, serde_json::Value, String)>, DbErr> {
    plugin_version::Entity::find()
        .select_only()
        .column(plugin_version::Column::Id)
        .column(plugin_version::Column::Version)
        .column(plugin_version::Column::Manifest)
        .column(plugin_version::Column::Sha256)
        .filter(plugin_version::Column::Name.eq(name))
        .order_by_asc(plugin_version::Column::Version)
        .into_tuple()
        .all(db)
        .await
}

/// The stored version of plugin `name` whose manifest version is `version`.
async fn find_version<C: ConnectionTrait>(
    db: &C,
    name: &str,
    version: &str,
) -> Result<Option<(Uuid, i32, String)>, DbErr> {
    Ok(version_rows(db, name)
        .await?
        .into_iter()
        .find(|(_, _, m, _)| m.get("version").and_then(|v| v.as_str()) == Some(version))
        .map(|(id, n, _, sha)| (id, n, sha)))
}

/// Loads a stored version that is not in memory (for a rollback to it), without making it
/// active; waits its turn on the compile pool.
pub async fn load_version(
    db: &DatabaseConnection,
    registry: &Registry,
    name: &str,
    version: &str,
) -> Result<(), String> {
    let Some((id, _, sha256)) = find_version(db, name, version)
        .await
        .map_err(|e| e.to_string())?
    else {
        return Err(format!("plugin {name} has no stored version {version}"));
    };
    let row = plugin_version::Entity::find_by_id(id)
        .one(db)
        .await
        .map_err(|e| e.to_string())?
        .ok_or_else(|| format!("plugin {name} has no stored version {version}"))?;
    let manifest: Manifest = serde_json::from_value(row.manifest).map_err(|e| e.to_string())?;
    let prepared = registry
        .prepare(manifest, Arc::new(row.component), &sha256, Wait::Queue)
        .await
        .map_err(|e| e.to_string())?;
    registry
        .install(prepared, false)
        .map_err(|e| e.to_string())?;
    Ok(())
}

/// Deletes a stored version of plugin `name` (not its active one: the caller checks). Answers
/// whether there was one.
pub async fn delete_version<C: ConnectionTrait>(
    db: &C,
    name: &str,
    version: &str,
) -> Result<bool, DbErr> {
    let Some((id, number, _)) = find_version(db, name, version).await? else {
        return Ok(false);
    };
    let active = plugin::Entity::find_by_id(name.to_owned())
        .one(db)
        .await?
        .map(|p| p.active_version);
    if active == Some(number) {
        return Err(DbErr::Custom(format!(
            "version {version} is the active version of plugin {name}"
        )));
    }
    plugin_version::Entity::delete_by_id(id).exec(db).await?;
    Ok(true)
}
