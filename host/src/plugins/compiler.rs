//! The compile pool: Cranelift compiles one component at a time, on a blocking thread, never
//! on the server's async workers; a component compiled before is read from the disk cache
//! ([`ArtifactCache`]) instead. Uploads do not queue: one arriving while a compile runs is
//! refused at once ([`LoadError::Busy`], a 503 with `Retry-After`), so a burst of large uploads
//! holds neither threads nor memory waiting. The host's own loads (start-up, another host's
//! change, a rollback to a version not in memory) wait their turn.

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

    /// The compiled component of `bytes` (whose SHA-256 is `sha256`): from the cache, else
    /// compiled on the pool (and cached). Cancelling the caller does not cancel a compile in
    /// progress: the slot stays taken until the compile ends.
    pub async fn component(
        &self,
        bytes: Arc<Vec<u8>>,
        sha256: &str,
        wait: Wait,
    ) -> Result<Component, LoadError> {
        if let Some(cache) = self.cache.clone() {
            let (engine, sha) = (self.runtime.engine().clone(), sha256.to_owned());
            let hit = tokio::task::spawn_blocking(move || cache.load(&engine, &sha))
                .await
                .ok()
                .flatten();
            if let Some(component) = hit {
                self.stats.cache_hits.fetch_add(1, Ordering::Relaxed);
                return Ok(component);
            }
        }
        let permit = match wait {
            Wait::Queue => self.slot.clone().acquire_owned().await.ok(),
            Wait::Refuse => self.slot.clone().try_acquire_owned().ok(),
        }
        .ok_or(LoadError::Busy)?;
        let (runtime, cache, stats, sha) = (
            self.runtime.clone(),
            self.cache.clone(),
            self.stats.clone(),
            sha256.to_owned(),
        );
        tokio::task::spawn_blocking(move || {
            let _permit = permit;
            stats.running.fetch_add(1, Ordering::SeqCst);
            let compiled = runtime.compile_component(&bytes);
            stats.running.fetch_sub(1, Ordering::SeqCst);
            stats.compiled.fetch_add(1, Ordering::Relaxed);
            if let (Ok(component), Some(cache)) = (&compiled, &cache) {
                cache.store(&sha, component);
            }
            compiled
        })
        .await
        .map_err(|e| LoadError::Instantiate(format!("the compile task failed: {e}")))?
    }
}
