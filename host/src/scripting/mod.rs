//! Lua allocation strategies (design §6): a sandboxed runtime with a memory cap, an instruction
//! budget and a wall-clock deadline; strict conversion of `ctx` and of the result; the bundled
//! strategies; a fixture runner for ops; and the pyramid algorithm in Rust for comparison.
//!
//! The HTTP layer calls [`preview_async`] (or [`preview`] on a blocking thread) with the script
//! source, its name, an [`AllocationContext`](crate::domain::allocation::AllocationContext) and
//! [`ScriptLimits`]; it answers a [`Preview`] whose `result` is the API body, or a
//! [`ScriptError`].

mod cache;
mod convert;
mod ctx_tables;
mod error;
mod fast_read;
mod limits;
mod runtime;
mod sandbox;
mod watchdog;

pub mod bundled;
pub mod native_pyramid;
pub mod report;
pub mod synthetic;

pub use error::ScriptError;
pub use limits::ScriptLimits;
pub use report::{Report, test_script};
pub use runtime::{
    Preview, RunOutput, RunStats, check_syntax, preview, preview_async, run_strategy,
};
