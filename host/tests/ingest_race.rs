//! Two hosts committing the same events: two ingest writers, each with its own connection
//! pool on one database (as two `kolhost serve` processes on one PostgreSQL would be), receive
//! every delivery (a platform redelivering to another host), concurrently and in different
//! orders. Every submission on both must succeed, and every event, order and refund must be
//! counted once, with refunds and settlements linked whichever host saw the order first.
//! On PostgreSQL and on SQLite.

use std::sync::Arc;

use chrono::{TimeZone, Utc};
use kolhost::ingest::events::{Paid, Refunded, Settled};
use kolhost::ingest::{
    DeliveryRecord, DeliveryStatus, Ingest, NormalBody, NormalEvent, Source, Submission,
};
use sea_orm::{ConnectionTrait, DatabaseConnection, Statement};
use uuid::Uuid;

/// Orders in the run; each has a paid, a refunded and a settled event.
const ORDERS: usize = 150;
const PLATFORM: &str = "douyin";
const PLUGIN: &str = "race-test";

fn events_of(k: usize) -> Vec<NormalEvent> {
    let oid = format!("o-{k}");
    let at =
        Utc.with_ymd_and_hms(2026, 11, 11, 0, 0, 0).unwrap() + chrono::Duration::seconds(k as i64);
    vec![
        NormalEvent {
            key: format!("paid-{k}"),
            body: NormalBody::OrderPaid(Paid {
                platform_order_id: oid.clone(),
                sub_order_id: String::new(),
                item_id: "item-1".into(),
                account_id: Some("acc-1".into()),
                room_id: None,
                units: 1,
                paid_fen: 1990,
                commission_bp: Some(2000),
                paid_at: at,
            }),
            platform_status: None,
        },
        NormalEvent {
            key: format!("refund-{k}"),
            body: NormalBody::OrderRefunded(Refunded {
                platform_order_id: oid.clone(),
                sub_order_id: String::new(),
                refund_id: Some(format!("r-{k}")),
                refunded_fen: 100,
                refunded_at: at + chrono::Duration::minutes(5),
            }),
            platform_status: None,
        },
        NormalEvent {
            key: format!("settle-{k}"),
            body: NormalBody::OrderSettled(Settled {
                platform_order_id: oid,
                sub_order_id: String::new(),
                settled_fen: 1890,
                commission_fen: Some(378),
                platform_fee_fen: Some(10),
                settled_at: at + chrono::Duration::days(7),
            }),
            platform_status: None,
        },
    ]
}

fn delivery(event: NormalEvent) -> Submission {
    Submission {
        plugin: PLUGIN.into(),
        platform: PLATFORM.into(),
        source: Source::Webhook(DeliveryRecord {
            id: Uuid::now_v7(),
            platform: PLATFORM.into(),
            plugin: PLUGIN.into(),
            status: DeliveryStatus::Accepted,
            method: "POST".into(),
            path: "/webhooks/race-test".into(),
            query: String::new(),
            headers: vec![],
            body: event.key.as_bytes().to_vec(),
            error: None,
            received_at: Utc::now(),
            size_bytes: None,
            body_sha256: None,
        }),
        events: vec![event],
    }
}

/// A deterministic shuffle (xorshift), different per host.
fn shuffled<T>(mut v: Vec<T>, seed: u64) -> Vec<T> {
    let mut x = seed | 1;
    for i in (1..v.len()).rev() {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        v.swap(i, (x % (i as u64 + 1)) as usize);
    }
    v
}

async fn count(db: &DatabaseConnection, sql: &str) -> i64 {
    let row = db
        .query_one_raw(Statement::from_string(db.get_database_backend(), sql))
        .await
        .unwrap()
        .unwrap();
    row.try_get_by_index::<i64>(0).unwrap()
}

async fn two_hosts_count_each_event_once(url: &str) {
    let setup = kolhost::store::connect(url).await.unwrap();
    kolhost::store::migrate(&setup).await.unwrap();
    // Two hosts: two pools, two writers.
    let hosts = [
        Ingest::start(kolhost::store::connect(url).await.unwrap()),
        Ingest::start(kolhost::store::connect(url).await.unwrap()),
    ];
    let all: Vec<NormalEvent> = (0..ORDERS).flat_map(events_of).collect();
    let mut tasks = Vec::new();
    for (h, ingest) in hosts.iter().enumerate() {
        // Each host gets every event, in its own order: refunds and settlements often before
        // their order, and the same event on both hosts at about the same time.
        let order = Arc::new(shuffled(all.clone(), 0x9e37_79b9 + h as u64 * 7919));
        // Many concurrent senders per host, so the writer forms real groups.
        for lane in 0..32 {
            let ingest = ingest.clone();
            let order = order.clone();
            tasks.push(tokio::spawn(async move {
                let mut new = 0;
                for e in order.iter().skip(lane).step_by(32) {
                    let c = ingest
                        .submit(delivery(e.clone()))
                        .await
                        .unwrap_or_else(|err| panic!("host {h}: {} failed: {err}", e.key));
                    assert_eq!(c.events, 1);
                    new += c.new_events;
                }
                new
            }));
        }
    }
    let mut new_events = 0;
    for t in tasks {
        new_events += t.await.unwrap();
    }
    assert_eq!(
        new_events,
        ORDERS * 3,
        "each event is new exactly once across both hosts"
    );

    let n = ORDERS as i64;
    assert_eq!(
        count(&setup, "SELECT COUNT(*) FROM webhook_deliveries").await,
        2 * 3 * n
    );
    assert_eq!(
        count(&setup, "SELECT COUNT(*) FROM platform_events").await,
        3 * n
    );
    assert_eq!(
        count(
            &setup,
            "SELECT COUNT(*) FROM platform_events \
             WHERE kind IN ('order_paid', 'order_settled') AND outcome <> 'applied'"
        )
        .await,
        0,
        "every order is created once and every settlement ends applied to its order"
    );
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM orders").await, n);
    assert_eq!(count(&setup, "SELECT COUNT(*) FROM order_refunds").await, n);
    assert_eq!(
        count(
            &setup,
            "SELECT COUNT(*) FROM order_refunds WHERE order_id IS NULL"
        )
        .await,
        0
    );
    assert_eq!(
        count(
            &setup,
            "SELECT COUNT(*) FROM orders WHERE refunded_fen = 100 AND settled_fen = 1890 \
             AND status = 'settled' AND paid_fen = 1990 AND item_id = 'item-1'"
        )
        .await,
        n,
        "every order has its refund counted once and its settlement"
    );
    assert_eq!(
        count(
            &setup,
            "SELECT COUNT(*) FROM webhook_deliveries WHERE new_events = 1"
        )
        .await,
        3 * n
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_on_one_postgres_count_each_event_once() {
    let admin = std::env::var("KOLHOST_TEST_POSTGRES_URL")
        .unwrap_or_else(|_| "postgres://postgres@127.0.0.1:5432/postgres".into());
    let name = format!("kh_test_race_{}", Uuid::new_v4().simple());
    let conn = sea_orm::Database::connect(&admin)
        .await
        .unwrap_or_else(|e| panic!("PostgreSQL must be reachable at {admin}: {e}"));
    conn.execute_unprepared(&format!("CREATE DATABASE {name}"))
        .await
        .unwrap();
    let base = admin.rsplit_once('/').map(|(b, _)| b).unwrap_or(&admin);
    two_hosts_count_each_event_once(&format!("{base}/{name}")).await;
    conn.execute_unprepared(&format!("DROP DATABASE IF EXISTS {name} WITH (FORCE)"))
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn two_writers_on_one_sqlite_file_count_each_event_once() {
    let dir = tempfile::tempdir().unwrap();
    let url = format!("sqlite://{}?mode=rwc", dir.path().join("race.db").display());
    two_hosts_count_each_event_once(&url).await;
}
