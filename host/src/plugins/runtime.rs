//! The engine: built once, with the pooling allocator, epoch interruption and a ticker thread.
//! [`Runtime::compile`] checks and compiles a component once and pre-instantiates it.

use super::capabilities::{self, hosts::GuardedResolver, http::HttpCapability, not_granted};
use super::component_info::ComponentInfo;
use super::error::LoadError;
use super::limits::{EngineLimits, Limits};
use super::manifest::{Capability, Manifest, World};
use super::plugin::{Compiled, Plugin};
use super::state::{CallEnv, HostState};
use std::collections::BTreeMap;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use wasmtime::component::{Component, Linker};
use wasmtime::{Config, Enabled, Engine, InstanceAllocationStrategy, PoolingAllocationConfig};

/// The package and the newest version this host runs (the SDK and bundled plugins target it).
pub const PACKAGE: &str = "kolhost:plugin";
pub const SUPPORTED_VERSION: &str = "0.2.0";
/// Every version of `kolhost:plugin` this host can load: older ones run through their adapter
/// (`bindings::v0_1`).
pub const SUPPORTED_VERSIONS: &[&str] = &["0.1.0", SUPPORTED_VERSION];
/// [`SUPPORTED_VERSIONS`] for messages.
pub const SUPPORTED_LIST: &str = "0.1.0 and 0.2.0";

/// Dirty bytes of a linear memory (and of a table) reset in place rather than decommitted when
/// a pool slot is released, where PAGEMAP_SCAN is available; at most this much stays resident
/// per warm slot.
const KEEP_RESIDENT_MEMORY_BYTES: usize = 1 << 20;
const KEEP_RESIDENT_TABLE_BYTES: usize = 64 << 10;

/// How to build a [`Runtime`].
#[derive(Debug, Clone, Default)]
pub struct RuntimeConfig {
    pub engine: EngineLimits,
    /// Per-call limits of a plugin whose manifest says nothing.
    pub defaults: Limits,
    /// Names plugins' outbound HTTP resolves from this table before DNS (as `curl --resolve`):
    /// for tests, and hosts without DNS. The private-address rule applies to them too.
    pub http_hosts: BTreeMap<String, Vec<IpAddr>>,
}

pub struct Runtime {
    engine: Engine,
    limits: EngineLimits,
    defaults: Limits,
    /// For plugins that may not reach private addresses, and for those that may.
    http_client: reqwest::Client,
    http_client_private: reqwest::Client,
    stop_ticker: Arc<AtomicBool>,
}

impl std::fmt::Debug for Runtime {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Runtime")
            .field("limits", &self.limits)
            .field("defaults", &self.defaults)
            .finish()
    }
}

impl Drop for Runtime {
    fn drop(&mut self) {
        self.stop_ticker.store(true, Ordering::Relaxed);
    }
}

impl Runtime {
    pub fn new(cfg: RuntimeConfig) -> wasmtime::Result<Arc<Runtime>> {
        let l = cfg.engine;
        cfg.defaults
            .check_within(&l)
            .map_err(wasmtime::Error::msg)?;
        let mut pool = PoolingAllocationConfig::new();
        pool.total_component_instances(l.max_concurrent_calls)
            .total_core_instances(l.max_concurrent_calls * l.max_core_instances_per_component)
            .max_core_instances_per_component(l.max_core_instances_per_component)
            .total_memories(l.max_concurrent_calls * 2)
            .max_memories_per_component(2)
            .total_tables(l.max_concurrent_calls * 4)
            .max_tables_per_component(8)
            .total_stacks(l.max_concurrent_calls)
            .max_memory_size(l.max_memory_bytes)
            .table_elements(l.max_table_elements);
        // Between calls a slot goes back to its pristine state. By default that is
        // madvise(DONTNEED) of everything the call touched: a TLB shootdown per call, and a page
        // fault on every page the next call touches again (most of a short call's cost, see
        // BENCHMARKS.md). With PAGEMAP_SCAN (Linux >= 6.7) wasmtime finds the pages the call
        // dirtied and copies them back from the image instead, up to `*_keep_resident` bytes
        // (anything beyond is still decommitted). The reset is as complete either way; only the
        // way it is done changes. Without the scan, keep-resident would memset the lowest bytes
        // blindly, so it stays off there.
        if PoolingAllocationConfig::is_pagemap_scan_available() {
            pool.pagemap_scan(Enabled::Yes)
                .linear_memory_keep_resident(KEEP_RESIDENT_MEMORY_BYTES)
                .table_keep_resident(KEEP_RESIDENT_TABLE_BYTES);
        }
        let mut config = Config::new();
        config
            .allocation_strategy(InstanceAllocationStrategy::Pooling(pool))
            .epoch_interruption(true)
            .max_wasm_stack(l.max_wasm_stack)
            .async_stack_size(l.max_wasm_stack + (1 << 20))
            .wasm_component_model(true);
        let engine = Engine::new(&config)?;

        let stop_ticker = Arc::new(AtomicBool::new(false));
        {
            let engine = engine.weak();
            let stop = stop_ticker.clone();
            let tick = l.epoch_tick;
            std::thread::Builder::new()
                .name("kolhost-plugin-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(tick);
                        match engine.upgrade() {
                            Some(e) => e.increment_epoch(),
                            None => break,
                        }
                    }
                })?;
        }
        let table = Arc::new(cfg.http_hosts.clone());
        let resolver = |allow_private| GuardedResolver {
            table: table.clone(),
            allow_private,
        };
        let http_client = HttpCapability::client(resolver(false)).map_err(wasmtime::Error::msg)?;
        let http_client_private =
            HttpCapability::client(resolver(true)).map_err(wasmtime::Error::msg)?;
        Ok(Arc::new(Runtime {
            engine,
            limits: l,
            defaults: cfg.defaults,
            http_client,
            http_client_private,
            stop_ticker,
        }))
    }

    pub fn engine(&self) -> &Engine {
        &self.engine
    }

    pub fn engine_limits(&self) -> &EngineLimits {
        &self.limits
    }

    pub fn default_limits(&self) -> &Limits {
        &self.defaults
    }

    /// Checks the component against its manifest, compiles it, pre-instantiates it with the
    /// granted imports only, and asks it to `describe` itself (with `env`): [`Runtime::check`],
    /// [`Runtime::compile_component`] and [`Runtime::instantiate`] in one, compiling on the
    /// calling thread (tests and benchmarks; the server compiles on its bounded pool).
    ///
    /// Errors name what is wrong: not wasm, a core module, an invalid component, a component for
    /// another world or another version of `kolhost:plugin`, an ungranted or unknown import,
    /// limits above the host's.
    pub async fn compile(
        &self,
        manifest: Manifest,
        bytes: &[u8],
        env: &CallEnv,
    ) -> Result<Plugin, LoadError> {
        let checked = self.check(&manifest, bytes)?;
        let component = self.compile_component(bytes)?;
        self.instantiate(manifest, checked, component, env).await
    }

    /// Everything that can be checked before compiling, in milliseconds: the manifest, its
    /// limits against the host's, and from the component's import and export names
    /// ([`component_info`](super::component_info)) that it is a component of the manifest's world
    /// and of a `kolhost:plugin` version this host runs, importing nothing beyond what plugins are
    /// offered (the plan of which imports link to refusing stubs is made here too).
    pub fn check(&self, manifest: &Manifest, bytes: &[u8]) -> Result<Checked, LoadError> {
        manifest.validate()?;
        let limits = self.defaults.with(&manifest.limits);
        limits
            .check_within(&self.limits)
            .map_err(LoadError::Limits)?;
        check_header(bytes)?;
        let info = super::component_info::read(bytes).map_err(LoadError::Invalid)?;
        let version = check_exports(&info, manifest.world)?;
        let imports = check_imports(info.imports.iter().map(String::as_str), manifest)?;
        Ok(Checked {
            limits,
            version,
            imports,
        })
    }

    /// Compiles a component with Cranelift: seconds for a large one, CPU-bound and blocking
    /// (the server runs it on its compile pool, `plugins::compiler`).
    pub fn compile_component(&self, bytes: &[u8]) -> Result<Component, LoadError> {
        Component::from_binary(&self.engine, bytes)
            .map_err(|e| LoadError::Invalid(format!("{e:#}")))
    }

    /// Pre-instantiates a compiled component that passed [`Runtime::check`] with the granted
    /// imports only, and asks it to `describe` itself (with `env`).
    pub async fn instantiate(
        &self,
        manifest: Manifest,
        checked: Checked,
        component: Component,
        env: &CallEnv,
    ) -> Result<Plugin, LoadError> {
        let Checked {
            limits,
            version,
            imports,
        } = checked;
        let mut linker: Linker<HostState> = Linker::new(&self.engine);
        wasmtime_wasi::p2::add_to_linker_async(&mut linker)
            .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
        for c in Capability::ALL {
            if manifest.grants(c) && manifest.world.allows(c) {
                capabilities::add_to_linker(&mut linker, c)
                    .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
            }
        }
        // In import order, so that a refused interface finds the resources it takes from an
        // earlier import.
        let mut earlier = Vec::new();
        for (name, import) in component.component_type().imports(&self.engine) {
            if let Some((_, why)) = imports.refused.iter().find(|(n, _)| n == name) {
                not_granted::link_refusing(
                    &mut linker,
                    &self.engine,
                    name,
                    &import.ty,
                    &earlier,
                    why,
                )
                .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
            }
            earlier.extend(not_granted::resources(&self.engine, &import.ty));
        }
        let pre = linker
            .instantiate_pre(&component)
            .map_err(|e| LoadError::Instantiate(format!("{e:#}")))?;
        let inst = |e: wasmtime::Error| LoadError::Instantiate(format!("{e:#}"));
        use super::bindings::{allocator, platform, v0_1};
        let compiled = match (manifest.world, version) {
            (World::Platform, "0.1.0") => {
                Compiled::PlatformV1(v0_1::platform::PlatformPre::new(pre).map_err(inst)?)
            }
            (World::Platform, _) => {
                Compiled::Platform(platform::PlatformPre::new(pre).map_err(inst)?)
            }
            (World::Allocator, "0.1.0") => {
                Compiled::AllocatorV1(v0_1::allocator::AllocatorPre::new(pre).map_err(inst)?)
            }
            (World::Allocator, _) => {
                Compiled::Allocator(allocator::AllocatorPre::new(pre).map_err(inst)?)
            }
        };
        let http = manifest.grants(Capability::Http).then(|| {
            let client = if manifest.allow_private_hosts {
                &self.http_client_private
            } else {
                &self.http_client
            };
            Arc::new(HttpCapability::new(
                client.clone(),
                &manifest.allowed_hosts,
                manifest.allow_private_hosts,
            ))
        });
        let mut plugin = Plugin::new(manifest, limits, compiled, http, imports.warnings);
        let info = plugin
            .describe(env)
            .await
            .map_err(|e| LoadError::Describe(Box::new(e)))?;
        plugin.set_info(info);
        Ok(plugin)
    }
}

/// A component that passed [`Runtime::check`]: its limits and the `kolhost:plugin` version it
/// targets.
#[derive(Debug)]
pub struct Checked {
    limits: Limits,
    version: &'static str,
    imports: ImportPlan,
}

fn check_header(bytes: &[u8]) -> Result<(), LoadError> {
    if bytes.len() < 8 || &bytes[0..4] != b"\0asm" {
        return Err(LoadError::NotWasm);
    }
    // Core modules: version 1, layer 0. Components: layer 1.
    match (
        bytes[4..6] == [1, 0],
        bytes[6..8] == [0, 0],
        bytes[6..8] == [1, 0],
    ) {
        (true, true, _) => Err(LoadError::CoreModule),
        (_, _, true) => Ok(()),
        _ => Err(LoadError::Invalid(format!(
            "unknown WebAssembly version/layer {:02x?}",
            &bytes[4..8]
        ))),
    }
}

/// Splits `kolhost:plugin/name@1.2.3` into (`name`, `1.2.3`).
fn kolhost_interface(name: &str) -> Option<(&str, &str)> {
    let rest = name.strip_prefix(PACKAGE)?.strip_prefix('/')?;
    Some(rest.split_once('@').unwrap_or((rest, "")))
}

/// Checks that the component exports the world's interface of a version this host runs;
/// answers that version.
fn check_exports(info: &ComponentInfo, world: World) -> Result<&'static str, LoadError> {
    let mut found = Vec::new();
    for name in &info.exports {
        if let Some((iface, version)) = kolhost_interface(name) {
            let Some(supported) = SUPPORTED_VERSIONS.iter().find(|v| **v == version) else {
                return Err(LoadError::UnsupportedVersion {
                    found: version.to_string(),
                    supported: SUPPORTED_LIST,
                });
            };
            if iface == world.export_interface() {
                return Ok(supported);
            }
        }
        found.push(name.to_string());
    }
    let found = if found.is_empty() {
        "exports nothing".to_string()
    } else {
        format!(
            "exports {} instead of {PACKAGE}/{}@{SUPPORTED_VERSION}",
            found
                .iter()
                .map(|n| format!("`{n}`"))
                .collect::<Vec<_>>()
                .join(", "),
            world.export_interface()
        )
    };
    Err(LoadError::WrongWorld {
        expected: world,
        found,
    })
}

/// How the imports of a component are satisfied beyond what every plugin gets (the granted
/// capabilities and the deny-all WASI context): the interfaces linked to refusing stubs, and
/// the warnings the upload's answer shows for them.
#[derive(Debug)]
struct ImportPlan {
    /// (import name, why its calls fail).
    refused: Vec<(String, String)>,
    warnings: Vec<String>,
}

/// The WASI packages every plugin is offered, through an empty context: no files, no
/// environment, no sockets, stdout discarded (wasmtime-wasi's p2 implementation, which also
/// takes components built against earlier 0.2 releases).
const WASI_OFFERED: &[&str] = &[
    "wasi:cli/",
    "wasi:clocks/",
    "wasi:filesystem/",
    "wasi:io/",
    "wasi:random/",
    "wasi:sockets/",
];

/// Plans the component's imports from their names: a granted capability is linked; one the
/// manifest does not grant, and `wasi:http` (plugins reach the network only through
/// `kolhost:plugin/http`), are linked to stubs that refuse every call, with a warning; WASI
/// beyond that, another package or an unknown `kolhost:plugin` interface refuse the component.
fn check_imports<'a>(
    imports: impl IntoIterator<Item = &'a str>,
    manifest: &Manifest,
) -> Result<ImportPlan, LoadError> {
    let mut plan = ImportPlan {
        refused: Vec::new(),
        warnings: Vec::new(),
    };
    for name in imports {
        let mut refuse = |why: String| {
            plan.warnings.push(format!(
                "the component imports `{name}`, {why}: its calls fail with `not granted`"
            ));
            plan.refused.push((name.to_string(), why));
        };
        if let Some((iface, version)) = kolhost_interface(name) {
            if !SUPPORTED_VERSIONS.contains(&version) {
                return Err(LoadError::UnsupportedVersion {
                    found: version.to_string(),
                    supported: SUPPORTED_LIST,
                });
            }
            match Capability::from_interface(iface) {
                Some(c) if manifest.grants(c) && manifest.world.allows(c) => {}
                Some(c) => {
                    let why = if manifest.world.allows(c) {
                        format!("which the manifest does not grant (add `{c}` to grants)")
                    } else {
                        format!("which the {} world cannot be granted", manifest.world)
                    };
                    refuse(why);
                }
                // Type-only interfaces of the package.
                None if matches!(iface, "types" | "platform-types" | "allocator-types") => {}
                None => return Err(LoadError::UnknownImport(name.to_string())),
            }
        } else if name.starts_with("wasi:http/") {
            refuse(
                "which no plugin is offered (outbound HTTP goes through kolhost:plugin/http, \
                 with the `http` grant)"
                    .to_string(),
            );
        } else if !WASI_OFFERED.iter().any(|p| name.starts_with(p)) {
            return Err(LoadError::UnknownImport(name.to_string()));
        }
    }
    Ok(plan)
}
