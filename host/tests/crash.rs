//! Crash safety of ingestion: the real `kolhost` binary is killed with SIGKILL while a load
//! generator sends webhook deliveries; after a restart every delivery that was acknowledged
//! is present exactly once. On SQLite and on PostgreSQL.

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

const KEY: &str = "crash-key";
const SECRET: &str = "crash-secret";

fn kolhost(db_url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kolhost"))
        .args(args)
        .env("KOLHOST_DATABASE_URL", db_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("run kolhost");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

struct Server {
    child: Child,
    base: String,
}

async fn serve(db_url: &str, port: u16) -> Server {
    let child = Command::new(env!("CARGO_BIN_EXE_kolhost"))
        .arg("serve")
        .env("KOLHOST_DATABASE_URL", db_url)
        .env("KOLHOST_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("start kolhost");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "kolhost did not come up on {base}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    Server { child, base }
}

fn delivery(order: u64) -> (Vec<u8>, String) {
    let data = json!({"p_id": order, "s_ids": [], "pay_amount": 1990, "pay_time": 1_795_523_400i64,
        "product_id": "369001", "author_id": "dy_1001", "room_id": "7001", "item_num": 1});
    let body =
        json!([{"tag": "101", "msg_id": format!("crash-{order}"), "data": data.to_string()}])
            .to_string()
            .into_bytes();
    let sign = kolhost_platform_formats::douyin::push::event_sign(KEY, SECRET, &body, false);
    (body, sign)
}

async fn crash_and_recover(db_url: &str) {
    kolhost(db_url, &["migrate"]);
    let admin = kolhost(
        db_url,
        &["token", "create", "--role", "admin", "--name", "crash test"],
    );
    let port = free_port();
    let mut server = serve(db_url, port).await;
    let http = reqwest::Client::new();

    // The bundled Douyin plugin, installed by `migrate`, only needs its credentials.
    let r = http
        .put(format!("{}/api/v1/plugins/douyin/config", server.base))
        .bearer_auth(&admin)
        .json(&json!({"app_key": KEY, "app_secret": SECRET}))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200);

    // 32 senders, each with its own order ids; the server is killed under them.
    let acked: Arc<Mutex<Vec<u64>>> = Arc::default();
    let mut senders = Vec::new();
    for w in 0..32u64 {
        let (http, base, acked) = (http.clone(), server.base.clone(), acked.clone());
        senders.push(tokio::spawn(async move {
            for n in 0.. {
                let order = w * 1_000_000 + n;
                let (body, sign) = delivery(order);
                let res = http
                    .post(format!("{base}/webhooks/douyin"))
                    .header("event-sign", sign)
                    .body(body)
                    .timeout(Duration::from_secs(5))
                    .send()
                    .await;
                match res {
                    Ok(r) if r.status().is_success() => acked.lock().unwrap().push(order),
                    Ok(r) => panic!("unexpected answer {}", r.status()),
                    Err(_) => return, // the server is gone
                }
            }
        }));
    }
    let deadline = Instant::now() + Duration::from_secs(30);
    while acked.lock().unwrap().len() < 400 && Instant::now() < deadline {
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    server.child.kill().expect("SIGKILL"); // Child::kill is SIGKILL on Unix
    server.child.wait().unwrap();
    for s in senders {
        s.await.unwrap();
    }
    let acked = acked.lock().unwrap().clone();
    assert!(
        acked.len() >= 100,
        "the load generator got only {} acknowledgements",
        acked.len()
    );

    // After a restart, every acknowledged delivery is there, once.
    let mut server = serve(db_url, port).await;
    let db = kolhost::store::connect(db_url).await.unwrap();
    let backend = db.get_database_backend();
    let rows = db
        .query_all_raw(Statement::from_string(
            backend,
            "SELECT platform_order_id, COUNT(*) AS n FROM orders GROUP BY platform_order_id",
        ))
        .await
        .unwrap();
    let mut stored = std::collections::HashMap::new();
    for r in rows {
        let id: String = r.try_get("", "platform_order_id").unwrap();
        let n: i64 = r.try_get("", "n").unwrap();
        stored.insert(id, n);
    }
    for order in &acked {
        assert_eq!(
            stored.get(&order.to_string()),
            Some(&1),
            "acknowledged order {order} must be stored exactly once"
        );
    }
    let events = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM platform_events",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(events as usize, stored.len(), "one event per stored order");

    // Redelivering everything acknowledged changes nothing.
    for order in acked.iter().take(50) {
        let (body, sign) = delivery(*order);
        let r = http
            .post(format!("{}/webhooks/douyin", server.base))
            .header("event-sign", sign)
            .body(body)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success());
    }
    let after = db
        .query_one_raw(Statement::from_string(
            backend,
            "SELECT COUNT(*) AS n FROM orders",
        ))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap();
    assert_eq!(after as usize, stored.len());
    eprintln!(
        "{backend:?}: {} acknowledged before SIGKILL, {} stored, all acknowledged present once",
        acked.len(),
        stored.len()
    );
    server.child.kill().ok();
    server.child.wait().ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_deliveries_survive_sigkill_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!(
        "sqlite://{}?mode=rwc",
        dir.path().join("crash.db").display()
    );
    crash_and_recover(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn acknowledged_deliveries_survive_sigkill_on_postgres() {
    let admin = std::env::var("KOLHOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("kh_test_crash_{}", uuid::Uuid::new_v4().simple());
    let conn = sea_orm::Database::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin}: {e}"));
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    crash_and_recover(&format!("{base}/{name}")).await;
    conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}
