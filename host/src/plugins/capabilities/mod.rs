//! The capabilities a plugin can be granted, one file each. Each offers `add_to_linker`, and the
//! runtime links only those the manifest grants: an ungranted import is linked to stubs that
//! refuse every call ([`not_granted`]).

pub mod clock;
pub mod config;
pub mod hosts;
pub mod http;
pub mod kv;
pub mod log;
pub mod not_granted;

use super::manifest::Capability;
use super::state::HostState;
use wasmtime::component::Linker;

/// Links one capability's host functions.
pub fn add_to_linker(linker: &mut Linker<HostState>, c: Capability) -> wasmtime::Result<()> {
    match c {
        Capability::Log => log::add_to_linker(linker),
        Capability::Config => config::add_to_linker(linker),
        Capability::Clock => clock::add_to_linker(linker),
        Capability::Kv => kv::add_to_linker(linker),
        Capability::Http => http::add_to_linker(linker),
    }
}
