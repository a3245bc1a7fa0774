//! The rules with no I/O: plain data and pure functions, unit-tested directly.

pub mod allocation;
