//! Imports a plugin is not granted, linked to stubs that refuse every call.
//!
//! Toolchains other than Rust's import every interface of the world they build for
//! (componentize-py imports all five `kolhost:plugin` host interfaces, componentize-js
//! `wasi:http`), whether or not the plugin calls them. Such a component still loads: each
//! interface its manifest does not grant (and `wasi:http`, which no plugin is offered) is
//! linked to functions that fail the call with a [`NotGranted`] error naming the function and
//! the grant that would allow it, and the upload's answer lists the interface as a warning.

use crate::plugins::state::HostState;
use wasmtime::Engine;
use wasmtime::component::types::ComponentItem;
use wasmtime::component::{Linker, ResourceType};

/// A call to an import the plugin may not use. The call fails with this error (the plugin's
/// fault, like a trap).
#[derive(Debug, Clone, thiserror::Error)]
#[error("not granted: the plugin called `{function}`, {why}")]
pub struct NotGranted {
    /// `interface#function`, e.g. `kolhost:plugin/kv@0.2.0#get`.
    pub function: String,
    /// Why, and what would allow it.
    pub why: String,
}

/// The host's representation of a resource of a refused interface (never created: every
/// function that could make one refuses).
struct Refused;

/// Links every function of the imported instance `import` (of type `item`) to a stub failing
/// with [`NotGranted`] saying `why`; its own resources get a type no call ever produces. A
/// resource it takes from an earlier import (`wasi:http/types` uses `wasi:io/streams`'
/// `input-stream`), one of `earlier`, is that import's and needs no definition.
pub fn link_refusing(
    linker: &mut Linker<HostState>,
    engine: &Engine,
    import: &str,
    item: &ComponentItem,
    earlier: &[ResourceType],
    why: &str,
) -> wasmtime::Result<()> {
    let ComponentItem::ComponentInstance(instance) = item else {
        wasmtime::bail!("`{import}` is not an interface");
    };
    let mut inst = linker.instance(import)?;
    for (name, export) in instance.exports(engine) {
        match export.ty {
            ComponentItem::ComponentFunc(_) => {
                let refusal = NotGranted {
                    function: format!("{import}#{name}"),
                    why: why.to_owned(),
                };
                inst.func_new(name, move |_, _, _, _| Err(refusal.clone().into()))?;
            }
            ComponentItem::Resource(r) if !earlier.contains(&r) => {
                inst.resource(name, ResourceType::host::<Refused>(), |_, _| Ok(()))?;
            }
            // Types need no definition; an interface exports nothing else.
            _ => {}
        }
    }
    Ok(())
}

/// The resources an imported instance of type `item` exports.
pub fn resources(engine: &Engine, item: &ComponentItem) -> Vec<ResourceType> {
    match item {
        ComponentItem::ComponentInstance(instance) => instance
            .exports(engine)
            .filter_map(|(_, e)| match e.ty {
                ComponentItem::Resource(r) => Some(r),
                _ => None,
            })
            .collect(),
        _ => Vec::new(),
    }
}
