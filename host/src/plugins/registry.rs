//! Named plugins with their versions, state, settings and statistics. In memory: the API layer
//! persists components, manifests and settings and replays them into a registry at start.
//!
//! Swapping is atomic: a call takes the active version (`Arc<Plugin>`) when it starts and
//! finishes on it, even if another version becomes active meanwhile.

use super::bindings::{AllocateInput, Allocation, Delivery, Parsed, PluginInfo, PollResult};
use super::capabilities::kv::KvStore;
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
}

struct Entry {
    world: World,
    versions: Mutex<Vec<Arc<Plugin>>>,
    active: ArcSwap<Plugin>,
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

    /// Checks a component with its manifest (everything [`Registry::load`] checks) without
    /// registering it: for validating an upload before storing it.
    pub async fn check(&self, manifest: Manifest, bytes: &[u8]) -> Result<PluginInfo, LoadError> {
        let settings = self
            .entry(&manifest.name)
            .map(|e| e.settings.load_full())
            .unwrap_or_default();
        let env = CallEnv {
            settings,
            kv: self.kv.clone(),
            writes: Default::default(),
        };
        let plugin = self.runtime.compile(manifest, bytes, &env).await?;
        Ok(plugin.info().clone())
    }

    /// Loads a new version of a plugin (or a new plugin, enabled) and makes it the active one.
    /// Calls in flight finish on the version they started with.
    pub async fn load(&self, manifest: Manifest, bytes: &[u8]) -> Result<PluginStatus, LoadError> {
        let name = manifest.name.clone();
        let existing = self.entry(&name);
        if let Some(e) = &existing {
            self.check_new_version(e, &manifest)?;
        }
        let settings = existing
            .as_ref()
            .map(|e| e.settings.load_full())
            .unwrap_or_default();
        let env = CallEnv {
            settings,
            kv: self.kv.clone(),
            writes: Default::default(),
        };
        let plugin = Arc::new(self.runtime.compile(manifest.clone(), bytes, &env).await?);
        {
            let mut map = self.plugins.write().unwrap();
            match map.get(&name) {
                Some(e) => {
                    self.check_new_version(e, &manifest)?;
                    e.versions.lock().unwrap().push(plugin.clone());
                    e.active.store(plugin);
                }
                None => {
                    map.insert(
                        name.clone(),
                        Arc::new(Entry {
                            world: manifest.world,
                            versions: Mutex::new(vec![plugin.clone()]),
                            active: ArcSwap::new(plugin),
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
        tracing::info!(plugin = %name, version = %manifest.version, "plugin loaded");
        Ok(self.status(&name).expect("just loaded"))
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
            .any(|p| p.manifest().version == manifest.version)
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

    /// Makes the version before the active one active again.
    pub fn rollback(&self, name: &str) -> Result<PluginStatus, RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        {
            let versions = e.versions.lock().unwrap();
            let active = e.active.load();
            let idx = versions
                .iter()
                .position(|p| Arc::ptr_eq(p, &active))
                .unwrap_or(0);
            if idx == 0 {
                return Err(RegistryError::NoPreviousVersion(name.into()));
            }
            e.active.store(versions[idx - 1].clone());
        }
        tracing::info!(plugin = %name, "plugin rolled back");
        Ok(self.status(name).expect("exists"))
    }

    /// Makes a given loaded version active.
    pub fn activate(&self, name: &str, version: &str) -> Result<PluginStatus, RegistryError> {
        let e = self
            .entry(name)
            .ok_or_else(|| RegistryError::NotFound(name.into()))?;
        {
            let versions = e.versions.lock().unwrap();
            let p = versions
                .iter()
                .find(|p| p.manifest().version == version)
                .ok_or_else(|| RegistryError::UnknownVersion {
                    name: name.into(),
                    version: version.into(),
                })?;
            e.active.store(p.clone());
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
        Some(PluginStatus {
            name: name.to_string(),
            world: e.world,
            version: m.version.clone(),
            versions: e
                .versions
                .lock()
                .unwrap()
                .iter()
                .map(|p| p.manifest().version.clone())
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
