//! Previews answered from memory when nothing they depend on changed.
//!
//! A preview is a function of the script's source, its chunk name, the `ctx` and the limits:
//! each run gets a fresh state and a fixed random seed. The one way a script can see anything
//! else is the clock (`kolhost.now`, `kolhost.clock`); a run that read it is not kept. So the
//! same dry run on the same data, repeated while ops staff tune a promotion, answers at once.
//!
//! The key is a SHA-256 over all of the inputs; entries are few (each can hold a large
//! result), the oldest used goes first.

use std::collections::HashMap;
use std::io::Write;
use std::sync::{Arc, LazyLock, Mutex};

use sha2::{Digest, Sha256};

use crate::domain::allocation::AllocationContext;

use super::limits::ScriptLimits;
use super::runtime::Preview;

/// How many previews are kept.
const ENTRIES: usize = 8;
/// Results larger than this are not kept (memory over speed).
const MAX_ASSIGNMENTS: usize = 250_000;

pub(crate) type Key = [u8; 32];

/// The cache key of one run.
pub(crate) fn key(source: &str, name: &str, ctx: &AllocationContext, limits: &ScriptLimits) -> Key {
    struct HashWriter<'a>(&'a mut Sha256);
    impl Write for HashWriter<'_> {
        fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
            self.0.update(buf);
            Ok(buf.len())
        }
        fn flush(&mut self) -> std::io::Result<()> {
            Ok(())
        }
    }
    let mut h = Sha256::new();
    for part in [source.as_bytes(), name.as_bytes()] {
        h.update((part.len() as u64).to_le_bytes());
        h.update(part);
    }
    // Serialising into the hash directly: no copy of a large ctx is built.
    let mut w = HashWriter(&mut h);
    serde_json::to_writer(&mut w, ctx).expect("a ctx always serialises");
    serde_json::to_writer(&mut w, limits).expect("limits always serialise");
    h.finalize().into()
}

#[derive(Default)]
struct Entries {
    map: HashMap<Key, (u64, Arc<Preview>)>,
    tick: u64,
}

/// The process's preview cache.
pub(crate) struct PreviewCache {
    entries: Mutex<Entries>,
}

impl PreviewCache {
    pub(crate) fn new() -> Self {
        Self {
            entries: Mutex::new(Entries::default()),
        }
    }

    pub(crate) fn get(&self, key: &Key) -> Option<Arc<Preview>> {
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.tick += 1;
        let tick = e.tick;
        let (used, preview) = e.map.get_mut(key)?;
        *used = tick;
        Some(preview.clone())
    }

    pub(crate) fn put(&self, key: Key, preview: Arc<Preview>) {
        if preview.result.assignments.len() > MAX_ASSIGNMENTS {
            return;
        }
        let mut e = self.entries.lock().unwrap_or_else(|p| p.into_inner());
        e.tick += 1;
        let tick = e.tick;
        if e.map.len() >= ENTRIES && !e.map.contains_key(&key) {
            let oldest = e
                .map
                .iter()
                .min_by_key(|(_, (used, _))| *used)
                .map(|(k, _)| *k);
            if let Some(k) = oldest {
                e.map.remove(&k);
            }
        }
        e.map.insert(key, (tick, preview));
    }
}

/// The one cache of this process.
pub(crate) static PREVIEWS: LazyLock<PreviewCache> = LazyLock::new(PreviewCache::new);
