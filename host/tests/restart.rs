//! A restart with many stored plugin versions (kolhost issue 17): the real `kolhost` binary
//! with 20 versions of one plugin, restarted, loads only each plugin's active version, from the
//! disk cache of compiled components (nothing compiled), and keeps the plugin's quarantine.
//! With the cache removed it compiles only the active versions. Prints the time to listening
//! of each start (BENCHMARKS.md has the figures).

use std::time::{Duration, Instant};

use kolhost::plugins::Quarantine;
use kolhost::plugins::artifacts::{EXAMPLE_PLATFORM, distinct_build};
use reqwest::multipart::{Form, Part};
use serde_json::Value;

mod process;
use process::{Server, free_port, kolhost, serve};

const VERSIONS: usize = 20;

/// Starts `kolhost serve` (killed when dropped); answers it and its time to listening.
async fn start(db_url: &str) -> (Killed, Duration) {
    let server = serve(db_url, free_port()).await;
    let up = server.up_after;
    (Killed(server), up)
}

struct Killed(Server);

impl Drop for Killed {
    fn drop(&mut self) {
        let _ = self.0.child.kill();
        let _ = self.0.child.wait();
    }
}

async fn metric(base: &str, name: &str) -> u64 {
    let text = reqwest::get(format!("{base}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' '))
        .unwrap_or_else(|| panic!("{name} in /metrics"))
        .trim()
        .parse::<f64>()
        .unwrap() as u64
}

async fn plugin(base: &str, token: &str, name: &str) -> Value {
    let res = reqwest::Client::new()
        .get(format!("{base}/api/v1/plugins/{name}"))
        .bearer_auth(token)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 200);
    res.json().await.unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restart_loads_only_active_versions_from_the_cache_and_keeps_quarantine() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("kolhost.db").display()
    );
    kolhost(&url, &["migrate"]);
    let token = kolhost(&url, &["token", "create", "--role", "admin"]);
    let component = std::fs::read(EXAMPLE_PLATFORM).unwrap();

    let (server, first) = start(&url).await;
    eprintln!("first start (bundled plugins compiled): {first:?}");
    let http = reqwest::Client::new();
    let at = Instant::now();
    for i in 0..VERSIONS {
        let manifest = format!(
            "name = \"many\"\nversion = \"1.0.{i}\"\nworld = \"platform\"\ngrants = [\"log\", \"config\", \"clock\", \"kv\"]\n"
        );
        let form = Form::new().text("manifest", manifest).part(
            "component",
            Part::bytes(distinct_build(&component, &i.to_string())).file_name("p.wasm"),
        );
        let res = http
            .post(format!("{}/api/v1/plugins", server.0.base))
            .bearer_auth(&token)
            .multipart(form)
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    }
    eprintln!(
        "{VERSIONS} uploads of distinct builds, upload to active: {:?} each",
        at.elapsed() / VERSIONS as u32
    );
    let p = plugin(&server.0.base, &token, "many").await;
    assert_eq!(p["versions"].as_array().unwrap().len(), VERSIONS);
    assert_eq!(p["loaded"].as_array().unwrap().len(), 2, "{}", p["loaded"]);
    drop(server);

    // Quarantined while stopped, as the server stores it when a plugin keeps failing.
    let db = kolhost::store::connect(&url).await.unwrap();
    let q = Quarantine::trip(
        "5 failures in a row".into(),
        1,
        Duration::from_secs(3600),
        Duration::from_secs(3600),
    );
    kolhost::store::plugins::save_quarantine(&db, "many", Some(&q))
        .await
        .unwrap();
    db.close().await.unwrap();

    let (server, cached) = start(&url).await;
    eprintln!("restart with {VERSIONS} stored versions, from the cache: {cached:?}");
    assert_eq!(
        metric(&server.0.base, "kolhost_plugin_compiles").await,
        0,
        "nothing compiled"
    );
    assert_eq!(
        metric(&server.0.base, "kolhost_plugin_cache_hits").await,
        4,
        "the active version of each plugin (3 bundled and `many`), from the cache"
    );
    let p = plugin(&server.0.base, &token, "many").await;
    assert_eq!(p["version"], format!("1.0.{}", VERSIONS - 1));
    assert_eq!(p["versions"].as_array().unwrap().len(), VERSIONS);
    assert_eq!(p["loaded"], serde_json::json!([p["version"]]));
    assert_eq!(
        p["quarantined"], true,
        "the quarantine survives the restart"
    );
    assert_eq!(p["quarantine"]["reason"], "5 failures in a row");
    drop(server);

    // Without the cache (a new wasmtime, or the folder removed): the active versions compile.
    std::fs::remove_dir_all(dir.path().join("plugin-cache")).unwrap();
    let (server, compiled) = start(&url).await;
    eprintln!("restart with {VERSIONS} stored versions, cache removed: {compiled:?}");
    assert_eq!(metric(&server.0.base, "kolhost_plugin_compiles").await, 4);
}
