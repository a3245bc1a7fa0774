//! Several `kolhost serve` processes on one PostgreSQL (design §8), through the real binary:
//! start-up under the advisory lock and the refusal of a newer schema; three hosts behind a
//! client that spreads signed deliveries over them (redelivering some to another host, some to
//! two hosts at once) while one host is killed with SIGKILL; plugin changes and token revocations
//! seen by every host; exactly one poller per platform plugin, taken over within the lease when
//! its holder dies, no page applied twice and no cursor going back.

use std::collections::HashMap;
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering::SeqCst};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use kolhost_platform_formats::douyin;
use kolhost_platform_formats::fixtures::SampleOrder;
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use serde_json::{Value, json};

mod process;
use process::{free_port, kolhost};

const KEY: &str = "multihost-key";
const SECRET: &str = "multihost-secret";
/// The lease length the hosts run with, in seconds.
const LEASE_SECS: u64 = 3;

/// A fresh PostgreSQL database; dropped by [`drop_postgres`].
async fn fresh_postgres(prefix: &str) -> (String, String) {
    let admin = std::env::var("KOLHOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("{prefix}_{}", uuid::Uuid::new_v4().simple());
    let conn = sea_orm::Database::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin}: {e}"));
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    (format!("{base}/{name}"), name)
}

async fn drop_postgres(name: &str) {
    let admin = std::env::var("KOLHOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let conn = sea_orm::Database::connect(&admin).await.unwrap();
    conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}

async fn rows(db: &DatabaseConnection, sql: &str) -> Vec<sea_orm::QueryResult> {
    db.query_all_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    rows(db, sql).await[0].try_get::<i64>("", "n").unwrap()
}

// ---------------------------------------------------------------------------------------------
// Start-up

/// Three hosts started at once on an empty database: every one comes up, the schema is migrated
/// once and every bundled plugin is stored once. Then a migration this build does not know
/// appears (a newer kolhost ran): this build refuses to start, saying why.
#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_starts_migrate_once_and_a_newer_schema_is_refused_on_postgres() {
    let (url, name) = fresh_postgres("kh_test_mhstart").await;
    let starts: Vec<Child> = (0..3)
        .map(|_| {
            Command::new(env!("CARGO_BIN_EXE_kolhost"))
                .arg("migrate")
                .env("KOLHOST_DATABASE_URL", &url)
                .env("RUST_LOG", "error")
                .stdout(Stdio::null())
                .stderr(Stdio::piped())
                .spawn()
                .expect("start kolhost migrate")
        })
        .collect();
    for c in starts {
        let out = c.wait_with_output().unwrap();
        assert!(
            out.status.success(),
            "a concurrent start failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
    let db = kolhost::store::connect(&url).await.unwrap();
    use migration::MigratorTrait;
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM seaql_migrations").await as usize,
        migration::Migrator::migrations().len()
    );
    let per_plugin = rows(
        &db,
        "SELECT name, COUNT(*) AS n FROM plugin_versions GROUP BY name ORDER BY name",
    )
    .await;
    let per_plugin: Vec<(String, i64)> = per_plugin
        .iter()
        .map(|r| (r.try_get("", "name").unwrap(), r.try_get("", "n").unwrap()))
        .collect();
    assert_eq!(
        per_plugin,
        [
            ("douyin".to_owned(), 1),
            ("kuaishou".to_owned(), 1),
            ("taobao".to_owned(), 1)
        ],
        "every bundled plugin stored once"
    );
    assert_eq!(
        count(
            &db,
            "SELECT COUNT(*) AS n FROM (SELECT name FROM scripts GROUP BY name, version HAVING COUNT(*) > 1) d"
        )
        .await,
        0,
        "no strategy version stored twice"
    );

    refuses_a_newer_schema(&db, &url).await;
    drop(db);
    drop_postgres(&name).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_newer_schema_is_refused_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("kh.db").display());
    kolhost(&url, &["migrate"]);
    let db = kolhost::store::connect(&url).await.unwrap();
    refuses_a_newer_schema(&db, &url).await;
}

async fn refuses_a_newer_schema(db: &DatabaseConnection, url: &str) {
    const FUTURE: &str = "m20991231_000001_from_a_newer_kolhost";
    db.execute_unprepared(&format!(
        "INSERT INTO seaql_migrations (version, applied_at) VALUES ('{FUTURE}', 0)"
    ))
    .await
    .unwrap();
    for args in [&["serve"][..], &["migrate"]] {
        let out = Command::new(env!("CARGO_BIN_EXE_kolhost"))
            .args(args)
            .env("KOLHOST_DATABASE_URL", url)
            .env("KOLHOST_LISTEN", format!("127.0.0.1:{}", free_port()))
            .env("RUST_LOG", "error")
            .output()
            .expect("run kolhost");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?} started on a newer schema");
        assert!(
            stderr.contains("newer than this kolhost") && stderr.contains(FUTURE),
            "{args:?}: {stderr}"
        );
    }
}

// ---------------------------------------------------------------------------------------------
// Three hosts

struct Host {
    id: String,
    child: Option<Child>,
    base: String,
}

impl Host {
    async fn start(db_url: &str, id: &str) -> Host {
        let port = free_port();
        let child = Command::new(env!("CARGO_BIN_EXE_kolhost"))
            .arg("serve")
            .env("KOLHOST_DATABASE_URL", db_url)
            .env("KOLHOST_LISTEN", format!("127.0.0.1:{port}"))
            .env("KOLHOST_HOST_ID", id)
            .env("KOLHOST_LEASE_SECS", LEASE_SECS.to_string())
            .env("RUST_LOG", "error")
            .stdout(Stdio::null())
            .spawn()
            .expect("start kolhost");
        let host = Host {
            id: id.to_owned(),
            child: Some(child),
            base: format!("http://127.0.0.1:{port}"),
        };
        let http = reqwest::Client::new();
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if let Ok(r) = http.get(host.url("/healthz?ready=1")).send().await
                && r.status().is_success()
            {
                let body: Value = r.json().await.unwrap();
                assert_eq!(body["host_id"], id, "{body}");
                assert_eq!(body["status"], "ready", "{body}");
                break;
            }
            assert!(Instant::now() < deadline, "{id} did not become ready");
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        host
    }

    fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    fn kill(&mut self) {
        if let Some(mut c) = self.child.take() {
            c.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix
            c.wait().unwrap();
        }
    }

    /// This host's `kolhost_poll_pages_total` for `plugin` (0 when it never polled).
    async fn polled_pages(&self, http: &reqwest::Client, plugin: &str) -> f64 {
        let text = http
            .get(self.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        assert!(
            text.contains(&format!("kolhost_host_info{{host=\"{}\"", self.id)),
            "the metrics name their host"
        );
        let needle = format!("kolhost_poll_pages_total{{plugin=\"{plugin}\"}} ");
        text.lines()
            .find_map(|l| l.strip_prefix(&needle))
            .map_or(0.0, |v| v.trim().parse().unwrap())
    }
}

impl Drop for Host {
    fn drop(&mut self) {
        self.kill();
    }
}

/// A signed Douyin order-paid push for order `n` (ids apart from the polled orders').
fn push(n: u64) -> (Vec<u8>, String) {
    let data = json!({"p_id": n, "s_ids": [], "pay_amount": 1990, "pay_time": 1_795_523_400i64,
        "product_id": "369001", "author_id": "dy_1001", "room_id": "7001", "item_num": 1});
    let body = json!([{"tag": "101", "msg_id": format!("mh-{n}"), "data": data.to_string()}])
        .to_string()
        .into_bytes();
    let sign = douyin::push::event_sign(KEY, SECRET, &body, false);
    (body, sign)
}

async fn deliver(http: &reqwest::Client, host: &Host, n: u64) -> Result<u16, reqwest::Error> {
    let (body, sign) = push(n);
    http.post(host.url("/webhooks/douyin"))
        .header("event-sign", sign)
        .body(body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map(|r| r.status().as_u16())
}

/// Waits (up to `limit`) until `check` holds; answers how long it took.
async fn within<F, Fut>(limit: Duration, what: &str, mut check: F) -> Duration
where
    F: FnMut() -> Fut,
    Fut: Future<Output = bool>,
{
    let start = Instant::now();
    loop {
        if check().await {
            return start.elapsed();
        }
        assert!(start.elapsed() < limit, "{what}: not within {limit:?}");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// A mock Douyin open API serving MCN order pages one after another: page `k` holds polled order
/// `k`; pages past `available` are answered with an error (the poller keeps its cursor and asks
/// again), so the stored cursor only ever moves forward.
#[derive(Clone, Default)]
struct Platform {
    available: Arc<AtomicUsize>,
    asked: Arc<Mutex<Vec<usize>>>,
}

fn polled_order(k: usize) -> SampleOrder {
    SampleOrder::new(500 + k as u64)
}

async fn platform_mock(p: Platform) -> String {
    let app = axum::Router::new().fallback(move |uri: axum::http::Uri, body: axum::body::Bytes| {
        let p = p.clone();
        async move {
            let param = match douyin::fixtures::verify_api_request(
                KEY,
                SECRET,
                uri.query().unwrap_or(""),
                &body,
            ) {
                Ok(param) => param,
                Err(why) => {
                    return douyin::fixtures::error_response(40004, "isv.signature-invalid", &why);
                }
            };
            let cursor = param["cursor"].as_str().unwrap_or("0");
            let k: usize = match cursor.strip_prefix("page-") {
                Some(k) => k.parse().unwrap(),
                None => 0,
            };
            p.asked.lock().unwrap().push(k);
            if k >= p.available.load(SeqCst) {
                return douyin::fixtures::error_response(50002, "isp.no-data-yet", "暂无新数据");
            }
            let o = polled_order(k);
            douyin::fixtures::order_page_response(
                &[douyin::fixtures::mcn_order(&o, "PAY_SUCC", o.paid_at)],
                &format!("page-{}", k + 1),
            )
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// The stored poll cursor's page number (`page_no` of the plugin's cursor), 0 when none.
async fn cursor_page(db: &DatabaseConnection) -> u32 {
    let r = rows(
        db,
        "SELECT cursor FROM poll_cursors WHERE plugin = 'douyin'",
    )
    .await;
    r.first()
        .and_then(|r| r.try_get::<Option<String>>("", "cursor").ok().flatten())
        .map_or(0, |c| {
            serde_json::from_str::<Value>(&c).unwrap()["page_no"]
                .as_u64()
                .unwrap() as u32
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn three_hosts_share_state_and_survive_a_sigkill_on_postgres() {
    let (url, name) = fresh_postgres("kh_test_multihost").await;
    kolhost(&url, &["migrate"]);
    let admin = kolhost(
        &url,
        &["token", "create", "--role", "admin", "--name", "mh admin"],
    );
    let mut hosts = Vec::new();
    for id in ["mh-1", "mh-2", "mh-3"] {
        hosts.push(Host::start(&url, id).await);
    }
    let http = reqwest::Client::new();
    let db = kolhost::store::connect(&url).await.unwrap();
    let status = |h: &Host, path: &str| {
        let (http, url, admin) = (http.clone(), h.url(path), admin.clone());
        async move {
            http.get(url)
                .bearer_auth(admin)
                .send()
                .await
                .unwrap()
                .json::<Value>()
                .await
                .unwrap()
        }
    };

    // Liveness does not touch the database; readiness says what it checked.
    let r: Value = http
        .get(hosts[0].url("/healthz"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(r, json!({"status": "ok", "host_id": "mh-1"}));
    let r: Value = http
        .get(hosts[1].url("/healthz?ready=1"))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(
        (&r["started"], &r["database"], &r["changes"]),
        (&json!(true), &json!(true), &json!(true)),
        "{r}"
    );

    // Config set on host 1 serves on hosts 2 and 3 within 1 s.
    let r = http
        .put(hosts[0].url("/api/v1/plugins/douyin/config"))
        .bearer_auth(&admin)
        .json(&json!({"app_key": KEY, "app_secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let mut probe = 9_000_000u64;
    let mut next_probe = || {
        probe += 1;
        probe
    };
    for h in &hosts[1..] {
        let t = within(
            Duration::from_secs(1),
            "config seen by another host",
            || {
                let n = next_probe();
                let (http, h) = (http.clone(), &*h);
                async move { deliver(&http, h, n).await.is_ok_and(|s| s == 200) }
            },
        )
        .await;
        eprintln!("config on mh-1 served by {} after {t:?}", h.id);
    }

    // An upload on host 1 serves on host 2 within 1 s.
    let platform = Platform::default();
    let addr = platform_mock(platform.clone()).await;
    let manifest = std::fs::read_to_string(kolhost::plugins::artifacts::DOUYIN_MANIFEST)
        .unwrap()
        .replace("version = \"1.0.0\"", "version = \"1.0.0-staging\"")
        .replace(
            "allowed_hosts = [",
            &format!("allow_private_hosts = true\nallowed_hosts = [\"{addr}\", "),
        );
    let form = reqwest::multipart::Form::new()
        .text("manifest", manifest)
        .part(
            "component",
            reqwest::multipart::Part::bytes(
                std::fs::read(kolhost::plugins::artifacts::DOUYIN).unwrap(),
            )
            .file_name("douyin.wasm"),
        );
    let r = http
        .post(hosts[0].url("/api/v1/plugins"))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    // Each host compiles the uploaded component itself (its cache is its own disk): seconds on a
    // loaded 2-core machine, so the wait is bounded by that, not by the announcement.
    let t = within(Duration::from_secs(15), "upload seen on mh-2", || {
        let s = status(&hosts[1], "/api/v1/plugins/douyin");
        async move { s.await["version"] == "1.0.0-staging" }
    })
    .await;
    let n = next_probe();
    assert_eq!(deliver(&http, &hosts[1], n).await.unwrap(), 200);
    eprintln!("upload on mh-1 active on mh-2 after {t:?}");
    // Settled everywhere before the next change is timed.
    let t = within(Duration::from_secs(15), "upload seen on mh-3", || {
        let s = status(&hosts[2], "/api/v1/plugins/douyin");
        async move { s.await["version"] == "1.0.0-staging" }
    })
    .await;
    eprintln!("upload on mh-1 active on mh-3 after {t:?}");

    // Disable on host 2 stops host 3 within 1 s; enable on host 3 serves on host 1 within 1 s.
    let r = http
        .post(hosts[1].url("/api/v1/plugins/douyin/disable"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = within(Duration::from_secs(1), "disable seen on mh-3", || {
        let n = next_probe();
        let (http, h) = (http.clone(), &hosts[2]);
        async move { deliver(&http, h, n).await.is_ok_and(|s| s != 200) }
    })
    .await;
    eprintln!("disable on mh-2 refused on mh-3 after {t:?}");
    let r = http
        .post(hosts[2].url("/api/v1/plugins/douyin/enable"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    let t = within(Duration::from_secs(1), "enable seen on mh-1", || {
        let n = next_probe();
        let (http, h) = (http.clone(), &hosts[0]);
        async move { deliver(&http, h, n).await.is_ok_and(|s| s == 200) }
    })
    .await;
    eprintln!("enable on mh-3 served on mh-1 after {t:?}");

    // Deleting the inactive bundled version on host 1 removes it on host 3 within 1 s.
    let versions = status(&hosts[0], "/api/v1/plugins/douyin").await["versions"].clone();
    let bundled = versions[0].as_str().unwrap().to_owned();
    assert_ne!(bundled, "1.0.0-staging", "{versions}");
    let r = http
        .delete(hosts[0].url(&format!("/api/v1/plugins/douyin/versions/{bundled}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());
    let t = within(Duration::from_secs(1), "deletion seen on mh-3", || {
        let s = status(&hosts[2], "/api/v1/plugins/douyin");
        async move { s.await["versions"] == serde_json::json!(["1.0.0-staging"]) }
    })
    .await;
    eprintln!("version deleted on mh-1 gone on mh-3 after {t:?}");

    // A revoked token fails on every host at once: every host has it cached, host 1 revokes it.
    let doomed = kolhost(
        &url,
        &["token", "create", "--role", "admin", "--name", "mh doomed"],
    );
    for h in &hosts {
        for _ in 0..2 {
            let r = http
                .get(h.url("/api/v1/me"))
                .bearer_auth(&doomed)
                .send()
                .await
                .unwrap();
            assert_eq!(r.status(), 200);
        }
    }
    let listed = status(&hosts[0], "/api/v1/tokens?limit=100").await;
    let id = listed["items"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["name"] == "mh doomed")
        .unwrap()["id"]
        .as_str()
        .unwrap()
        .to_owned();
    let r = http
        .delete(hosts[0].url(&format!("/api/v1/tokens/{id}")))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for h in &hosts {
        let t = within(Duration::from_secs(1), "revocation seen", || {
            let (http, url, doomed) = (http.clone(), h.url("/api/v1/me"), doomed.clone());
            async move {
                http.get(url)
                    .bearer_auth(doomed)
                    .send()
                    .await
                    .unwrap()
                    .status()
                    == 401
            }
        })
        .await;
        eprintln!("revoked on mh-1: 401 on {} after {t:?}", h.id);
    }

    // Hosts that lose their listening connection resync in full once it is back: a change made
    // while they could not hear it is not missed.
    let cut = count(
        &db,
        "SELECT COUNT(pg_terminate_backend(pid)) AS n FROM pg_stat_activity \
         WHERE datname = current_database() AND query LIKE 'LISTEN %'",
    )
    .await;
    assert_eq!(cut, 3, "one listening connection per host");
    let r = http
        .post(hosts[0].url("/api/v1/plugins/douyin/disable"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for h in &hosts[1..] {
        let t = within(
            Duration::from_secs(5),
            "disable seen after reconnecting",
            || {
                let n = next_probe();
                let (http, h) = (http.clone(), &*h);
                async move { deliver(&http, h, n).await.is_ok_and(|s| s != 200) }
            },
        )
        .await;
        eprintln!("disable during the cut seen on {} after {t:?}", h.id);
    }
    let r = http
        .post(hosts[0].url("/api/v1/plugins/douyin/enable"))
        .bearer_auth(&admin)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    for h in &hosts {
        within(Duration::from_secs(5), "ready and serving again", || {
            let n = next_probe();
            let (http, h) = (http.clone(), &*h);
            async move {
                let ready = http
                    .get(h.url("/healthz?ready=1"))
                    .send()
                    .await
                    .is_ok_and(|r| r.status() == 200);
                ready && deliver(&http, h, n).await.is_ok_and(|s| s == 200)
            }
        })
        .await;
        let text = http
            .get(h.url("/metrics"))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        let resyncs: f64 = text
            .lines()
            .find_map(|l| l.strip_prefix("kolhost_cluster_resyncs_total "))
            .map_or(0.0, |v| v.trim().parse().unwrap());
        assert!(resyncs >= 2.0, "{} resynced after the cut: {resyncs}", h.id);
    }

    // Pollers configured on all three (the config is shared): exactly one host polls.
    platform.available.store(5, SeqCst);
    let r = http
        .put(hosts[2].url("/api/v1/plugins/douyin/config"))
        .bearer_auth(&admin)
        .json(&json!({"app_key": KEY, "app_secret": SECRET,
            "api_base": format!("http://{addr}"), "poll_interval_secs": "1"}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);
    within(Duration::from_secs(15), "the first 5 pages polled", || {
        let db = &db;
        async move { cursor_page(db).await >= 6 }
    })
    .await;
    let mut pollers = Vec::new();
    for h in &hosts {
        if h.polled_pages(&http, "douyin").await > 0.0 {
            pollers.push(h.id.clone());
        }
    }
    assert_eq!(pollers.len(), 1, "exactly one host polls: {pollers:?}");
    let holder = hosts.iter().position(|h| h.id == pollers[0]).unwrap();

    // The cursor is watched from here on: it never goes back.
    let stop = Arc::new(AtomicBool::new(false));
    let watcher = {
        let (db, stop) = (db.clone(), stop.clone());
        tokio::spawn(async move {
            let mut last = 0;
            while !stop.load(SeqCst) {
                let page = cursor_page(&db).await;
                assert!(page >= last, "the cursor went back from {last} to {page}");
                last = page;
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
            last
        })
    };

    // Deliveries spread over the three hosts, some redelivered to another host and some sent
    // to two hosts at once; the poll holder is killed with SIGKILL mid-run, and new pages keep
    // coming.
    let alive: Arc<Vec<AtomicBool>> = Arc::new((0..3).map(|_| AtomicBool::new(true)).collect());
    let bases: Arc<Vec<String>> = Arc::new(hosts.iter().map(|h| h.base.clone()).collect());
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let total = Arc::new(AtomicUsize::new(0));
    let done = Arc::new(AtomicBool::new(false));
    let mut senders = Vec::new();
    for w in 0..24u64 {
        let (http, alive, bases, acked, done, total) = (
            http.clone(),
            alive.clone(),
            bases.clone(),
            acked.clone(),
            done.clone(),
            total.clone(),
        );
        senders.push(tokio::spawn(async move {
            let send = |h: usize, n: u64| {
                let (http, url) = (http.clone(), format!("{}/webhooks/douyin", bases[h]));
                async move {
                    let (body, sign) = push(n);
                    http.post(url)
                        .header("event-sign", sign)
                        .body(body)
                        .timeout(Duration::from_secs(5))
                        .send()
                        .await
                        .is_ok_and(|r| r.status().is_success())
                }
            };
            let mut n = 0u64;
            while !done.load(SeqCst) {
                let order = 1_000_000 + w * 100_000 + n;
                let first = (w + n) as usize % 3;
                let other = (first + 1 + (n as usize % 2)) % 3;
                // A platform retries an unanswered delivery, at another host behind the balancer.
                let ok = match n % 5 {
                    0 => {
                        // The same delivery to two hosts at the same time.
                        let (a, b) = tokio::join!(send(first, order), send(other, order));
                        a || b
                    }
                    1 => {
                        let a = send(first, order).await;
                        send(other, order).await || a
                    }
                    _ => {
                        let mut ok = false;
                        for h in [first, other, (other + 1) % 3] {
                            if alive[h].load(SeqCst) && send(h, order).await {
                                ok = true;
                                break;
                            }
                        }
                        ok
                    }
                };
                if ok {
                    acked.lock().unwrap().push(order);
                }
                total.fetch_add(1, SeqCst);
                n += 1;
            }
        }));
    }
    within(
        Duration::from_secs(30),
        "400 deliveries acknowledged",
        || {
            let acked = acked.clone();
            async move { acked.lock().unwrap().len() >= 400 }
        },
    )
    .await;
    let polled_by_dead = hosts[holder].polled_pages(&http, "douyin").await;
    hosts[holder].kill();
    alive[holder].store(false, SeqCst);
    let killed_at = Instant::now();
    platform.available.store(10, SeqCst);
    let acked_at_kill = acked.lock().unwrap().len();
    eprintln!(
        "SIGKILL {} (the poller, {polled_by_dead} pages) after {acked_at_kill} acknowledged deliveries",
        hosts[holder].id
    );

    // Another host takes the poller over within the lease (plus one poll interval).
    let survivors: Vec<usize> = (0..3).filter(|i| *i != holder).collect();
    let mut taken = None;
    while taken.is_none() {
        for &i in &survivors {
            if hosts[i].polled_pages(&http, "douyin").await > 0.0 {
                taken = Some(i);
            }
        }
        assert!(
            killed_at.elapsed() < Duration::from_secs(LEASE_SECS + 4),
            "no host took the poller over within the lease"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
    let takeover = killed_at.elapsed();
    let taken = taken.unwrap();
    eprintln!(
        "{} took the poller over {takeover:?} after the SIGKILL",
        hosts[taken].id
    );
    within(Duration::from_secs(15), "pages 6 to 10 polled", || {
        let db = &db;
        async move { cursor_page(db).await >= 11 }
    })
    .await;
    for &i in &survivors {
        if i != taken {
            assert_eq!(
                hosts[i].polled_pages(&http, "douyin").await,
                0.0,
                "only one survivor polls"
            );
        }
    }

    // More deliveries after the kill, then stop.
    within(Duration::from_secs(30), "deliveries after the kill", || {
        let acked = acked.clone();
        async move { acked.lock().unwrap().len() >= acked_at_kill + 400 }
    })
    .await;
    done.store(true, SeqCst);
    for s in senders {
        s.await.unwrap();
    }
    stop.store(true, SeqCst);
    let last_page = watcher.await.unwrap();
    assert_eq!(last_page, 11, "caught up at the last page");

    // Every acknowledged delivery stored once; nothing stored twice; one event per order.
    let acked = acked.lock().unwrap().clone();
    let mut stored: HashMap<String, i64> = HashMap::new();
    for r in rows(
        &db,
        "SELECT platform_order_id, COUNT(*) AS n FROM orders GROUP BY platform_order_id",
    )
    .await
    {
        stored.insert(
            r.try_get("", "platform_order_id").unwrap(),
            r.try_get("", "n").unwrap(),
        );
    }
    for order in &acked {
        assert_eq!(
            stored.get(&order.to_string()),
            Some(&1),
            "acknowledged order {order} must be stored exactly once"
        );
    }
    assert!(stored.values().all(|n| *n == 1), "an order stored twice");
    for k in 0..10 {
        assert_eq!(
            stored.get(&polled_order(k).order_id),
            Some(&1),
            "polled order {k} stored once"
        );
    }
    let events = count(&db, "SELECT COUNT(*) AS n FROM platform_events").await;
    assert_eq!(events as usize, stored.len(), "one event per stored order");
    let pushes = (stored.len() - 10) as i64;
    let paid = count(
        &db,
        "SELECT COALESCE(SUM(paid_fen), 0)::BIGINT AS n FROM orders",
    )
    .await;
    assert_eq!(
        paid,
        1990 * pushes + polled_order(0).paid_fen * 10,
        "nothing double-counted"
    );
    let polled_events = count(
        &db,
        "SELECT events AS n FROM poll_cursors WHERE plugin = 'douyin'",
    )
    .await;
    assert_eq!(polled_events, 10, "each polled page's event counted once");
    let asked = platform.asked.lock().unwrap().clone();
    eprintln!(
        "{} deliveries sent, {} acknowledged, {} orders stored; pages asked: {asked:?}",
        total.load(SeqCst),
        acked.len(),
        stored.len()
    );
    drop(hosts);
    drop(db);
    drop_postgres(&name).await;
}
