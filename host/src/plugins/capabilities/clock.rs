//! `kolhost:plugin/clock`: the host's wall clock.

use crate::plugins::bindings::platform::kolhost::plugin::clock;
use crate::plugins::state::HostState;
use wasmtime::component::{HasSelf, Linker};

pub fn add_to_linker(linker: &mut Linker<HostState>) -> wasmtime::Result<()> {
    clock::add_to_linker::<HostState, HasSelf<HostState>>(linker, |s| s)
}

impl clock::Host for HostState {
    fn now_ms(&mut self) -> wasmtime::Result<i64> {
        Ok(chrono::Utc::now().timestamp_millis())
    }
}
