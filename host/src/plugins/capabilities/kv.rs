//! `kolhost:plugin/kv`: key-value state private to each plugin. The host stores it through
//! [`KvStore`] (the database later); [`MemoryKv`] keeps it in memory (tests, single node).

use crate::plugins::bindings::platform::kolhost::plugin::kv;
use crate::plugins::bindings::v0_1::platform::kolhost::plugin::kv as v1;
use crate::plugins::state::HostState;
use std::collections::HashMap;
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

impl kv::Host for HostState {
    async fn get(&mut self, key: String) -> Result<Option<Vec<u8>>, String> {
        check_key(&key)?;
        self.env.kv.get(&self.plugin, &key).await.map_err(|e| e.0)
    }

    async fn set(&mut self, key: String, value: Vec<u8>) -> Result<(), String> {
        check_key(&key)?;
        if value.len() > MAX_VALUE_BYTES {
            return Err(format!("values are at most {MAX_VALUE_BYTES} bytes"));
        }
        self.env
            .kv
            .set(&self.plugin, &key, value)
            .await
            .map_err(|e| e.0)
    }

    async fn delete(&mut self, key: String) -> Result<(), String> {
        check_key(&key)?;
        self.env
            .kv
            .delete(&self.plugin, &key)
            .await
            .map_err(|e| e.0)
    }
}
