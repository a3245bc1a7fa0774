//! The WASM plugin runtime (design §5): WebAssembly components targeting the WIT package
//! `kolhost:plugin@0.2.0` (`plugins/wit/since_v0.2.0/`), or the frozen `0.1.0`
//! (`since_v0.1.0/`) through its adapter ([`bindings::v0_1`]).
//!
//! - [`Runtime`]: the wasmtime engine, built once (pooling allocator, epoch interruption).
//!   [`Runtime::compile`] checks a component (a component, not a core module; the manifest's
//!   world; a supported version; no import beyond what plugins are offered), links what the
//!   manifest grants, links what it does not grant (and `wasi:http`) to stubs that refuse every
//!   call ([`capabilities::not_granted`]), and pre-instantiates it.
//! - [`Registry`]: named plugins with versions (the active and the previously active one
//!   compiled in memory, the others on demand); load, enable, disable, rollback, activate,
//!   settings (config and secrets), calls, stats, Prometheus text.
//! - [`component_info`]: a component's import and export names, read before compiling.
//! - `compiler` / [`ArtifactCache`]: one compile at a time on a blocking thread; compiled
//!   components kept on disk by content hash and engine.
//! - [`Manifest`]: name, version, world, grants, allowed hosts, limits.
//! - [`Limits`] / [`EngineLimits`]: the bounds of every call, as types.
//! - [`capabilities`]: one file per host capability (`log`, `config`, `clock`, `kv`, `http`).
//! - [`CallError`] / [`LoadError`]: why a call failed, why a load was refused.
//!
//! Every call runs in a fresh store from the pre-instantiated component, bounded by a deadline
//! (epoch interruption), a memory and table limiter, the WASM stack limit and an output-size
//! cap, held while the result is lifted, before it is copied ([`Limits::lift_budget`]); the
//! host checks the output. A plugin failing `quarantine_after` calls in a row is
//! quarantined (persisted through a [`QuarantineStore`]) until [`Registry::enable`] or a
//! successful half-open retry after a back-off.

pub mod artifacts;
pub mod bindings;
mod cache;
pub mod capabilities;
mod compiler;
pub mod component_info;
mod error;
mod limits;
mod manifest;
mod plugin;
mod quarantine;
mod registry;
mod runtime;
mod state;
mod stats;

pub use bindings::{
    Account, AllocateInput, Allocation, Assignment, Contract, Delivery, Event, EventBody, Kol,
    LiveStats, OrderNotice, OrderPaid, OrderRefunded, OrderSettled, OrderStatus, Parsed,
    PluginError, PluginInfo, PollResult, Product, ProductRole, Reply, Session, Tier,
};
pub use cache::ArtifactCache;
pub use capabilities::http::HttpCapability;
pub use capabilities::kv::{KvError, KvStore, KvUsage, KvWrites, MemoryKv};
pub use compiler::{CompileStats, Wait};
pub use error::{CallError, LoadError};
pub use limits::{EngineLimits, Limits, LimitsOverride};
pub use manifest::{Capability, Manifest, ManifestError, World};
pub use plugin::{Plugin, json_size, validate_events};
pub use quarantine::{MemoryQuarantine, Quarantine, QuarantineStore, redact};
pub use registry::{
    PluginStatus, Prepared, Registry, RegistryConfig, RegistryError, StoredVersion,
};
pub use runtime::{
    Checked, PACKAGE, Runtime, RuntimeConfig, SUPPORTED_LIST, SUPPORTED_VERSION, SUPPORTED_VERSIONS,
};
pub use state::{CallEnv, Settings};
pub use stats::{Outcome, StatsSnapshot};
