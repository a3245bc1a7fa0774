//! Builds the Extism guest (`extism-guest/`) for wasm32-unknown-unknown with its own target
//! directory, and hands its path over as `KOLHOST_BENCH_EXTISM_WASM`.

use std::env;
use std::path::PathBuf;
use std::process::Command;

const TARGET: &str = "wasm32-unknown-unknown";

fn main() {
    println!("cargo:rerun-if-env-changed=CARGO_FEATURE_EXTISM");
    // Only the plugin-call benchmark (feature `extism`) needs the guest; `ingest` does not.
    if env::var_os("CARGO_FEATURE_EXTISM").is_none() {
        return;
    }
    let dir = PathBuf::from(env::var_os("CARGO_MANIFEST_DIR").unwrap());
    let guest = dir.join("extism-guest");
    println!("cargo:rerun-if-changed={}", guest.join("src").display());
    println!(
        "cargo:rerun-if-changed={}",
        guest.join("Cargo.toml").display()
    );
    // The guest runs kolhost-platform-formats' Douyin push code.
    for formats in ["src", "Cargo.toml"] {
        println!(
            "cargo:rerun-if-changed={}",
            dir.join("../../plugins/formats").join(formats).display()
        );
    }
    let out_dir = PathBuf::from(env::var_os("OUT_DIR").unwrap());
    let target_dir = out_dir.ancestors().nth(4).unwrap().join("extism-guest");

    let rustc = env::var_os("RUSTC").unwrap_or_else(|| "rustc".into());
    let sysroot = Command::new(&rustc)
        .args(["--print", "sysroot"])
        .output()
        .unwrap();
    let sysroot = PathBuf::from(String::from_utf8_lossy(&sysroot.stdout).trim());
    if !sysroot.join("lib/rustlib").join(TARGET).exists() {
        let ok = Command::new("rustup")
            .args(["target", "add", TARGET])
            .status()
            .map(|s| s.success());
        assert!(
            matches!(ok, Ok(true)),
            "`rustup target add {TARGET}` failed"
        );
    }
    let mut cmd = Command::new(env::var_os("CARGO").unwrap_or_else(|| "cargo".into()));
    cmd.args(["build", "--release", "--target", TARGET, "--manifest-path"])
        .arg(guest.join("Cargo.toml"))
        .arg("--target-dir")
        .arg(&target_dir);
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
    assert!(
        cmd.status().expect("run cargo").success(),
        "building the Extism guest failed"
    );
    let wasm = target_dir.join(TARGET).join("release/extism_douyin.wasm");
    println!(
        "cargo:rustc-env=KOLHOST_BENCH_EXTISM_WASM={}",
        wasm.display()
    );
}
