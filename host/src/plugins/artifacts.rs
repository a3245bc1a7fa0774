//! Paths of the components built from `plugins/` by `host/build.rs` (for tests, the benchmark
//! and, later, bundling into the binary with `include_bytes!`).

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
