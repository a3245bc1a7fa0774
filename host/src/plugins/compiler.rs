//! The compile pool: Cranelift compiles one component at a time, on a thread of its own, never
//! on the server's async workers; a component compiled before is read from the disk cache
//! ([`ArtifactCache`]) instead. Uploads do not queue: one arriving while a compile runs is
//! refused at once ([`LoadError::Busy`], a 503 with `Retry-After`), so a burst of large uploads
//! holds neither threads nor memory waiting. The host's own loads (start-up, another host's
//! change, a rollback to a version not in memory) wait their turn.
//!
//! Compiling takes every core it can (Cranelift compiles functions in parallel on rayon's
//! global pool); on Linux those threads, and the blocking thread while it compiles, run at a
//! lower priority (nice 10), so requests, webhooks and commits come first and the compile gets
//! what is left.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use tokio::sync::Semaphore;
use wasmtime::component::Component;

use super::cache::ArtifactCache;
use super::error::LoadError;
use super::runtime::Runtime;

/// What a load does when a compile is already running.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Wait {
    /// Wait for it (the host's own loads).
    Queue,
    /// Refuse with [`LoadError::Busy`] (uploads).
    Refuse,
}

/// Figures for `/metrics`.
#[derive(Debug, Default)]
pub struct CompileStats {
    /// Compiles running now (0 or 1).
    pub running: AtomicU64,
    /// Compiles done (not counting cache hits).
    pub compiled: AtomicU64,
    /// Components read from the disk cache.
    pub cache_hits: AtomicU64,
}

pub struct Compiler {
    runtime: Arc<Runtime>,
    cache: Option<Arc<ArtifactCache>>,
    slot: Arc<Semaphore>,
    stats: Arc<CompileStats>,
}

impl Compiler {
    pub fn new(runtime: Arc<Runtime>) -> Compiler {
        yielding_compile_threads();
        Compiler {
            runtime,
            cache: None,
            slot: Arc::new(Semaphore::new(1)),
            stats: Arc::default(),
        }
    }

    pub fn with_cache(mut self, cache: ArtifactCache) -> Compiler {
        self.cache = Some(Arc::new(cache));
        self
    }

    pub fn stats(&self) -> &CompileStats {
        &self.stats
    }

    /// The compiled component of the bytes with digest `sha256` from the disk cache, if there.
    async fn cached(&self, sha256: &str) -> Option<Component> {
        let cache = self.cache.clone()?;
        let (engine, sha) = (self.runtime.engine().clone(), sha256.to_owned());
        let hit = tokio::task::spawn_blocking(move || cache.load(&engine, &sha))
            .await
            .ok()
            .flatten();
        if hit.is_some() {
            self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
        }
        hit
    }

    /// The compiled component of `bytes` (whose SHA-256 is `sha256`): from the cache, else
    /// compiled on the pool (and cached). Cancelling the caller does not cancel a compile in
    /// progress: the slot stays taken until the compile ends.
    pub async fn component(
        &self,
        bytes: Arc<Vec<u8>>,
        sha256: &str,
        wait: Wait,
    ) -> Result<Component, LoadError> {
        if let Some(component) = self.cached(sha256).await {
            return Ok(component);
        }
        let permit = match wait {
            Wait::Queue => self.slot.clone().acquire_owned().await.ok(),
            Wait::Refuse => self.slot.clone().try_acquire_owned().ok(),
        }
        .ok_or(LoadError::Busy)?;
        // The compile waited for may have been of the same bytes.
        if wait == Wait::Queue
            && let Some(component) = self.cached(sha256).await
        {
            return Ok(component);
        }
        let (runtime, cache, stats, sha) = (
            self.runtime.clone(),
            self.cache.clone(),
            self.stats.clone(),
            sha256.to_owned(),
        );
        // A thread of its own, so its lower priority ends with it.
        let (done, result) = tokio::sync::oneshot::channel();
        std::thread::Builder::new()
            .name("kolhost-compile".into())
            .spawn(move || {
                let _permit = permit;
                yield_to_the_server();
                stats.running.fetch_add(1, Ordering::SeqCst);
                let compiled = runtime.compile_component(&bytes);
                stats.running.fetch_sub(1, Ordering::SeqCst);
                stats.compiled.fetch_add(1, Ordering::Relaxed);
                if let (Ok(component), Some(cache)) = (&compiled, &cache) {
                    cache.store(&sha, component);
                }
                let _ = done.send(compiled);
            })
            .map_err(|e| LoadError::Instantiate(format!("no compile thread: {e}")))?;
        result.await.map_err(|_| {
            LoadError::Instantiate("the compile thread ended without a result".into())
        })?
    }
}

/// The nice value of compile threads: below the server's threads, above idle.
#[cfg(target_os = "linux")]
const COMPILE_NICE: libc::c_int = 10;

/// Builds rayon's global pool (where wasmtime compiles functions in parallel) with threads that
/// yield to the server, once per process; nothing when another part of the process built it
/// first.
fn yielding_compile_threads() {
    static ONCE: std::sync::Once = std::sync::Once::new();
    ONCE.call_once(|| {
        let built = rayon::ThreadPoolBuilder::new()
            .thread_name(|i| format!("kolhost-compile-{i}"))
            .start_handler(|_| yield_to_the_server())
            .build_global();
        if let Err(e) = built {
            tracing::debug!(error = %e, "rayon's global pool was built elsewhere; compiles run at normal priority");
        }
    });
}

/// Lowers the calling thread's priority to [`COMPILE_NICE`] for good (Linux: the nice value is
/// per thread, and `who = 0` is the calling thread). Elsewhere nothing: there it would apply to
/// the whole process.
fn yield_to_the_server() {
    #[cfg(target_os = "linux")]
    // SAFETY: setpriority only sets the calling thread's nice value; no memory is passed.
    unsafe {
        libc::setpriority(libc::PRIO_PROCESS, 0, COMPILE_NICE);
    }
}
