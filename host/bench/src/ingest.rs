//! Webhook ingest benchmark (design §7: >= 20,000 deliveries/s on 2 cores, end to end).
//!
//! A real kolhost server runs in this process on 127.0.0.1 over a fresh database (an SQLite file,
//! or a new PostgreSQL database), with the bundled Douyin plugin configured and a KOL, product and
//! contract to attribute to. Each delivery is one Douyin push (`event-sign` = md5(app_key + body +
//! app_secret), one tag-101 paid order) that the server verifies and parses in WASM (two calls,
//! each a fresh instance), attributes, commits durably (group commit) and acknowledges.
//!
//! Two measurements per database:
//! - **throughput**: `--concurrency` keep-alive HTTP/1.1 clients send `--deliveries` deliveries
//!   as fast as acknowledgements come back;
//! - **latency at a fixed offered rate**: an open-loop generator sends `--rate` deliveries per
//!   second for `--seconds`, whatever the answers do, and records each acknowledgement's latency.
//!
//! The load generator shares the machine (and its 2 cores) with the server.
//!
//! Run: `cargo run --release -p kolhost-bench --bin ingest` (options: `--db sqlite|postgres|both`,
//! `--deliveries N`, `--concurrency C`, `--rate R`, `--seconds S`). PostgreSQL comes from
//! `KOLHOST_TEST_POSTGRES_URL` (default postgres://postgres@127.0.0.1:5432/postgres).

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use kolhost::app::{AppState, router};
use kolhost::config::Config;
use kolhost::domain::Role;
use kolhost::store::{self, tokens};
use kolhost_platform_formats::douyin;
use sea_orm::{ConnectionTrait, EntityTrait, PaginatorTrait};
use serde_json::{Value, json};

const KEY: &str = "bench-key";
const SECRET: &str = "bench-secret";

struct Opts {
    db: String,
    deliveries: usize,
    concurrency: usize,
    rate: u64,
    seconds: u64,
}

fn opts() -> Opts {
    let mut o = Opts {
        db: "both".into(),
        deliveries: 40_000,
        concurrency: 64,
        rate: 2_000,
        seconds: 10,
    };
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut it = args.iter();
    while let Some(a) = it.next() {
        let v = it.next().unwrap_or_else(|| panic!("{a} needs a value"));
        match a.as_str() {
            "--db" => o.db = v.clone(),
            "--deliveries" => o.deliveries = v.parse().expect("--deliveries N"),
            "--concurrency" => o.concurrency = v.parse().expect("--concurrency C"),
            "--rate" => o.rate = v.parse().expect("--rate R"),
            "--seconds" => o.seconds = v.parse().expect("--seconds S"),
            other => panic!("unknown option {other}"),
        }
    }
    o
}

fn main() {
    let o = opts();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let mut dbs = Vec::new();
        if o.db == "sqlite" || o.db == "both" {
            dbs.push("sqlite");
        }
        if o.db == "postgres" || o.db == "both" {
            dbs.push("postgres");
        }
        println!("| database | deliveries | concurrency | deliveries/s | offered rate | achieved | ack p50 | ack p99 | errors |");
        println!("| --- | --- | --- | --- | --- | --- | --- | --- | --- |");
        for db in dbs {
            run(db, &o).await;
        }
    });
}

struct Target {
    base: String,
    db: sea_orm::DatabaseConnection,
    _dir: tempfile::TempDir,
    pg: Option<(String, String)>,
}

async fn start(kind: &str) -> Target {
    let dir = tempfile::tempdir().unwrap();
    let (url, pg) = if kind == "sqlite" {
        (
            format!(
                "sqlite://{}?mode=rwc",
                dir.path().join("bench.db").display()
            ),
            None,
        )
    } else {
        let admin = std::env::var("KOLHOST_TEST_POSTGRES_URL")
            .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
        let name = format!("kh_bench_{}", uuid::Uuid::new_v4().simple());
        let conn = sea_orm::Database::connect(&admin)
            .await
            .expect("PostgreSQL");
        conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
            .await
            .unwrap();
        let base = admin.rsplit_once('/').map(|(b, _)| b.to_owned()).unwrap();
        (format!("{base}/{name}"), Some((admin, name)))
    };
    let db = store::connect(&url).await.unwrap();
    store::prepare(&db).await.unwrap();
    let config = Config {
        database_url: url,
        // The benchmark measures the pipeline's throughput, not the rate limit in front of it.
        webhook_deliveries_per_second: 0,
        token_requests_per_second: 0,
        ..Config::default()
    };
    let app = router(AppState::start(db.clone(), config).await.unwrap());
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    Target {
        base: format!("http://{addr}"),
        db,
        _dir: dir,
        pg,
    }
}

async fn setup(t: &Target, http: &reqwest::Client) {
    let (admin, _) = tokens::create(
        &t.db,
        tokens::NewToken {
            name: "bench".into(),
            role: Role::Admin,
            brand_id: None,
            kol_id: None,
        },
        None,
    )
    .await
    .unwrap();
    let post = |path: &str, body: Value| {
        let req = http
            .post(format!("{}/api/v1{path}", t.base))
            .bearer_auth(&admin)
            .json(&body);
        async move {
            let r = req.send().await.unwrap();
            assert!(r.status().is_success(), "{}", r.text().await.unwrap());
            r.json::<Value>().await.unwrap()
        }
    };
    // The bundled Douyin plugin is installed at start; it only needs its credentials.
    let r = http
        .put(format!("{}/api/v1/plugins/douyin/config", t.base))
        .bearer_auth(&admin)
        .json(&json!({"app_key": KEY, "app_secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert!(r.status().is_success());
    let brand = post(
        "/brands",
        json!({"name": "Bench Foods", "categories": ["food"]}),
    )
    .await;
    let kol = post(
        "/kols",
        json!({"name": "Bench KOL", "tier": "head", "categories": ["food"],
        "accounts": [{"platform": "douyin", "account_id": "dy_bench", "followers": 1_000_000}],
        "revenue_share_bp": 5000, "tax_status": "company"}),
    )
    .await;
    post("/products", json!({"brand_id": brand["id"], "sku": "B-1", "name": "Nuts", "category": "food",
        "role": "traffic", "list_price_fen": 12_900, "floor_price_fen": 8_900, "stock_units": 1_000_000,
        "listings": [{"platform": "douyin", "item_id": "369001"}]}))
    .await;
    let c = post(
        "/contracts",
        json!({"brand_id": brand["id"], "kol_id": kol["id"], "platform": "douyin",
        "starts_at": "2026-01-01T00:00:00Z", "ends_at": "2030-01-01T00:00:00Z", "slot_fee_fen": 0,
        "commission_bp": 2000, "sessions_committed": 1}),
    )
    .await;
    for to in ["proposed", "signed", "active"] {
        post(
            &format!("/contracts/{}/transitions", c["id"].as_str().unwrap()),
            json!({"to": to}),
        )
        .await;
    }
}

fn deliveries(from: usize, n: usize) -> Vec<(Vec<u8>, String)> {
    (from..from + n)
        .map(|i| {
            let data = json!({"p_id": 7_000_000_000u64 + i as u64, "s_ids": [], "pay_amount": 12_900,
                "pay_time": 1_795_523_400i64, "product_id": "369001", "author_id": "dy_bench", "room_id": "7001", "item_num": 1});
            let body = json!([{"tag": "101", "msg_id": format!("bench-{i}"), "data": data.to_string()}]).to_string().into_bytes();
            let sign = douyin::push::event_sign(KEY, SECRET, &body, false);
            (body, sign)
        })
        .collect()
}

async fn send(http: &reqwest::Client, url: &str, d: &(Vec<u8>, String)) -> bool {
    match http
        .post(url)
        .header("event-sign", &d.1)
        .body(d.0.clone())
        .send()
        .await
    {
        Ok(r) => r.status().is_success(),
        Err(_) => false,
    }
}

async fn run(kind: &str, o: &Opts) {
    let t = start(kind).await;
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(1024)
        .build()
        .unwrap();
    setup(&t, &http).await;
    let url = format!("{}/webhooks/douyin", t.base);

    // Warm up: plugin instances, connections, statement caches.
    let warm = Arc::new(deliveries(10_000_000, 2_000));
    for d in warm.iter().take(2_000) {
        send(&http, &url, d).await;
    }

    // Throughput, closed loop.
    let all = Arc::new(deliveries(0, o.deliveries));
    let next = Arc::new(AtomicUsize::new(0));
    let errors = Arc::new(AtomicUsize::new(0));
    let started = Instant::now();
    let mut tasks = Vec::new();
    for _ in 0..o.concurrency {
        let (http, url, all, next, errors) = (
            http.clone(),
            url.clone(),
            all.clone(),
            next.clone(),
            errors.clone(),
        );
        tasks.push(tokio::spawn(async move {
            loop {
                let i = next.fetch_add(1, Ordering::Relaxed);
                let Some(d) = all.get(i) else { break };
                if !send(&http, &url, d).await {
                    errors.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    for t in tasks {
        t.await.unwrap();
    }
    let elapsed = started.elapsed();
    let throughput = o.deliveries as f64 / elapsed.as_secs_f64();
    let throughput_errors = errors.load(Ordering::Relaxed);

    // Latency at a fixed offered rate, open loop.
    let total = (o.rate * o.seconds) as usize;
    let paced = Arc::new(deliveries(20_000_000, total));
    let latencies = Arc::new(std::sync::Mutex::new(Vec::with_capacity(total)));
    let errors = Arc::new(AtomicUsize::new(0));
    let interval = Duration::from_secs_f64(1.0 / o.rate as f64);
    let started = Instant::now();
    let mut handles = Vec::with_capacity(total);
    for i in 0..total {
        let due = started + interval * i as u32;
        tokio::time::sleep_until(due.into()).await;
        let (http, url, paced, latencies, errors) = (
            http.clone(),
            url.clone(),
            paced.clone(),
            latencies.clone(),
            errors.clone(),
        );
        handles.push(tokio::spawn(async move {
            let t = Instant::now();
            if send(&http, &url, &paced[i]).await {
                latencies.lock().unwrap().push(t.elapsed());
            } else {
                errors.fetch_add(1, Ordering::Relaxed);
            }
        }));
    }
    for h in handles {
        h.await.unwrap();
    }
    let achieved = total as f64 / started.elapsed().as_secs_f64();
    let mut l = latencies.lock().unwrap().clone();
    l.sort();
    let pct = |p: usize| l.get(l.len() * p / 100).copied().unwrap_or_default();

    // Everything acknowledged is stored, once.
    let stored = kolhost::store::entities::order::Entity::find()
        .count(&t.db)
        .await
        .unwrap();
    let expected =
        2_000 + o.deliveries + total - throughput_errors - errors.load(Ordering::Relaxed);
    assert_eq!(
        stored as usize, expected,
        "every acknowledged delivery is one stored order"
    );

    println!(
        "| {kind} | {} | {} | {:.0} | {}/s | {:.0}/s | {:.2} ms | {:.2} ms | {} |",
        o.deliveries,
        o.concurrency,
        throughput,
        o.rate,
        achieved,
        pct(50).as_secs_f64() * 1000.0,
        pct(99).as_secs_f64() * 1000.0,
        throughput_errors + errors.load(Ordering::Relaxed),
    );
    if let Some((admin, name)) = &t.pg {
        t.db.clone().close().await.ok();
        let conn = sea_orm::Database::connect(admin).await.unwrap();
        conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
            .await
            .ok();
    }
}
