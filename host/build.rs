//! Builds the plugin workspace (`plugins/`) for `wasm32-wasip2` and tells the host where the
//! components are.
//!
//! The nested `cargo build` uses its own target directory (`<target>/wasm-plugins`), so it
//! never waits on the outer build's lock. Like wasmtime's `crates/test-programs/artifacts`,
//! the paths are handed over as `cargo:rustc-env` variables (`KOLHOST_PLUGIN_<NAME>`, e.g.
//! `KOLHOST_PLUGIN_EXAMPLE_PLATFORM`) and as `$OUT_DIR/plugin_artifacts.rs`
//! (see `kolhost::plugins::artifacts`).
//!
//! Set `KOLHOST_PLUGINS_TARGET_DIR` to choose the nested target directory.

use std::env;
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

const TARGET: &str = "wasm32-wasip2";

fn main() {
    let manifest_dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let plugins = manifest_dir.parent().unwrap().join("plugins");
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());

    for p in [
        "Cargo.toml",
        "Cargo.lock",
        "wit",
        "sdk",
        "examples",
        "tests",
        "formats",
        "platform-glue",
        "douyin",
        "kuaishou",
        "taobao",
    ] {
        println!("cargo:rerun-if-changed={}", plugins.join(p).display());
    }
    println!("cargo:rerun-if-env-changed=KOLHOST_PLUGINS_TARGET_DIR");

    let target_dir = match env::var_os("KOLHOST_PLUGINS_TARGET_DIR") {
        Some(d) => PathBuf::from(d),
        // OUT_DIR is <target>/<profile>/build/<pkg>-<hash>/out.
        None => out_dir
            .ancestors()
            .nth(4)
            .map(|t| t.join("wasm-plugins"))
            .unwrap_or_else(|| out_dir.join("wasm-plugins")),
    };

    let cargo = env::var_os("CARGO").unwrap_or_else(|| "cargo".into());
    ensure_target();

    let mut cmd = Command::new(&cargo);
    cmd.args([
        "build",
        "--release",
        "--target",
        TARGET,
        "--message-format=json-render-diagnostics",
        "--manifest-path",
    ])
    .arg(plugins.join("Cargo.toml"))
    .arg("--target-dir")
    .arg(&target_dir)
    .stdout(Stdio::piped());
    // Flags meant for the host build must not leak into the wasm build.
    for var in [
        "CARGO_ENCODED_RUSTFLAGS",
        "RUSTFLAGS",
        "CARGO_BUILD_RUSTFLAGS",
        "CARGO_TARGET_DIR",
        "CARGO_BUILD_TARGET",
        "RUSTC_WRAPPER",
        "RUSTC_WORKSPACE_WRAPPER",
        "CARGO_PRIMARY_PACKAGE",
    ] {
        cmd.env_remove(var);
    }
    for (k, _) in env::vars_os() {
        if let Some(k) = k.to_str()
            && (k.starts_with("CARGO_PROFILE_")
                || k.starts_with("CARGO_FEATURE_")
                || k.starts_with("CARGO_CFG_"))
        {
            cmd.env_remove(k);
        }
    }
    let mut child = cmd.spawn().expect("run cargo for the plugin workspace");
    let mut artifacts: Vec<(String, PathBuf)> = Vec::new();
    for line in BufReader::new(child.stdout.take().unwrap()).lines() {
        let line = line.expect("read cargo output");
        let Ok(msg) = serde_json::from_str::<serde_json::Value>(&line) else {
            continue;
        };
        if msg["reason"] != "compiler-artifact" {
            continue;
        }
        let name = msg["target"]["name"]
            .as_str()
            .unwrap_or_default()
            .to_string();
        for f in msg["filenames"].as_array().into_iter().flatten() {
            if let Some(f) = f.as_str()
                && f.ends_with(".wasm")
            {
                artifacts.push((name.clone(), PathBuf::from(f)));
            }
        }
    }
    let status = child.wait().expect("wait for cargo");
    assert!(
        status.success(),
        "building the plugin workspace for {TARGET} failed (see the errors above)"
    );

    artifacts.sort();
    let mut generated = String::from(
        "/// Every component built from `plugins/`: (cargo target name, path of the `.wasm`).\npub const ALL: &[(&str, &str)] = &[\n",
    );
    for (name, path) in &artifacts {
        generated.push_str(&format!(
            "    ({name:?}, {:?}),\n",
            path.display().to_string()
        ));
    }
    generated.push_str("];\n");
    for (name, path) in &artifacts {
        let konst = name.to_uppercase().replace('-', "_");
        println!("cargo:rustc-env=KOLHOST_PLUGIN_{konst}={}", path.display());
        generated.push_str(&format!(
            "/// Path of the `{name}` component.\npub const {konst}: &str = {:?};\n",
            path.display().to_string()
        ));
    }
    std::fs::write(out_dir.join("plugin_artifacts.rs"), generated)
        .expect("write plugin_artifacts.rs");
}

/// Installs the wasm32-wasip2 standard library with rustup when it is missing.
fn ensure_target() {
    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .expect("run rustc --print sysroot");
    let sysroot = String::from_utf8_lossy(&sysroot.stdout).trim().to_string();
    if Path::new(&sysroot)
        .join("lib/rustlib")
        .join(TARGET)
        .exists()
    {
        return;
    }
    let status = Command::new("rustup")
        .args(["target", "add", TARGET])
        .status();
    match status {
        Ok(s) if s.success() => {}
        other => panic!(
            "the {TARGET} target is missing and `rustup target add {TARGET}` failed: {other:?}"
        ),
    }
}
