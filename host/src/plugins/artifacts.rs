//! Paths of the components built from `plugins/` by `host/build.rs` (for tests, the benchmark
//! and, later, bundling into the binary with `include_bytes!`).

include!(concat!(env!("OUT_DIR"), "/plugin_artifacts.rs"));
