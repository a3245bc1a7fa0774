//! The errors of the plugin runtime. [`LoadError`] refuses a component (HTTP 422 later);
//! [`CallError`] fails one call and says why.

use super::bindings::PluginError;
use super::manifest::{ManifestError, World};
use std::time::Duration;

/// Why a component was refused. Nothing is changed when a load fails.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    #[error(transparent)]
    Manifest(#[from] ManifestError),
    #[error("not a WebAssembly binary (no `\\0asm` header)")]
    NotWasm,
    #[error(
        "this is a core WebAssembly module, not a component; build for wasm32-wasip2 or run `wasm-tools component new`"
    )]
    CoreModule,
    #[error("the component is invalid: {0}")]
    Invalid(String),
    #[error(
        "the component targets kolhost:plugin@{found}; this host runs kolhost:plugin@{supported}"
    )]
    UnsupportedVersion {
        found: String,
        supported: &'static str,
    },
    #[error("the manifest says world `{expected}` but the component {found}")]
    WrongWorld { expected: World, found: String },
    #[error(
        "the component imports `{0}`, which this host does not offer (plugins get the \
         kolhost:plugin interfaces and WASI 0.2's cli, clocks, filesystem, io, random and \
         sockets, with no files, environment or network)"
    )]
    UnknownImport(String),
    #[error("limits: {0}")]
    Limits(String),
    #[error("the component cannot be instantiated: {0}")]
    Instantiate(String),
    #[error("plugin `{name}` already has version {version}")]
    VersionExists { name: String, version: String },
    #[error("describe() failed: {0}")]
    Describe(Box<CallError>),
    /// Another component is being compiled (one at a time); retry shortly.
    #[error("another plugin component is being compiled; retry in a few seconds")]
    Busy,
}

/// Why one call failed. The host and the other plugins carry on.
#[derive(Debug, thiserror::Error)]
pub enum CallError {
    #[error("no plugin named `{0}`")]
    NotFound(String),
    #[error("plugin `{0}` is disabled")]
    Disabled(String),
    #[error(
        "plugin `{name}` is quarantined ({reason}); one retry is let through from {retry_at}, and an admin or integrator may lift it by enabling the plugin"
    )]
    Quarantined {
        name: String,
        reason: String,
        retry_at: String,
    },
    #[error("plugin `{name}` is a {world} plugin")]
    WrongWorld { name: String, world: World },
    #[error("the call ran past its deadline of {0:?}")]
    Timeout(Duration),
    #[error("the plugin exceeded its memory limit of {limit} bytes")]
    MemoryExhausted { limit: usize },
    #[error("the plugin exceeded a table limit of {limit} elements")]
    TableExhausted { limit: usize },
    #[error("the plugin overflowed its stack (too deep recursion)")]
    StackOverflow,
    #[error("the plugin trapped: {0}")]
    Trap(String),
    /// `size` is the output's JSON size; none when the host stopped reading it, before
    /// copying, at its [`lift_budget`](super::Limits::lift_budget).
    #[error("{}", output_too_large(*.size, *.limit))]
    OutputTooLarge { size: Option<usize>, limit: usize },
    #[error(
        "the plugin passed more than {budget} bytes to one host call; the host stopped reading them"
    )]
    HostCallTooLarge { budget: usize },
    /// The plugin called an import it is not granted (the message says which, and how to
    /// grant it).
    #[error("{0}")]
    NotGranted(String),
    #[error("the plugin returned invalid output: {0}")]
    InvalidOutput(String),
    #[error("all plugin instance slots are busy; retry")]
    Busy,
    #[error("the plugin answered an error: {0}")]
    Plugin(PluginError),
    #[error("host error: {0}")]
    Host(String),
}

impl CallError {
    /// Whether this is a fault of the plugin (trap, timeout, limit, invalid output), which
    /// counts toward quarantine. An error the plugin returns (`err(..)`) is an answer, not a
    /// fault.
    pub fn is_fault(&self) -> bool {
        matches!(
            self,
            CallError::Timeout(_)
                | CallError::MemoryExhausted { .. }
                | CallError::TableExhausted { .. }
                | CallError::StackOverflow
                | CallError::Trap(_)
                | CallError::OutputTooLarge { .. }
                | CallError::HostCallTooLarge { .. }
                | CallError::NotGranted(_)
                | CallError::InvalidOutput(_)
        )
    }

    /// A short label for metrics.
    pub fn kind(&self) -> &'static str {
        match self {
            CallError::NotFound(_) => "not_found",
            CallError::Disabled(_) => "disabled",
            CallError::Quarantined { .. } => "quarantined",
            CallError::WrongWorld { .. } => "wrong_world",
            CallError::Timeout(_) => "timeout",
            CallError::MemoryExhausted { .. } => "memory",
            CallError::TableExhausted { .. } => "table",
            CallError::StackOverflow => "stack_overflow",
            CallError::Trap(_) => "trap",
            CallError::OutputTooLarge { .. } => "output_too_large",
            CallError::HostCallTooLarge { .. } => "host_call_too_large",
            CallError::NotGranted(_) => "not_granted",
            CallError::InvalidOutput(_) => "invalid_output",
            CallError::Busy => "busy",
            CallError::Plugin(_) => "plugin_error",
            CallError::Host(_) => "host",
        }
    }
}

fn output_too_large(size: Option<usize>, limit: usize) -> String {
    match size {
        Some(size) => format!("the plugin's output is {size} bytes, above its limit of {limit}"),
        None => format!(
            "the plugin's output is too large: above its limit of {limit} bytes, it was \
             refused while the host read it, before it was copied"
        ),
    }
}
