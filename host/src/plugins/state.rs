//! What a [`Store`](wasmtime::Store) carries during one call: the plugin's identity and
//! settings, its capabilities, a sandboxed WASI context (no files, no network, no environment:
//! only what Rust's std needs), and the resource limiter.

use super::capabilities::http::HttpCapability;
use super::capabilities::kv::{KvStore, KvWrites};
use super::limits::Limits;
use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Instant;
use wasmtime::ResourceLimiter;
use wasmtime::component::ResourceTable;
use wasmtime_wasi::p2::pipe::MemoryOutputPipe;
use wasmtime_wasi::{WasiCtx, WasiCtxView, WasiView};

/// Config values and secrets of one plugin, set by an admin.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Settings {
    pub config: BTreeMap<String, String>,
    pub secrets: BTreeMap<String, String>,
}

/// What the host hands a plugin call: its settings, the key-value store, and the call's
/// buffered key-value writes (applied by the registry when the call returns).
#[derive(Clone)]
pub struct CallEnv {
    pub settings: Arc<Settings>,
    pub kv: Arc<dyn KvStore>,
    pub writes: Arc<KvWrites>,
}

/// Which limit stopped the plugin, recorded by the limiter so the error can say so.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Exceeded {
    Memory,
    Table,
}

/// A [`ResourceLimiter`] that records which limit was hit, and makes hitting it a trap
/// (rather than a failed `memory.grow` the guest could ignore).
pub struct Limiter {
    pub limits: Limits,
    pub exceeded: Option<Exceeded>,
}

impl ResourceLimiter for Limiter {
    fn memory_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.max_memory_bytes {
            self.exceeded = Some(Exceeded::Memory);
            return Err(wasmtime::Error::msg(format!(
                "memory limit of {} bytes exceeded",
                self.limits.max_memory_bytes
            )));
        }
        Ok(true)
    }

    fn table_growing(
        &mut self,
        _current: usize,
        desired: usize,
        _maximum: Option<usize>,
    ) -> wasmtime::Result<bool> {
        if desired > self.limits.max_table_elements {
            self.exceeded = Some(Exceeded::Table);
            return Err(wasmtime::Error::msg(format!(
                "table limit of {} elements exceeded",
                self.limits.max_table_elements
            )));
        }
        Ok(true)
    }

    fn instances(&self) -> usize {
        self.limits.max_instances
    }

    fn tables(&self) -> usize {
        self.limits.max_instances * 4
    }

    fn memories(&self) -> usize {
        self.limits.max_instances
    }
}

/// Bytes of stderr kept per call (a panic message lands there).
pub const STDERR_CAPTURE_BYTES: usize = 4096;

pub struct HostState {
    pub plugin: Arc<str>,
    pub env: CallEnv,
    pub http: Option<Arc<HttpCapability>>,
    pub limiter: Limiter,
    pub started: Instant,
    pub timed_out: bool,
    pub log_lines: u32,
    pub stderr: MemoryOutputPipe,
    wasi: WasiCtx,
    table: ResourceTable,
}

impl HostState {
    pub fn new(
        plugin: Arc<str>,
        env: CallEnv,
        http: Option<Arc<HttpCapability>>,
        limits: Limits,
    ) -> HostState {
        let stderr = MemoryOutputPipe::new(STDERR_CAPTURE_BYTES);
        // No preopens, no env, no args, stdin closed, stdout discarded, no sockets.
        let wasi = WasiCtx::builder()
            .stderr(stderr.clone())
            .allow_tcp(false)
            .allow_udp(false)
            .build();
        HostState {
            plugin,
            env,
            http,
            limiter: Limiter {
                limits,
                exceeded: None,
            },
            started: Instant::now(),
            timed_out: false,
            log_lines: 0,
            stderr,
            wasi,
            table: ResourceTable::new(),
        }
    }

    /// Time left before the call's deadline.
    pub fn remaining(&self) -> std::time::Duration {
        self.limiter
            .limits
            .timeout
            .saturating_sub(self.started.elapsed())
    }

    /// What the plugin wrote to stderr (e.g. its panic message), lossy UTF-8, trimmed.
    pub fn stderr_text(&self) -> String {
        String::from_utf8_lossy(&self.stderr.contents())
            .trim()
            .to_string()
    }
}

impl WasiView for HostState {
    fn ctx(&mut self) -> WasiCtxView<'_> {
        WasiCtxView {
            ctx: &mut self.wasi,
            table: &mut self.table,
        }
    }
}
