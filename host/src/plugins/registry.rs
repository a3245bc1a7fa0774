//! Named plugins with their versions, state, settings and statistics. In memory: the store
//! persists components, manifests and settings and replays them into a registry at start.
//!
//! Swapping is atomic: a call takes the active version (`Arc<Plugin>`) when it starts and
//! finishes on it, even if another version becomes active meanwhile.
//!
//! Every version is known by its manifest, but only the active one and the one active before it
//! (the rollback target) stay compiled in memory; the others are loaded again on demand (from
//! the disk cache of compiled components, else compiled), by whoever holds their bytes (the
//! store).

use super::bindings::{AllocateInput, Allocation, Delivery, Parsed, PluginInfo, PollResult};
use super::cache::ArtifactCache;
use super::capabilities::kv::KvStore;
use super::compiler::{CompileStats, Compiler, Wait};
use super::error::{CallError, LoadError};
use super::limits::Limits;
use super::manifest::{Capability, Manifest, World};
use super::plugin::Plugin;
use super::quarantine::{Quarantine, QuarantineStore, redact};
use super::runtime::Runtime;
use super::state::{CallEnv, Settings};
use super::stats::{Outcome, Stats, StatsSnapshot};
use arc_swap::ArcSwap;
use serde::Serialize;
use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::{Duration, Instant};

#[derive(Debug, Clone)]
pub struct RegistryConfig {
    /// Failures in a row (traps, timeouts, limits, invalid output) that quarantine a plugin.
    /// Failures of `verify-webhook` (unauthenticated input) never count.
    pub quarantine_after: u32,
    /// Wait before the first half-open retry of a quarantined plugin; doubles with each trip.
    pub quarantine_backoff: Duration,
    /// The longest wait between half-open retries.
    pub quarantine_max_backoff: Duration,
}

impl Default for RegistryConfig {
    fn default() -> Self {
        RegistryConfig {
            quarantine_after: 5,
            quarantine_backoff: Duration::from_secs(60),
            quarantine_max_backoff: Duration::from_secs(3600),
        }
    }
}

/// Why a lifecycle operation was refused.
#[derive(Debug, thiserror::Error)]
pub enum RegistryError {
    #[error("no plugin named `{0}`")]
    NotFound(String),
    #[error("plugin `{0}` has no version before the active one")]
    NoPreviousVersion(String),
    #[error("plugin `{name}` has no version {version}")]
    UnknownVersion { name: String, version: String },
    #[error("version {version} of plugin `{name}` is not loaded")]
    NotLoaded { name: String, version: String },
    #[error("version {version} is the active version of plugin `{name}`")]
    ActiveVersion { name: String, version: String },
}

/// One version of a plugin: its manifest and the digest of its component's bytes, compiled in
/// memory or not.
struct Version {
    manifest: Manifest,
    sha256: String,
    plugin: Option<Arc<Plugin>>,
}

/// A stored version to bring into the registry with [`Registry::sync`]: its manifest and the
/// SHA-256 of its component's bytes.
#[derive(Debug, Clone)]
pub struct StoredVersion {
    pub manifest: Manifest,
    pub sha256: String,
}

/// A component compiled and described, not yet part of its plugin ([`Registry::install`]).
pub struct Prepared {
    plugin: Arc<Plugin>,
    sha256: String,
}

impl Prepared {
    pub fn manifest(&self) -> &Manifest {
        self.plugin.manifest()
    }

    pub fn info(&self) -> &PluginInfo {
        self.plugin.info()
    }

    pub fn sha256(&self) -> &str {
        &self.sha256
    }
}

struct Entry {
    world: World,
    /// Oldest first.
    versions: Mutex<Vec<Version>>,
    active: ArcSwap<Plugin>,
    /// The version active before the active one: kept compiled for an instant rollback.
    previous: Mutex<Option<String>>,
    enabled: AtomicBool,
    quarantine: Mutex<Option<Quarantine>>,
    /// A half-open retry is running.
    probing: AtomicBool,
    settings: ArcSwap<Settings>,
    stats: Stats,
}

/// What `GET /api/v1/plugins/{name}` shows. Secrets appear by name only.
#[derive(Debug, Clone, Serialize)]
pub struct PluginStatus {
    pub name: String,
    pub world: World,
    /// The active version.
    pub version: String,
    /// All versions, oldest first.
    pub versions: Vec<String>,
    /// The versions compiled in memory now (the active one and the one active before it); the
    /// others load on demand.
    pub loaded: Vec<String>,
    pub enabled: bool,
    pub quarantined: bool,
    /// Why and until when, while quarantined.
    pub quarantine: Option<Quarantine>,
    pub info: PluginInfo,
    pub grants: Vec<Capability>,
    /// The active version's imports that are linked to stubs refusing every call (not
    /// granted, or `wasi:http`), one sentence each; empty when everything it imports works.
    pub warnings: Vec<String>,
    pub allowed_hosts: Vec<String>,
    #[serde(serialize_with = "ser_limits")]
    pub limits: Limits,
    pub config: BTreeMap<String, String>,
    pub secret_names: Vec<String>,
    pub stats: StatsSnapshot,
}

fn ser_limits<S: serde::Serializer>(l: &Limits, s: S) -> Result<S::Ok, S::Error> {
    #[derive(Serialize)]
    struct L {
        timeout_ms: u128,
        max_memory_bytes: usize,
        max_table_elements: usize,
        max_instances: usize,
        max_output_bytes: usize,
        kv_max_keys: usize,
        kv_max_bytes: usize,
        kv_max_writes_per_call: usize,
    }
    L {
        timeout_ms: l.timeout.as_millis(),
        max_memory_bytes: l.max_memory_bytes,
        max_table_elements: l.max_table_elements,
        max_instances: l.max_instances,
        max_output_bytes: l.max_output_bytes,
        kv_max_keys: l.kv_max_keys,
        kv_max_bytes: l.kv_max_bytes,
        kv_max_writes_per_call: l.kv_max_writes_per_call,
    }
    .serialize(s)
}

pub struct Registry {
    runtime: Arc<Runtime>,
    kv: Arc<dyn KvStore>,
    cfg: RegistryConfig,
    quarantines: Option<Arc<dyn QuarantineStore>>,
    plugins: RwLock<BTreeMap<String, Arc<Entry>>>,
    compiler: Compiler,
    /// See [`Registry::change_lock`].
    changes: tokio::sync::Mutex<()>,
}

/// A call in progress: the entry and the version it runs on.
struct Started {
    entry: Arc<Entry>,
    plugin: Arc<Plugin>,
    env: CallEnv,
    at: Instant,
    /// Whether the outcome counts toward quarantine.
    counts: bool,
    /// This call is the half-open retry of a quarantined plugin.
    probe: bool,
}

impl Registry {
    pub fn new(runtime: Arc<Runtime>, kv: Arc<dyn KvStore>, cfg: RegistryConfig) -> Registry {
        Registry {
            compiler: Compiler::new(runtime.clone()),
            runtime,
            kv,
            cfg,
            quarantines: None,
            plugins: RwLock::new(BTreeMap::new()),
            changes: tokio::sync::Mutex::new(()),
        }
    }

    /// Held by whoever changes a plugin in memory and then stores the change (the service), and
    /// by whoever reloads the registry from the database (another host's change announced), so a
    /// reload never lands between the two and puts back what the database held before a change
    /// that is about to commit.
    pub async fn change_lock(&self) -> tokio::sync::MutexGuard<'_, ()> {
        self.changes.lock().await
    }

    /// Keeps quarantines in `store` (the database in the server), so a restart keeps them.
    pub fn with_quarantine_store(mut self, store: Arc<dyn QuarantineStore>) -> Registry {
        self.quarantines = Some(store);
        self
    }

    pub fn runtime(&self) -> &Arc<Runtime> {
        &self.runtime
    }

    fn entry(&self, name: &str) -> Option<Arc<Entry>> {
        self.plugins.read().unwrap().get(name).cloned()
    }

    /// Keeps compiled components in `dir` (see [`ArtifactCache`]), so a restart loads them
    /// without compiling.
    pub fn with_artifact_cache(mut self, dir: &std::path::Path) -> std::io::Result<Registry> {
        let cache = ArtifactCache::open(dir, self.runtime.engine())?;
        self.compiler = Compiler::new(self.runtime.clone()).with_cache(cache);
        Ok(self)
    }

    /// Compiles running, done, and components read from the cache.
    pub fn compile_stats(&self) -> &CompileStats {
        self.compiler.stats()
    }

    /// Everything checked before compiling (see [`Runtime::check`]), and that `manifest` can
    /// become a new version of its plugin (same world, a version it does not have). Milliseconds.
    pub fn check_upload(&self, manifest: &Manifest, bytes: &[u8]) -> Result<(), LoadError> {
        self.runtime.check(manifest, bytes)?;
        self.check_new_version_of(manifest)
    }

    /// Checks that `manifest` can become a new version of its plugin (same world, a version it
    /// does not have yet).
    pub fn check_new_version_of(&self, manifest: &Manifest) -> Result<(), LoadError> {
        match self.entry(&manifest.name) {
            Some(e) => self.check_new_version(&e, manifest),
            None => Ok(()),
        }
    }

    /// Compiles a component (on the compile pool, or from the disk cache) and asks it to
    /// describe itself, with the plugin's settings; nothing changes in the registry. `sha256`
    /// is the bytes' SHA-256 (the cache key).
    pub async fn prepare(
        &self,
        manifest: Manifest,
        bytes: Arc<Vec<u8>>,
        sha256: &str,
        wait: Wait,
    ) -> Result<Prepared, LoadError> {
        let checked = self.runtime.check(&manifest, &bytes)?;
        let component = self.compiler.component(bytes, sha256, wait).await?;
        let settings = self
            .entry(&manifest.name)
            .map(|e| e.settings.load_full())
            .unwrap_or_default();
        let env = CallEnv {
            settings,
            kv: self.kv.clone(),
            writes: Default::default(),
        };
        let plugin = self
            .runtime
            .instantiate(manifest, checked, component, &env)
            .await?;
        Ok(Prepared {
            plugin: Arc::new(plugin),
            sha256: sha256.to_owned(),
        })
    }

    /// Loads a new version of a plugin (or a new plugin, enabled) and makes it the active one:
    /// [`Registry::prepare`] then [`Registry::install`], for registries without a store (tests,
    /// benchmarks). Calls in flight finish on the version they started with.
    pub async fn load(&self, manifest: Manifest, bytes: &[u8]) -> Result<PluginStatus, LoadError> {
        if let Some(e) = self.entry(&manifest.name) {
            self.check_new_version(&e, &manifest)?;
        }
        let sha256 = hex::encode(<sha2::Sha256 as sha2::Digest>::digest(bytes));
        let prepared = self
            .prepare(manifest, Arc::new(bytes.to_vec()), &sha256, Wait::Queue)
            .await?;
        self.install(prepared, true)
    }

    /// Adds a prepared version to its plugin (a new plugin starts enabled with it active), or
    /// fills in a known version not loaded; with `activate`, makes it the active one.
    pub fn install(&self, prepared: Prepared, activate: bool) -> Result<PluginStatus, LoadError> {
        let Prepared { plugin, sha256 } = prepared;
        let manifest = plugin.manifest().clone();
        let name = manifest.name.clone();
        {
            let mut map = self.plugins.write().unwrap();
            match map.get(&name) {
                Some(e) => {
                    let mut versions = e.versions.lock().unwrap();
                    match versions
                        .iter_mut()
                        .find(|v| v.manifest.version == manifest.version)
                    {
                        Some(v) if v.plugin.is_none() && v.sha256 == sha256 => {
                            v.plugin = Some(plugin.clone())
                        }
                        _ => {
                            drop(versions);
                            self.check_new_version(e, &manifest)?;
                            versions = e.versions.lock().unwrap();
                            versions.push(Version {
                                manifest: manifest.clone(),
                                sha256,
                                plugin: Some(plugin.clone()),
                            });
                        }
                    }
                    if activate {
                        switch(e, &mut versions, plugin);
                    }
                }
                None => {
                    map.insert(
                        name.clone(),
                        Arc::new(Entry {
                            world: manifest.world,
                            versions: Mutex::new(vec![Version {
                                manifest: manifest.clone(),
                                sha256,
                                plugin: Some(plugin.clone()),
                            }]),
                            active: ArcSwap::new(plugin),
                            previous: Mutex::new(None),
                            enabled: AtomicBool::new(true),
                            quarantine: Mutex::new(None),
                            probing: AtomicBool::new(false),
                            settings: ArcSwap::new(Arc::new(Settings::default())),
                            stats: Stats::default(),
                        }),
                    );
                }
            }
        }
        tracing::info!(plugin = %name, version = %manifest.version, activate, "plugin version loaded");
        Ok(self.status(&name).expect("just loaded"))
    }

    /// Makes the plugin's versions exactly `stored` (oldest first): versions gone from the store
    /// leave, new ones are known (not loaded), compiled ones stay. `active` (its manifest
    /// version) becomes the active one when it is loaded or `prepared` is it; a plugin not in
    /// the registry needs `prepared`. Answers false when the plugin cannot be brought in step
    /// (nothing loaded to make active).
    pub fn sync(
        &self,
        name: &str,
        stored: Vec<StoredVersion>,
        active: &str,
        prepared: Option<Prepared>,
    ) -> bool {
        if let Some(p) = prepared {
            let activate = self.entry(name).is_none();
            if let Err(e) = self.install(p, activate) {
                tracing::error!(plugin = %name, error = %e, "a stored plugin version does not fit its plugin");
            }
        }
        let Some(e) = self.entry(name) else {
            return false;
        };
        let mut versions = e.versions.lock().unwrap();
        let mut old: Vec<Version> = std::mem::take(&mut *versions);
        *versions = stored
            .into_iter()
            .filter(|s| s.manifest.world == e.world)
            .map(|s| {
                let plugin = old
                    .iter_mut()
                    .find(|v| v.manifest.version == s.manifest.version && v.sha256 == s.sha256)
                    .and_then(|v| v.plugin.take());
                Version {
                    manifest: s.manifest,
                    sha256: s.sha256,
                    plugin,
                }
            })
            .collect();
        let target = versions
            .iter()
            .find(|v| v.manifest.version == active)
            .and_then(|v| v.plugin.clone());
        match target {
            Some(p) => {
                if !Arc::ptr_eq(&p, &e.active.load()) {
                    switch(&e, &mut versions, p);
                }
                true
            }
            None => {
                // Keep serving what is active until the stored active version loads.
                let current = e.active.load_full();
                if !versions
                    .iter()
                    .any(|v| v.plugin.as_ref().is_some_and(|p| Arc::ptr_eq(p, &current)))
                {
                    versions.push(Version {
                        manifest: current.manifest().clone(),
                        sha256: String::new(),
                        plugin: Some(current),
                    });
                }
                false
            }
        }
    }

    /// Whether the named version is compiled in memory; `None` when the plugin has no such
    /// version.
    pub fn is_loaded(&self, name: &str, version: &str) -> Option<bool> {
        let e = self.entry(name)?;
        let versions = e.versions.lock().unwrap();
        versions
            .iter()
            .find(|v| v.manifest.version == version)
            .map(|v| v.plugin.is_some())
    }

    /// The version a rollback would make active: the one before the active one.
    pub fn rollback_target(&self, name: &str) -> Result<String, RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        let versions = e.versions.lock().unwrap();
        let active = e.active.load();
        match versions
            .iter()
            .position(|v| v.manifest.version == active.manifest().version)
        {
            Some(i) if i > 0 => Ok(versions[i - 1].manifest.version.clone()),
            _ => Err(RegistryError::NoPreviousVersion(name.into())),
        }
    }

    /// Forgets an inactive version (deleted from the store).
    pub fn remove_version(&self, name: &str, version: &str) -> Result<(), RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        if e.active.load().manifest().version == version {
            return Err(RegistryError::ActiveVersion {
                name: name.into(),
                version: version.into(),
            });
        }
        let mut versions = e.versions.lock().unwrap();
        let before = versions.len();
        versions.retain(|v| v.manifest.version != version);
        if versions.len() == before {
            return Err(RegistryError::UnknownVersion {
                name: name.into(),
                version: version.into(),
            });
        }
        Ok(())
    }

    fn check_new_version(&self, e: &Entry, manifest: &Manifest) -> Result<(), LoadError> {
        if e.world != manifest.world {
            return Err(LoadError::WrongWorld {
                expected: e.world,
                found: format!(
                    "is a new version of a {} plugin, with world `{}`",
                    e.world, manifest.world
                ),
            });
        }
        if e.versions
            .lock()
            .unwrap()
            .iter()
            .any(|v| v.manifest.version == manifest.version)
        {
            return Err(LoadError::VersionExists {
                name: manifest.name.clone(),
                version: manifest.version.clone(),
            });
        }
        Ok(())
    }

    /// Enables a plugin, lifting a quarantine and resetting its failure streak (the caller
    /// stores the lifted quarantine with the rest of the plugin's state).
    pub fn enable(&self, name: &str) -> Result<PluginStatus, RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        e.stats.reset_consecutive_failures();
        *e.quarantine.lock().unwrap() = None;
        e.enabled.store(true, Ordering::SeqCst);
        tracing::info!(plugin = %name, "plugin enabled");
        Ok(self.status(name).expect("exists"))
    }

    /// Sets a plugin's quarantine as stored (at start, or to undo a change that could not be
    /// stored), without storing it again.
    pub fn set_quarantine(&self, name: &str, q: Option<Quarantine>) -> Result<(), RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        *e.quarantine.lock().unwrap() = q;
        Ok(())
    }

    /// `text` with the named plugin's secret values redacted (for what is stored or logged).
    pub fn redact(&self, name: &str, text: &str) -> String {
        match self.entry(name) {
            Some(e) => redact(text, e.settings.load().secrets.values()),
            None => text.to_owned(),
        }
    }

    /// Disables a plugin: new calls fail with [`CallError::Disabled`]; calls in flight finish.
    pub fn disable(&self, name: &str) -> Result<PluginStatus, RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        e.enabled.store(false, Ordering::SeqCst);
        tracing::info!(plugin = %name, "plugin disabled");
        Ok(self.status(name).expect("exists"))
    }

    /// Makes the version before the active one active again; it must be loaded (see
    /// [`Registry::rollback_target`]).
    pub fn rollback(&self, name: &str) -> Result<PluginStatus, RegistryError> {
        let target = self.rollback_target(name)?;
        let st = self.activate(name, &target)?;
        tracing::info!(plugin = %name, "plugin rolled back");
        Ok(st)
    }

    /// Makes a given loaded version active.
    pub fn activate(&self, name: &str, version: &str) -> Result<PluginStatus, RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        {
            let mut versions = e.versions.lock().unwrap();
            let v = versions
                .iter()
                .find(|v| v.manifest.version == version)
                .ok_or_else(|| RegistryError::UnknownVersion {
                    name: name.into(),
                    version: version.into(),
                })?;
            let p = v.plugin.clone().ok_or_else(|| RegistryError::NotLoaded {
                name: name.into(),
                version: version.into(),
            })?;
            if !Arc::ptr_eq(&p, &e.active.load()) {
                switch(&e, &mut versions, p);
            }
        }
        Ok(self.status(name).expect("exists"))
    }

    /// Removes a plugin and all its versions.
    pub fn remove(&self, name: &str) -> Result<(), RegistryError> {
        self.plugins
            .write()
            .unwrap()
            .remove(name)
            .map(|_| ())
            .ok_or_else(|| RegistryError::NotFound(name.into()))
    }

    /// Replaces the plugin's config and secrets (taken by calls that start afterwards).
    pub fn set_settings(&self, name: &str, settings: Settings) -> Result<(), RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        e.settings.store(Arc::new(settings));
        Ok(())
    }

    pub fn status(&self, name: &str) -> Option<PluginStatus> {
        let e = self.entry(name)?;
        let active = e.active.load_full();
        let m = active.manifest();
        let settings = e.settings.load();
        let quarantine = e.quarantine.lock().unwrap().clone();
        let versions = e.versions.lock().unwrap();
        Some(PluginStatus {
            name: name.to_string(),
            world: e.world,
            version: m.version.clone(),
            versions: versions
                .iter()
                .map(|v| v.manifest.version.clone())
                .collect(),
            loaded: versions
                .iter()
                .filter(|v| v.plugin.is_some())
                .map(|v| v.manifest.version.clone())
                .collect(),
            enabled: e.enabled.load(Ordering::SeqCst),
            quarantined: quarantine.is_some(),
            quarantine,
            info: active.info().clone(),
            grants: m.grants.clone(),
            warnings: active.warnings().to_vec(),
            allowed_hosts: m.allowed_hosts.clone(),
            limits: *active.limits(),
            config: settings.config.clone(),
            secret_names: settings.secrets.keys().cloned().collect(),
            stats: e.stats.snapshot(),
        })
    }

    /// The platform plugin that speaks for `platform`: the one named after it, else the one
    /// whose `describe` names it (the enabled one first when several do).
    pub fn platform_plugin(&self, platform: &str) -> Option<String> {
        let plugins = self.plugins.read().unwrap();
        if let Some(e) = plugins.get(platform)
            && e.world == World::Platform
        {
            return Some(platform.to_owned());
        }
        plugins
            .iter()
            .filter(|(_, e)| {
                e.world == World::Platform && e.active.load().info().platform == platform
            })
            .max_by_key(|(_, e)| e.enabled.load(Ordering::SeqCst))
            .map(|(name, _)| name.clone())
    }

    /// All plugins, by name.
    pub fn list(&self) -> Vec<PluginStatus> {
        let names: Vec<String> = self.plugins.read().unwrap().keys().cloned().collect();
        names.iter().filter_map(|n| self.status(n)).collect()
    }

    /// Starts a call. A quarantined plugin takes calls only once its retry is due, and then
    /// one counted call at a time (the half-open retry); calls that do not count (verifying
    /// a delivery before its parse) pass while the retry is due.
    fn start(&self, name: &str, counts: bool) -> Result<Started, CallError> {
        let entry = self
            .entry(name)
            .ok_or_else(|| CallError::NotFound(name.into()))?;
        if !entry.enabled.load(Ordering::SeqCst) {
            return Err(CallError::Disabled(name.into()));
        }
        let mut probe = false;
        if let Some(q) = entry.quarantine.lock().unwrap().as_ref() {
            let refuse = || CallError::Quarantined {
                name: name.into(),
                reason: q.reason.clone(),
                retry_at: q.retry_at.to_rfc3339(),
            };
            if !q.retry_due() {
                return Err(refuse());
            }
            if counts {
                if entry.probing.swap(true, Ordering::SeqCst) {
                    return Err(refuse());
                }
                probe = true;
            }
        }
        let plugin = entry.active.load_full();
        let env = CallEnv {
            settings: entry.settings.load_full(),
            kv: self.kv.clone(),
            writes: Default::default(),
        };
        Ok(Started {
            entry,
            plugin,
            env,
            at: Instant::now(),
            counts,
            probe,
        })
    }

    async fn finish<R>(
        &self,
        s: Started,
        call: &'static str,
        result: Result<R, CallError>,
    ) -> Result<R, CallError> {
        let elapsed = s.at.elapsed();
        let name = s.plugin.manifest().name.as_str();
        // The call's key-value writes stand only if it returned (an `err(..)` is an answer);
        // a fault leaves the state as it was.
        let writes = s.env.writes.take();
        let result = match result {
            Err(e) if e.is_fault() => Err(e),
            r if writes.is_empty() => r,
            r => match self.kv.apply(name, writes).await {
                Ok(()) => r,
                Err(e) => Err(CallError::Host(format!(
                    "the plugin's kv writes failed: {e}"
                ))),
            },
        };
        let (outcome, label) = match &result {
            Ok(_) => (Outcome::Ok, "ok"),
            Err(e) if e.is_fault() => (Outcome::Failure, e.kind()),
            Err(e) => (Outcome::Error, e.kind()),
        };
        let streak = s.entry.stats.record(elapsed, outcome, s.counts);
        metrics::counter!("kolhost_plugin_calls_total", "plugin" => name.to_string(), "call" => call, "outcome" => label)
            .increment(1);
        metrics::histogram!("kolhost_plugin_call_duration_seconds", "plugin" => name.to_string(), "call" => call)
            .record(elapsed.as_secs_f64());
        let error = match &result {
            Err(e) if e.is_fault() => {
                let error = redact(&e.to_string(), s.env.settings.secrets.values());
                tracing::warn!(plugin = %name, call, error = %error, streak, counts = s.counts, "plugin call failed");
                Some(error)
            }
            _ => None,
        };
        if s.probe {
            s.entry.probing.store(false, Ordering::SeqCst);
            match outcome {
                Outcome::Ok => self.lift(&s.entry, name).await,
                Outcome::Failure => {
                    let why = format!(
                        "the half-open retry failed: {call}: {}",
                        error.as_deref().unwrap_or("")
                    );
                    self.trip(&s.entry, name, why).await;
                }
                // The plugin answered; no verdict either way.
                Outcome::Error => {}
            }
        } else if s.counts
            && let Some(error) = error
            && streak >= u64::from(self.cfg.quarantine_after)
        {
            let why = format!("{streak} failures in a row; the last: {call}: {error}");
            self.trip(&s.entry, name, why).await;
        }
        result
    }

    /// Quarantines a plugin (again, with a longer back-off, if it already is) and stores it.
    async fn trip(&self, entry: &Entry, name: &str, reason: String) {
        let q = {
            let mut slot = entry.quarantine.lock().unwrap();
            let trips = slot.as_ref().map_or(1, |q| q.trips + 1);
            let q = Quarantine::trip(
                reason,
                trips,
                self.cfg.quarantine_backoff,
                self.cfg.quarantine_max_backoff,
            );
            *slot = Some(q.clone());
            q
        };
        tracing::error!(plugin = %name, reason = %q.reason, retry_at = %q.retry_at, trips = q.trips, "plugin quarantined");
        self.store_quarantine(name, Some(&q)).await;
    }

    /// Lifts a quarantine after a successful half-open retry, and stores that.
    async fn lift(&self, entry: &Entry, name: &str) {
        if entry.quarantine.lock().unwrap().take().is_some() {
            entry.stats.reset_consecutive_failures();
            tracing::info!(plugin = %name, "plugin quarantine lifted: the half-open retry succeeded");
            self.store_quarantine(name, None).await;
        }
    }

    async fn store_quarantine(&self, name: &str, q: Option<&Quarantine>) {
        if let Some(store) = &self.quarantines
            && let Err(e) = store.save(name, q).await
        {
            tracing::error!(plugin = %name, error = %e, "the plugin's quarantine could not be stored");
        }
    }

    /// Counts a failure the host found in what a call returned (e.g. a delivery's events it
    /// refused): the delivery failed though the call returned.
    pub async fn record_failure(&self, name: &str, call: &'static str, error: &str) {
        let Some(entry) = self.entry(name) else {
            return;
        };
        let streak = entry.stats.record_late_failure();
        let error = redact(error, entry.settings.load().secrets.values());
        tracing::warn!(plugin = %name, call, error = %error, streak, "plugin output refused");
        if entry.quarantine.lock().unwrap().is_some() {
            let why = format!("the half-open retry failed: {call}: {error}");
            self.trip(&entry, name, why).await;
        } else if streak >= u64::from(self.cfg.quarantine_after) {
            let why = format!("{streak} failures in a row; the last: {call}: {error}");
            self.trip(&entry, name, why).await;
        }
    }

    /// `verify-webhook` on the named platform plugin.
    /// Its failures do not count toward quarantine: it runs on unauthenticated input.
    pub async fn verify_webhook(&self, name: &str, delivery: &Delivery) -> Result<(), CallError> {
        let s = self.start(name, false)?;
        let (plugin, env, d) = (s.plugin.clone(), s.env.clone(), delivery.clone());
        let r = on_plugin_threads(async move { plugin.verify_webhook(&env, &d).await }).await;
        self.finish(s, "verify_webhook", r).await
    }

    /// `parse-webhook` on the named platform plugin.
    pub async fn parse_webhook(
        &self,
        name: &str,
        delivery: &Delivery,
    ) -> Result<Parsed, CallError> {
        let s = self.start(name, true)?;
        let (plugin, env, d) = (s.plugin.clone(), s.env.clone(), delivery.clone());
        let r = on_plugin_threads(async move { plugin.parse_webhook(&env, &d).await }).await;
        self.finish(s, "parse_webhook", r).await
    }

    /// `poll` on the named platform plugin.
    pub async fn poll(&self, name: &str, cursor: Option<&str>) -> Result<PollResult, CallError> {
        let s = self.start(name, true)?;
        let (plugin, env, c) = (s.plugin.clone(), s.env.clone(), cursor.map(str::to_owned));
        let r = on_plugin_threads(async move { plugin.poll(&env, c.as_deref()).await }).await;
        self.finish(s, "poll", r).await
    }

    /// `confirm` on the named platform plugin: acknowledges a committed poll page's receipt.
    pub async fn confirm(&self, name: &str, receipt: &str) -> Result<(), CallError> {
        let s = self.start(name, true)?;
        let (plugin, env, r) = (s.plugin.clone(), s.env.clone(), receipt.to_owned());
        let r = on_plugin_threads(async move { plugin.confirm(&env, &r).await }).await;
        self.finish(s, "confirm", r).await
    }

    /// `allocate` on the named allocator plugin.
    pub async fn allocate(
        &self,
        name: &str,
        input: &AllocateInput,
    ) -> Result<Allocation, CallError> {
        let s = self.start(name, true)?;
        let (plugin, env, i) = (s.plugin.clone(), s.env.clone(), input.clone());
        let r = on_plugin_threads(async move { plugin.allocate(&env, &i).await }).await;
        self.finish(s, "allocate", r).await
    }

    /// Per-plugin figures as Prometheus text (for `/metrics`). Call counts by outcome and the
    /// latency histogram also go through the `metrics` crate, under other names
    /// (`kolhost_plugin_calls_total`, `kolhost_plugin_call_duration_seconds`).
    pub fn render_prometheus(&self) -> String {
        let mut out = String::new();
        let list = self.list();
        let families: [(&str, &str, &str, fn(&PluginStatus) -> f64); 8] = [
            (
                "kolhost_plugin_calls",
                "counter",
                "Calls of the plugin",
                |p| p.stats.calls as f64,
            ),
            (
                "kolhost_plugin_errors",
                "counter",
                "Calls the plugin answered with an error",
                |p| p.stats.errors as f64,
            ),
            (
                "kolhost_plugin_failures",
                "counter",
                "Calls the sandbox stopped (trap, timeout, limit, invalid output)",
                |p| p.stats.failures as f64,
            ),
            (
                "kolhost_plugin_consecutive_failures",
                "gauge",
                "Failures in a row",
                |p| p.stats.consecutive_failures as f64,
            ),
            (
                "kolhost_plugin_quarantined",
                "gauge",
                "1 when the plugin is quarantined",
                |p| f64::from(u8::from(p.quarantined)),
            ),
            (
                "kolhost_plugin_enabled",
                "gauge",
                "1 when the plugin is enabled",
                |p| f64::from(u8::from(p.enabled)),
            ),
            (
                "kolhost_plugin_latency_p50_seconds",
                "gauge",
                "Median call latency",
                |p| p.stats.p50_us.map(|u| u as f64 / 1e6).unwrap_or(0.0),
            ),
            (
                "kolhost_plugin_latency_p99_seconds",
                "gauge",
                "99th percentile call latency",
                |p| p.stats.p99_us.map(|u| u as f64 / 1e6).unwrap_or(0.0),
            ),
        ];
        let c = self.compile_stats();
        for (metric, kind, help, value) in [
            (
                "kolhost_plugin_compiles_running",
                "gauge",
                "Plugin components being compiled now",
                c.running.load(Ordering::SeqCst),
            ),
            (
                "kolhost_plugin_compiles",
                "counter",
                "Plugin components compiled",
                c.compiled.load(Ordering::Relaxed),
            ),
            (
                "kolhost_plugin_cache_hits",
                "counter",
                "Compiled plugin components read from the disk cache",
                c.cache_hits.load(Ordering::Relaxed),
            ),
        ] {
            let _ = writeln!(
                out,
                "# HELP {metric} {help}\n# TYPE {metric} {kind}\n{metric} {value}"
            );
        }
        for (metric, kind, help, value) in families {
            let _ = writeln!(out, "# HELP {metric} {help}\n# TYPE {metric} {kind}");
            for p in &list {
                let _ = writeln!(
                    out,
                    "{metric}{{plugin=\"{}\",version=\"{}\"}} {}",
                    p.name,
                    p.version,
                    value(p)
                );
            }
        }
        out
    }
}

/// Makes `plugin` (one of `versions`) the entry's active version; the version active until now
/// stays compiled as the rollback target, every other version is dropped from memory (calls in
/// flight keep theirs until they finish).
fn switch(e: &Entry, versions: &mut [Version], plugin: Arc<Plugin>) {
    let was = e.active.load().manifest().version.clone();
    let now = plugin.manifest().version.clone();
    e.active.store(plugin);
    let mut previous = e.previous.lock().unwrap();
    *previous = Some(was);
    for v in versions.iter_mut() {
        if v.manifest.version != now && Some(&v.manifest.version) != previous.as_ref() {
            v.plugin = None;
        }
    }
}

/// Runs a plugin call on the plugin threads: a tokio runtime of its own, so that guest code,
/// which runs until it yields or its deadline fires, never holds up the server's request and
/// database tasks (the ingest writer's commits, timers, other requests). The OS schedules both
/// runtimes' threads fairly.
async fn on_plugin_threads<R: Send + 'static>(
    call: impl std::future::Future<Output = Result<R, CallError>> + Send + 'static,
) -> Result<R, CallError> {
    static THREADS: std::sync::OnceLock<tokio::runtime::Runtime> = std::sync::OnceLock::new();
    let rt = THREADS.get_or_init(|| {
        tokio::runtime::Builder::new_multi_thread()
            .worker_threads(std::thread::available_parallelism().map_or(2, |n| n.get()))
            .thread_name("kolhost-plugin")
            .enable_all()
            .build()
            .expect("the plugin runtime starts")
    });
    match rt.spawn(call).await {
        Ok(r) => r,
        Err(e) => Err(CallError::Host(format!("the plugin call task failed: {e}"))),
    }
}
