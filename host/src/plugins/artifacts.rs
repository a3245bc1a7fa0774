//! The components built from `plugins/` by `host/build.rs`: their paths (for tests and the
//! benchmarks) and the bundled platform plugins, embedded in the binary with `include_bytes!`
//! so that a release binary needs no files beside it. Also variants of a component for tests
//! and benchmarks: [`slow_to_compile`], [`distinct_build`].

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

/// `component` with a core module of `functions` big functions added (defined, never
/// instantiated): the component's imports, exports and behaviour are unchanged, but Cranelift
/// compiles every function, so it takes seconds to compile (an upload that holds the compile
/// pool). Each function keeps `live` values alive at once, which makes register allocation work.
pub fn slow_to_compile(component: &[u8], functions: u32, live: u32) -> Vec<u8> {
    let mut body = vec![0x00]; // no locals
    for k in 0..live {
        body.extend([0x20, 0x00, 0x41]); // local.get 0; i32.const k
        leb(&mut body, k + 1);
        body.push(0x6c); // i32.mul
    }
    body.extend(std::iter::repeat_n(0x6a, live as usize - 1)); // i32.add ...
    body.push(0x0b);
    let mut module = b"\0asm\x01\0\0\0".to_vec();
    section(&mut module, 1, &[0x01, 0x60, 0x01, 0x7f, 0x01, 0x7f]); // (func (param i32) (result i32))
    let mut funcs = Vec::new();
    leb(&mut funcs, functions);
    funcs.extend(std::iter::repeat_n(0x00, functions as usize));
    section(&mut module, 3, &funcs);
    let mut code = Vec::new();
    leb(&mut code, functions);
    for _ in 0..functions {
        leb(&mut code, body.len() as u32);
        code.extend(&body);
    }
    section(&mut module, 10, &code);
    let mut out = component.to_vec();
    section(&mut out, 1, &module); // a component's core module section
    out
}

/// `component` with a custom section naming `tag`: a distinct build (another SHA-256) of the
/// same component.
pub fn distinct_build(component: &[u8], tag: &str) -> Vec<u8> {
    let mut custom = Vec::new();
    leb(&mut custom, "kolhost-test".len() as u32);
    custom.extend(b"kolhost-test");
    custom.extend(tag.as_bytes());
    let mut out = component.to_vec();
    section(&mut out, 0, &custom);
    out
}

fn section(out: &mut Vec<u8>, id: u8, content: &[u8]) {
    out.push(id);
    leb(out, content.len() as u32);
    out.extend(content);
}

fn leb(out: &mut Vec<u8>, mut n: u32) {
    loop {
        let byte = (n & 0x7f) as u8;
        n >>= 7;
        if n == 0 {
            out.push(byte);
            return;
        }
        out.push(byte | 0x80);
    }
}
