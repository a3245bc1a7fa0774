//! The `kolhost` command line: migrate and token creation against a real SQLite file.

use std::process::Command;

fn kolhost(db_url: &str, args: &[&str]) -> std::process::Output {
    Command::new(env!("CARGO_BIN_EXE_kolhost"))
        .args(args)
        .env("KOLHOST_DATABASE_URL", db_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("run kolhost")
}

#[test]
fn token_create_prints_a_working_token_once_and_stores_its_hash() {
    let dir = tempfile::tempdir().unwrap();
    let db_path = dir.path().join("nested/dir/kolhost.db");
    let url = format!("sqlite://{}?mode=rwc", db_path.display());

    let out = kolhost(&url, &["migrate"]);
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(
        db_path.exists(),
        "the SQLite file and its folders are created on first use"
    );

    let out = kolhost(
        &url,
        &["token", "create", "--role", "admin", "--name", "ops lead"],
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let token = String::from_utf8(out.stdout).unwrap().trim().to_owned();
    assert!(token.starts_with("kh_") && token.len() == 3 + 64, "{token}");

    let rt = tokio::runtime::Runtime::new().unwrap();
    rt.block_on(async {
        let db = kolhost::store::connect(&url).await.unwrap();
        let row = kolhost::store::tokens::find(&db, &token)
            .await
            .unwrap()
            .expect("token stored");
        assert_eq!(row.name, "ops lead");
        assert_eq!(row.role, "admin");
        assert_ne!(row.token_hash, token, "only the hash is stored");
        assert_eq!(row.token_hash, kolhost::store::tokens::hash(&token));
    });

    // Brand and KOL tokens must name an existing owner; unknown roles are refused.
    for args in [
        &["token", "create", "--role", "brand"][..],
        &[
            "token",
            "create",
            "--role",
            "brand",
            "--brand",
            "0195a3c0-0000-7000-8000-000000000000",
        ],
        &["token", "create", "--role", "emperor"],
        &[
            "token",
            "create",
            "--role",
            "admin",
            "--kol",
            "0195a3c0-0000-7000-8000-000000000000",
        ],
    ] {
        let out = kolhost(&url, args);
        assert!(!out.status.success(), "{args:?} should fail");
        assert!(out.stdout.is_empty(), "no token printed for {args:?}");
    }
}

#[test]
fn a_bad_config_file_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("kolhost.toml");
    std::fs::write(&file, "listen = \"not an address\"\n").unwrap();
    let out = Command::new(env!("CARGO_BIN_EXE_kolhost"))
        .args(["--config", file.to_str().unwrap(), "migrate"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("listen"), "{err}");
}

#[test]
fn script_test_runs_a_strategy_on_a_fixture() {
    let root = concat!(env!("CARGO_MANIFEST_DIR"), "/..");
    let run = |args: &[&str]| {
        Command::new(env!("CARGO_BIN_EXE_kolhost"))
            .args(args)
            .current_dir(root)
            .output()
            .unwrap()
    };

    let out = run(&[
        "script",
        "test",
        "scripts/pyramid.lua",
        "--fixture",
        "scripts/fixtures/demo.json",
    ]);
    assert_eq!(
        out.status.code(),
        Some(0),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(!out.stdout.is_empty());

    let dir = tempfile::tempdir().unwrap();
    let broken = dir.path().join("broken.lua");
    std::fs::write(
        &broken,
        "function allocate(ctx)\n  error('no stock data')\nend\n",
    )
    .unwrap();
    let out = run(&["script", "test", broken.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(2));
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("broken.lua:2"), "{err}");

    let cheap = dir.path().join("cheap.lua");
    std::fs::write(
        &cheap,
        "function allocate(ctx)\n  local p, s = ctx.products[1], ctx.sessions[1]\n  return {assignments = {{product_id = p.id, kol_id = s.kol_id, session_id = s.id, units = 1, live_price_fen = 1}}, notes = {}}\nend\n",
    )
    .unwrap();
    let out = run(&["script", "test", cheap.to_str().unwrap()]);
    assert_eq!(
        out.status.code(),
        Some(1),
        "violations: {}",
        String::from_utf8_lossy(&out.stdout)
    );
}
