//! Crash safety of ingestion: the real `kolhost` binary is killed with SIGKILL while a load
//! generator sends webhook deliveries; after a restart every delivery that was acknowledged
//! is present exactly once. On SQLite and on PostgreSQL.

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sea_orm::{ConnectionTrait, Statement};
use serde_json::json;

mod process;
use process::{Server, free_port, kolhost, serve};

const KEY: &str = "crash-key";
const SECRET: &str = "crash-secret";

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

/// A mock TOP gateway for the TMC crash test: consume answers the messages not yet confirmed;
/// the order details call or the confirm call hangs (and is counted) while `hang_orders` /
/// `hang_confirm` is set, so the test can kill the server right there.
#[derive(Clone, Default)]
struct Top {
    tmc: Arc<Mutex<Vec<serde_json::Value>>>,
    orders: Arc<Mutex<Vec<serde_json::Value>>>,
    confirmed: Arc<Mutex<Vec<String>>>,
    hang_orders: Arc<std::sync::atomic::AtomicBool>,
    hang_confirm: Arc<std::sync::atomic::AtomicBool>,
    hung: Arc<std::sync::atomic::AtomicUsize>,
}

async fn top_mock(top: Top) -> String {
    use kolhost_platform_formats::taobao::{fixtures, tmc};
    use std::sync::atomic::Ordering::SeqCst;
    let app = axum::Router::new().fallback(move |body: axum::body::Bytes| {
        let top = top.clone();
        async move {
            let params = match fixtures::verify_api_request(KEY, SECRET, &body) {
                Ok(p) => p,
                Err(why) => return fixtures::error_response(25, "Invalid signature", "", &why),
            };
            let hang = |flag: &std::sync::atomic::AtomicBool| flag.load(SeqCst);
            match params["method"].as_str() {
                tmc::METHOD_CONSUME => fixtures::tmc_consume_response(&top.tmc.lock().unwrap()),
                tmc::METHOD_CONFIRM => {
                    if hang(&top.hang_confirm) {
                        top.hung.fetch_add(1, SeqCst);
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    let ids: Vec<String> = params["s_message_ids"]
                        .split(',')
                        .map(str::to_owned)
                        .collect();
                    top.tmc
                        .lock()
                        .unwrap()
                        .retain(|m| !ids.contains(&m["id"].to_string()));
                    top.confirmed.lock().unwrap().extend(ids);
                    fixtures::tmc_confirm_response()
                }
                method => {
                    if hang(&top.hang_orders) {
                        top.hung.fetch_add(1, SeqCst);
                        tokio::time::sleep(Duration::from_secs(3600)).await;
                    }
                    fixtures::order_page_response(method, &top.orders.lock().unwrap(), false, "", 1)
                }
            }
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn count(db: &sea_orm::DatabaseConnection, sql: &str) -> i64 {
    db.query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap()
        .try_get::<i64>("", "n")
        .unwrap()
}

/// Taobao TMC through the real binary, killed with SIGKILL after consuming and before the
/// commit, then after the commit and before the confirm: nothing is lost (TMC delivers the
/// unconfirmed messages again) and nothing is counted twice.
async fn tmc_crash_between_consume_and_confirm(db_url: &str) {
    use kolhost_platform_formats::fixtures::SampleOrder;
    use kolhost_platform_formats::taobao::fixtures;
    use std::sync::atomic::Ordering::SeqCst;

    kolhost(db_url, &["migrate"]);
    let admin = kolhost(
        db_url,
        &["token", "create", "--role", "admin", "--name", "tmc crash"],
    );
    let o = SampleOrder::new(77);
    let top = Top::default();
    top.tmc.lock().unwrap().extend([
        fixtures::buyer_pay(701, &o),
        fixtures::refund_success(702, &o, "rf-701", 9_900, o.paid_at + 600),
    ]);
    top.orders
        .lock()
        .unwrap()
        .push(fixtures::publisher_order(&o, 12, 0, o.paid_at));
    let addr = top_mock(top.clone()).await;
    let port = free_port();
    let http = reqwest::Client::new();

    // A staging version of the bundled component allowed to reach the mock, and its config.
    let mut server = serve(db_url, port).await;
    let manifest = std::fs::read_to_string(kolhost::plugins::artifacts::TAOBAO_MANIFEST)
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
                std::fs::read(kolhost::plugins::artifacts::TAOBAO).unwrap(),
            )
            .file_name("taobao.wasm"),
        );
    let r = http
        .post(format!("{}/api/v1/plugins", server.base))
        .bearer_auth(&admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 201, "{}", r.text().await.unwrap());
    let r = http
        .put(format!("{}/api/v1/plugins/taobao/config", server.base))
        .bearer_auth(&admin)
        .json(
            &json!({"app_key": KEY, "app_secret": SECRET, "tmc_group": "default",
            "api_base": format!("http://{addr}")}),
        )
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 200, "{}", r.text().await.unwrap());

    // Kills the server once the mock holds the call it hangs, and starts it again.
    async fn kill_when_hung(server: &mut Server, top: &Top, hung: usize, admin: &str) {
        let http = reqwest::Client::new();
        let poll = http
            .post(format!("{}/api/v1/plugins/taobao/poll", server.base))
            .bearer_auth(admin)
            .json(&json!({}))
            .timeout(Duration::from_secs(60))
            .send();
        let poll = tokio::spawn(poll);
        let deadline = Instant::now() + Duration::from_secs(30);
        while top.hung.load(SeqCst) < hung {
            assert!(Instant::now() < deadline, "the poll never reached the mock");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        server.child.kill().expect("SIGKILL");
        server.child.wait().unwrap();
        assert!(
            poll.await.unwrap().is_err(),
            "the poll died with the server"
        );
    }
    let db = kolhost::store::connect(db_url).await.unwrap();

    // 1. Killed after consuming, during the Union pull: nothing committed, nothing confirmed.
    top.hang_orders.store(true, SeqCst);
    kill_when_hung(&mut server, &top, 1, &admin).await;
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM orders").await, 0);
    assert!(top.confirmed.lock().unwrap().is_empty());
    top.hang_orders.store(false, SeqCst);

    // 2. Restarted: the messages come again and are committed; killed during the confirm.
    server = serve(db_url, port).await;
    top.hang_confirm.store(true, SeqCst);
    kill_when_hung(&mut server, &top, 2, &admin).await;
    assert!(top.confirmed.lock().unwrap().is_empty());
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM orders").await, 1);
    top.hang_confirm.store(false, SeqCst);

    // 3. Restarted: delivered a third time, counted once, confirmed.
    server = serve(db_url, port).await;
    let r = http
        .post(format!("{}/api/v1/plugins/taobao/poll", server.base))
        .bearer_auth(&admin)
        .json(&json!({}))
        .send()
        .await
        .unwrap();
    let report: serde_json::Value = r.json().await.unwrap();
    assert!(report["error"].is_null(), "{report}");
    assert_eq!(report["new_events"], 0, "{report}");
    assert_eq!(*top.confirmed.lock().unwrap(), ["701", "702"]);
    assert_eq!(count(&db, "SELECT COUNT(*) AS n FROM orders").await, 1);
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM order_refunds").await,
        1
    );
    assert_eq!(
        count(&db, "SELECT refunded_fen AS n FROM orders").await,
        9_900
    );
    assert_eq!(
        count(&db, "SELECT COUNT(*) AS n FROM orders WHERE awaiting_detail = FALSE AND attributed = FALSE AND item_id <> ''").await,
        1,
        "the Union order completed the notice"
    );
    server.child.kill().ok();
    server.child.wait().ok();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tmc_survives_sigkill_between_consume_and_confirm_on_sqlite() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("tmc.db").display());
    tmc_crash_between_consume_and_confirm(&url).await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn tmc_survives_sigkill_between_consume_and_confirm_on_postgres() {
    let admin = std::env::var("KOLHOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("kh_test_tmc_{}", uuid::Uuid::new_v4().simple());
    let conn = sea_orm::Database::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin}: {e}"));
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    tmc_crash_between_consume_and_confirm(&format!("{base}/{name}")).await;
    conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}
