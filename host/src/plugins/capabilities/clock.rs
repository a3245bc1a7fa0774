//! `kolhost:plugin/clock`: the host's wall clock.

use crate::plugins::bindings::platform::kolhost::plugin::clock;
use crate::plugins::bindings::v0_1::platform::kolhost::plugin::clock as v1;
use crate::plugins::state::HostState;
use wasmtime::component::{HasSelf, Linker};

/// Links `clock` of every version this host runs.
pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    clock::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)?;
    v1::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl v1::Host for HostState {
    fn now_ms(&mut self) -> wasmtime::Result<i64> {
        clock::Host::now_ms(self)
    }
}

impl clock::Host for HostState {
    fn now_ms(&mut self) -> wasmtime::Result<i64> {
        Ok(chrono::Utc::now().timestamp_millis())
    }
}
