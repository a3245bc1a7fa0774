//! `kolhost:plugin/config`: the plugin's own config values and secrets (a snapshot taken when
//! the call starts, so a call sees one consistent set).

use crate::plugins::bindings::platform::kolhost::plugin::config;
use crate::plugins::bindings::v0_1::platform::kolhost::plugin::config as v1;
use crate::plugins::state::HostState;
use wasmtime::component::{HasSelf, Linker};

/// Links `config` of every version this host runs.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    config::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    v1::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl v1::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        config::Host::get(self, key)
    }

    fn get_secret(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        config::Host::get_secret(self, key)
    }
}

impl config::Host for HostState {
    fn get(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.env.settings.config.get(&key).cloned())
    }

    fn get_secret(&mut self, key: String) -> wasmtime::Result<Option<String>> {
        Ok(self.env.settings.secrets.get(&key).cloned())
    }
}
