//! The components built from `plugins/` by `host/build.rs`: their paths (for tests and the
//! benchmarks) and the bundled platform plugins, embedded in the binary with `include_bytes!`
//! so that a release binary needs no files beside it.

/// A plugin shipped inside the binary and installed at start (see
/// [`crate::store::plugins::sync_bundled`]).
pub struct Bundled {
    /// The plugin's `kolhost.toml`.
    pub manifest: &'static str,
    pub component: &'static [u8],
}

include!(concat!(env!("OUT_DIR"), "/plugin_artifacts.rs"));
