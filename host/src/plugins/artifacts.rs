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

/// The bundled platform plugins' manifests (`plugins/<name>/kolhost.toml`), to load with
/// [`TAOBAO`], [`DOUYIN`] and [`KUAISHOU`].
pub const TAOBAO_MANIFEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../plugins/taobao/kolhost.toml"
);
pub const DOUYIN_MANIFEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../plugins/douyin/kolhost.toml"
);
pub const KUAISHOU_MANIFEST: &str = concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../plugins/kuaishou/kolhost.toml"
);
