//! `kolhost:plugin/kv`: key-value state private to each plugin. The host stores it through
//! [`KvStore`] (the database in the server); [`MemoryKv`] keeps it in memory (tests).
//!
//! A call's writes are buffered ([`KvWrites`]; its own reads see them) and applied in one go
//! when the call returns; a call that traps, times out, hits a limit or returns invalid output
//! leaves the state as it was. Quotas ([`Limits`](crate::plugins::Limits)' `kv_max_keys`,
//! `kv_max_bytes`, `kv_max_writes_per_call`) are checked at each write, which then fails with
//! an error the plugin sees. Calls running at the same time each check against the state they
//! started from, so together they can pass a quota by at most their own writes.

use crate::plugins::bindings::platform::kolhost::plugin::kv;
use crate::plugins::bindings::v0_1::platform::kolhost::plugin::kv as v1;
use crate::plugins::state::HostState;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;
use wasmtime::component::{HasSelf, Linker};

/// Longest key, in bytes.
pub const MAX_KEY_BYTES: usize = 256;
/// Largest value, in bytes.
pub const MAX_VALUE_BYTES: usize = 64 << 10;

#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct KvError(pub String);

/// Where plugin state is kept. Every operation is scoped by the plugin's name: a plugin can
/// never name another plugin's keys.
#[async_trait::async_trait]
pub trait KvStore: Send + Sync + 'static {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError>;
    async fn set(&self, plugin: &str, key: &str, value: Vec<u8>) -> Result<(), KvError>;
    async fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError>;
    /// Keys and bytes (keys and values) the plugin keeps.
    async fn usage(&self, plugin: &str) -> Result<KvUsage, KvError>;
    /// Applies one call's writes (`None` deletes) all together.
    async fn apply(
        &self,
        plugin: &str,
        writes: Vec<(String, Option<Vec<u8>>)>,
    ) -> Result<(), KvError>;
}

/// What a plugin keeps in its key-value state.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct KvUsage {
    pub keys: u64,
    pub bytes: u64,
}

/// The writes of one call, applied when it returns (see the module's documentation).
#[derive(Debug, Default)]
pub struct KvWrites {
    inner: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    writes: BTreeMap<String, Option<Vec<u8>>>,
    count: usize,
    usage: Option<KvUsage>,
}

impl KvWrites {
    /// Takes the buffered writes, leaving none.
    pub fn take(&self) -> Vec<(String, Option<Vec<u8>>)> {
        let mut p = self.inner.lock().unwrap();
        p.count = 0;
        std::mem::take(&mut p.writes).into_iter().collect()
    }

    /// The buffered value of `key`, if this call wrote it (`Some(None)`: deleted).
    fn get(&self, key: &str) -> Option<Option<Vec<u8>>> {
        self.inner.lock().unwrap().writes.get(key).cloned()
    }
}

/// An in-memory [`KvStore`].
#[derive(Debug, Default)]
pub struct MemoryKv {
    map: Mutex<HashMap<(String, String), Vec<u8>>>,
}

impl MemoryKv {
    pub fn new() -> MemoryKv {
        MemoryKv::default()
    }
}

#[async_trait::async_trait]
impl KvStore for MemoryKv {
    async fn get(&self, plugin: &str, key: &str) -> Result<Option<Vec<u8>>, KvError> {
        Ok(self
            .map
            .lock()
            .unwrap()
            .get(&(plugin.to_string(), key.to_string()))
            .cloned())
    }

    async fn set(&self, plugin: &str, key: &str, value: Vec<u8>) -> Result<(), KvError> {
        self.map
            .lock()
            .unwrap()
            .insert((plugin.to_string(), key.to_string()), value);
        Ok(())
    }

    async fn delete(&self, plugin: &str, key: &str) -> Result<(), KvError> {
        self.map
            .lock()
            .unwrap()
            .remove(&(plugin.to_string(), key.to_string()));
        Ok(())
    }

    async fn usage(&self, plugin: &str) -> Result<KvUsage, KvError> {
        let map = self.map.lock().unwrap();
        let mut u = KvUsage::default();
        for ((p, k), v) in map.iter() {
            if p == plugin {
                u.keys += 1;
                u.bytes += (k.len() + v.len()) as u64;
            }
        }
        Ok(u)
    }

    async fn apply(
        &self,
        plugin: &str,
        writes: Vec<(String, Option<Vec<u8>>)>,
    ) -> Result<(), KvError> {
        let mut map = self.map.lock().unwrap();
        for (k, v) in writes {
            let key = (plugin.to_string(), k);
            match v {
                Some(v) => map.insert(key, v),
                None => map.remove(&key),
            };
        }
        Ok(())
    }
}

/// Links `kv` of every version this host runs.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    kv::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    v1::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl v1::Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, String> {
        kv::Host::get(self, key).await
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        kv::Host::set(self, key, value).await
    }

    async fn delete(&mut self, key: String) -> Result<(), String> {
        kv::Host::delete(self, key).await
    }
}

fn check_key(key: &str) -> Result<(), String> {
    if key.is_empty() || key.len() > MAX_KEY_BYTES {
        return Err(format!("keys are 1 to {MAX_KEY_BYTES} bytes"));
    }
    Ok(())
}

impl HostState {
    /// Buffers a write after checking the call's write count and the plugin's quotas.
    async fn write(&mut self, key: String, value: Option<Vec<u8>>) -> Result<(), String> {
        check_key(&key)?;
        let limits = self.limiter.limits;
        if self.env.writes.inner.lock().unwrap().count >= limits.kv_max_writes_per_call {
            return Err(format!(
                "kv quota: at most {} writes per call",
                limits.kv_max_writes_per_call
            ));
        }
        let old = match self.env.writes.get(&key) {
            Some(v) => v,
            None => self.env.kv.get(&self.plugin, &key).await.map_err(|e| e.0)?,
        };
        let cached = self.env.writes.inner.lock().unwrap().usage;
        let usage = match cached {
            Some(u) => u,
            None => self.env.kv.usage(&self.plugin).await.map_err(|e| e.0)?,
        };
        let size = |v: &Option<Vec<u8>>| v.as_ref().map_or(0, |v| (key.len() + v.len()) as u64);
        let keys = usage.keys + u64::from(old.is_none() && value.is_some())
            - u64::from(old.is_some() && value.is_none());
        let bytes = (usage.bytes + size(&value)).saturating_sub(size(&old));
        if value.is_some() && keys > limits.kv_max_keys as u64 {
            return Err(format!("kv quota: at most {} keys", limits.kv_max_keys));
        }
        if value.is_some() && bytes > limits.kv_max_bytes as u64 && bytes > usage.bytes {
            return Err(format!("kv quota: at most {} bytes", limits.kv_max_bytes));
        }
        let mut p = self.env.writes.inner.lock().unwrap();
        p.usage = Some(KvUsage { keys, bytes });
        p.count += 1;
        p.writes.insert(key, value);
        Ok(())
    }
}

impl kv::Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, String> {
        check_key(&key)?;
        if let Some(v) = self.env.writes.get(&key) {
            return Ok(v);
        }
        self.env.kv.get(&self.plugin, &key).await.map_err(|e| e.0)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        check_key(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!("values are at most {MAX_VALUE_BYTES} bytes"));
        }
        self.write(key, Some(value)).await
    }

    async fn delete(&mut self, key: String) -> Result<(), String> {
        self.write(key, None).await
    }
}
