//! Forged traffic has a bounded cost: refused deliveries are kept as capped digests and pruned
//! by the retention job; applied deliveries lose only their raw body, never their orders.

use chrono::{Duration, Utc};
use kolhost::store::entities::webhook_delivery;
use kolhost_e2e::{TestApp, both_databases, both_databases_with};
use reqwest::multipart::{Form, Part};
use sea_orm::{ActiveModelTrait, EntityTrait, PaginatorTrait, Set};
use serde_json::json;

both_databases_with!(
    a_flood_of_forged_deliveries_stays_within_a_bound => |c: &mut kolhost::config::Config| {
        c.webhook_max_body_bytes = 1024 * 1024;
        c.rejected_deliveries_per_minute = 20;
    },
);
both_databases!(retention_prunes_old_deliveries);

async fn install_douyin(app: &TestApp) {
    let manifest = "name = \"douyin\"\nversion = \"1.0.0\"\nworld = \"platform\"\ngrants = [\"log\", \"config\"]\n";
    let component = std::fs::read(kolhost::plugins::artifacts::EXAMPLE_PLATFORM).expect("built");
    let form = Form::new()
        .text("manifest", manifest)
        .part("component", Part::bytes(component).file_name("douyin.wasm"));
    let res = app
        .http
        .post(format!("{}/api/v1/plugins", app.base))
        .bearer_auth(&app.admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201);
    let (status, v) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/plugins/douyin/config",
            Some(&app.admin),
            Some(json!({"app_key": "k", "app_secret": "s"})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
}

async fn a_flood_of_forged_deliveries_stays_within_a_bound(app: &TestApp) {
    install_douyin(app).await;
    let forged = vec![b'x'; 512 * 1024];
    for i in 0..150 {
        let res = app
            .http
            .post(format!("{}/webhooks/douyin", app.base))
            .header("app-id", "k")
            .header("event-sign", format!("forged-{i}"))
            .header("cookie", "secret=1")
            .header("content-type", "application/json")
            .body(forged.clone())
            .send()
            .await
            .unwrap();
        assert_eq!(res.status(), 401, "{i}");
        assert_eq!(res.headers()["content-type"], "application/problem+json");
    }
    // At most the cap of rows, each at most a KiB of body.
    let rows = webhook_delivery::Entity::find().all(&app.db).await.unwrap();
    assert_eq!(rows.len(), 20);
    for r in &rows {
        assert_eq!(r.status, "rejected");
        assert_eq!(r.body.len(), 1024);
        assert_eq!(r.size_bytes, Some(512 * 1024));
        assert_eq!(r.body_sha256.as_deref().map(str::len), Some(64));
        let headers = r.headers.to_string();
        assert!(
            headers.contains("event-sign") && !headers.contains("cookie"),
            "{headers}"
        );
        assert!(headers.len() < 4096);
    }
    // What operators see: the real size.
    let (_, listed) = app
        .get(
            "/api/v1/webhook-deliveries?status=rejected&limit=500",
            &app.admin,
        )
        .await;
    let items = listed["items"].as_array().unwrap();
    assert_eq!(items.len(), 20);
    assert_eq!(items[0]["body_bytes"], 512 * 1024);
    // The rest were counted, not stored.
    let metrics = app
        .http
        .get(format!("{}/metrics", app.base))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let unrecorded = crate::limits::metric(
        &metrics,
        "kolhost_webhook_unrecorded_total{platform=\"douyin\",status=\"rejected\"}",
    );
    assert_eq!(unrecorded, 130.0, "{metrics}");
}

async fn retention_prunes_old_deliveries(app: &TestApp) {
    let now = Utc::now();
    let row = |status: &str, age_days: i64, body: &[u8]| webhook_delivery::ActiveModel {
        id: Set(uuid::Uuid::now_v7()),
        platform: Set("douyin".into()),
        plugin: Set("douyin".into()),
        status: Set(status.into()),
        method: Set("POST".into()),
        path: Set("/webhooks/douyin".into()),
        query: Set(String::new()),
        headers: Set(json!([])),
        body: Set(body.to_vec()),
        events: Set(0),
        new_events: Set(0),
        error: Set(None),
        received_at: Set(now - Duration::days(age_days)),
        size_bytes: Set(None),
        body_sha256: Set(None),
    };
    let old_rejected = row("rejected", 40, b"x").insert(&app.db).await.unwrap();
    let old_malformed = row("malformed", 31, b"x").insert(&app.db).await.unwrap();
    let recent_rejected = row("rejected", 10, b"x").insert(&app.db).await.unwrap();
    let old_accepted = row("accepted", 200, b"{\"order\": 1}")
        .insert(&app.db)
        .await
        .unwrap();
    let recent_accepted = row("accepted", 10, b"{\"order\": 2}")
        .insert(&app.db)
        .await
        .unwrap();
    let old_failed = row("failed", 400, b"replay me")
        .insert(&app.db)
        .await
        .unwrap();

    let policy = kolhost::config::Config::default().retention();
    let pruned = kolhost::service::retention::run_once(&app.db, &policy, now)
        .await
        .unwrap();
    assert_eq!(pruned.refused_deleted, 2);
    assert_eq!(pruned.bodies_dropped, 1);
    let find = |id| webhook_delivery::Entity::find_by_id(id).one(&app.db);
    assert!(find(old_rejected.id).await.unwrap().is_none());
    assert!(find(old_malformed.id).await.unwrap().is_none());
    assert!(find(recent_rejected.id).await.unwrap().is_some());
    let kept = find(old_accepted.id).await.unwrap().expect("the row stays");
    assert!(kept.body.is_empty());
    assert_eq!(kept.size_bytes, Some(12));
    assert_eq!(
        find(recent_accepted.id).await.unwrap().unwrap().body,
        b"{\"order\": 2}"
    );
    assert_eq!(
        find(old_failed.id).await.unwrap().unwrap().body,
        b"replay me"
    );
    // A second run finds nothing more.
    let again = kolhost::service::retention::run_once(&app.db, &policy, now)
        .await
        .unwrap();
    assert_eq!(again, Default::default());
    assert_eq!(
        webhook_delivery::Entity::find()
            .count(&app.db)
            .await
            .unwrap(),
        4
    );
}
