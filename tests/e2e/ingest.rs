//! Order ingestion through `/webhooks/{platform}`: durable, deduplicated, attributed.
//!
//! These tests drive the pipeline with a `kolhost:plugin@0.1.0` component (`plugins/tests/
//! legacy-v010`, Douyin-style push: `event-sign = md5(app_key + body + app_secret)`, tag 101 a
//! complete paid order, 206 refunded) installed as the `douyin` plugin, so they also show that
//! a 0.1.0 component still serves through the host's adapter. The bundled platform plugins
//! (0.2.0, order notices completed by pulls) have their own tests (`platforms.rs`).

use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases};
use md5::{Digest, Md5};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

use crate::fixtures::{Agency, agency, contract_in, id};

both_databases!(
    paid_orders_are_acknowledged_attributed_and_counted_once,
    a_refund_before_its_order_is_applied_when_the_order_arrives,
    bad_deliveries_are_refused_and_change_nothing,
    unattributed_orders_are_kept_listed_and_reattributed,
    brand_and_kol_tokens_see_only_their_orders
);

const KEY: &str = "test-app-key";
const SECRET: &str = "test-app-secret";
/// 2026-11-24T12:30:00Z, inside the session below.
const PAY_TIME: i64 = 1_795_523_400;

/// The 0.1.0 test plugin installed as `douyin`, configured with a test key and secret.
async fn install_douyin(app: &TestApp) {
    let manifest = "name = \"douyin\"\nversion = \"1.0.0\"\nworld = \"platform\"\ngrants = [\"log\", \"config\"]\n";
    let component = std::fs::read(kolhost::plugins::artifacts::LEGACY_V010).expect("built");
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
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    let (status, v) = app
        .call(
            reqwest::Method::PUT,
            "/api/v1/plugins/douyin/config",
            Some(&app.admin),
            Some(json!({"app_key": KEY, "app_secret": SECRET})),
        )
        .await;
    assert_eq!(status, 200, "{v}");
}

/// An agency with an active Douyin contract between brand A and the head KOL, and a session of
/// the head KOL in room 7001 from 12:00 to 14:00 on 2026-11-24.
async fn setup(app: &TestApp) -> (Agency, Value, Value) {
    install_douyin(app).await;
    let a = agency(app).await;
    let contract = contract_in(app, &a.brand_a, &a.head, "douyin", "active").await;
    let session = app
        .create(
            "/api/v1/sessions",
            json!({"kol_id": a.head["id"], "platform": "douyin", "room_id": "7001", "title": "双十二预热",
                "starts_at": "2026-11-24T12:00:00Z", "ends_at": "2026-11-24T14:00:00Z", "outline": "开场福利", "lineup": []}),
        )
        .await;
    (a, contract, session)
}

fn paid(msg_id: &str, order: u64, item: &str, author: &str, fen: i64) -> Value {
    let data = json!({"p_id": order, "s_ids": [order + 1], "shop_id": 4463798, "pay_amount": fen,
        "pay_time": PAY_TIME, "product_id": item, "author_id": author, "room_id": "7001", "item_num": 2});
    json!({"tag": "101", "msg_id": msg_id, "data": data.to_string()})
}

/// A paid order through the KOL's link, outside any live room.
fn paid_off_live(msg_id: &str, order: u64, item: &str, author: &str, fen: i64) -> Value {
    let data = json!({"p_id": order, "pay_amount": fen, "pay_time": PAY_TIME, "product_id": item,
        "author_id": author, "item_num": 1});
    json!({"tag": "101", "msg_id": msg_id, "data": data.to_string()})
}

fn refunded(msg_id: &str, order: u64, aftersale: u64, fen: i64) -> Value {
    let data = json!({"p_id": order, "s_id": order + 1, "aftersale_id": aftersale, "refund_amount": fen,
        "update_time": PAY_TIME + 3600});
    json!({"tag": "206", "msg_id": msg_id, "data": data.to_string()})
}

fn sign(key: &str, body: &[u8], secret: &str) -> String {
    let mut h = Md5::new();
    h.update(key.as_bytes());
    h.update(body);
    h.update(secret.as_bytes());
    hex(&h.finalize())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// Posts raw bytes to `/webhooks/douyin` with the given signature; answers status and body.
async fn post_raw(app: &TestApp, body: Vec<u8>, event_sign: &str) -> (u16, String) {
    let res = app
        .http
        .post(format!("{}/webhooks/douyin", app.base))
        .header("app-id", KEY)
        .header("event-sign", event_sign)
        .header("content-type", "application/json")
        .body(body)
        .send()
        .await
        .unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn deliver(app: &TestApp, messages: Value) -> (u16, String) {
    let body = messages.to_string().into_bytes();
    let sig = sign(KEY, &body, SECRET);
    post_raw(app, body, &sig).await
}

async fn orders(app: &TestApp, query: &str, token: &str) -> Vec<Value> {
    let (status, v) = app.get(&format!("/api/v1/orders{query}"), token).await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

async fn paid_orders_are_acknowledged_attributed_and_counted_once(app: &TestApp) {
    let (a, contract, session) = setup(app).await;
    let batch = json!([paid("m-1", 9001, "369001", "dy_1001", 25_800)]);
    for _ in 0..3 {
        let (status, body) = deliver(app, batch.clone()).await;
        assert_eq!(status, 200, "{body}");
        assert_eq!(body, r#"{"code":0,"msg":"success"}"#);
    }
    let all = orders(app, "", &app.admin).await;
    assert_eq!(all.len(), 1, "a redelivered order counts once: {all:?}");
    let o = &all[0];
    assert_eq!(o["platform"], "douyin");
    assert_eq!(o["platform_order_id"], "9001");
    assert_eq!(o["sub_order_id"], "9002");
    assert_eq!(
        (o["units"].as_i64(), o["paid_fen"].as_i64()),
        (Some(2), Some(25_800))
    );
    assert_eq!(o["status"], "paid");
    assert_eq!(o["paid_at"], "2026-11-24T12:30:00Z");
    assert_eq!(o["attributed"], true, "{o}");
    assert_eq!(o["kol_id"], a.head["id"]);
    assert_eq!(o["product_id"], a.product_a["id"]);
    assert_eq!(o["brand_id"], a.brand_a["id"]);
    assert_eq!(o["contract_id"], contract["id"]);
    assert_eq!(o["session_id"], session["id"]);

    // GMV per session, KOL, brand and contract.
    for (by, key) in [
        ("session", &session["id"]),
        ("kol", &a.head["id"]),
        ("brand", &a.brand_a["id"]),
        ("contract", &contract["id"]),
    ] {
        let (status, g) = app.get(&format!("/api/v1/gmv?by={by}"), &app.admin).await;
        assert_eq!(status, 200, "{g}");
        assert_eq!(g["items"].as_array().unwrap().len(), 1, "{g}");
        assert_eq!(&g["items"][0]["key"], key);
        assert_eq!(g["items"][0]["gmv_fen"], 25_800);
        assert_eq!(g["items"][0]["net_gmv_fen"], 25_800);
        assert_eq!(g["items"][0]["orders"], 1);
    }
    // Days in the agency's time zone: 12:30 UTC is 20:30 in China.
    let (_, g) = app
        .get("/api/v1/gmv?by=day&tz_offset_minutes=480", &app.admin)
        .await;
    assert_eq!(g["items"][0]["key"], "2026-11-24");

    // Three deliveries were stored; one event was new.
    let (_, d) = app
        .get("/api/v1/webhook-deliveries?status=accepted", &app.admin)
        .await;
    let d = d["items"].as_array().unwrap();
    assert_eq!(d.len(), 3);
    assert_eq!(
        d.iter()
            .map(|x| x["new_events"].as_i64().unwrap())
            .sum::<i64>(),
        1
    );

    // A refund lowers net GMV, once however often it is delivered.
    for _ in 0..2 {
        let (status, _) = deliver(app, json!([refunded("m-2", 9001, 77, 12_900)])).await;
        assert_eq!(status, 200);
    }
    let o = &orders(app, "", &app.admin).await[0];
    assert_eq!(
        (o["refunded_fen"].as_i64(), o["net_fen"].as_i64()),
        (Some(12_900), Some(12_900))
    );
    assert_eq!(o["status"], "partially_refunded");
    let (_, detail) = app
        .get(&format!("/api/v1/orders/{}", id(o)), &app.admin)
        .await;
    assert_eq!(detail["refunds"][0]["refund_id"], "77");
    let (_, g) = app.get("/api/v1/gmv?by=kol", &app.admin).await;
    assert_eq!(
        (
            g["total"]["gmv_fen"].as_i64(),
            g["total"]["net_gmv_fen"].as_i64()
        ),
        (Some(25_800), Some(12_900))
    );

    // The rest refunded: fully refunded.
    deliver(app, json!([refunded("m-3", 9001, 78, 12_900)])).await;
    let o = &orders(app, "", &app.admin).await[0];
    assert_eq!(
        (o["status"].as_str(), o["net_fen"].as_i64()),
        (Some("refunded"), Some(0))
    );
}

async fn a_refund_before_its_order_is_applied_when_the_order_arrives(app: &TestApp) {
    setup(app).await;
    let (status, _) = deliver(app, json!([refunded("r-1", 5001, 91, 5_000)])).await;
    assert_eq!(
        status, 200,
        "a refund for an unknown order is still acknowledged"
    );
    assert!(orders(app, "", &app.admin).await.is_empty());
    // Both in one delivery too: a second order, refund first.
    let (status, _) = deliver(
        app,
        json!([
            refunded("r-2", 6001, 92, 1_000),
            paid("p-2", 6001, "369001", "dy_1001", 3_000)
        ]),
    )
    .await;
    assert_eq!(status, 200);
    let (status, _) = deliver(app, json!([paid("p-1", 5001, "369001", "dy_1001", 20_000)])).await;
    assert_eq!(status, 200);
    let all = orders(app, "", &app.admin).await;
    assert_eq!(all.len(), 2);
    let by_id = |oid: &str| {
        all.iter()
            .find(|o| o["platform_order_id"] == oid)
            .unwrap()
            .clone()
    };
    let first = by_id("5001");
    assert_eq!(
        (first["refunded_fen"].as_i64(), first["net_fen"].as_i64()),
        (Some(5_000), Some(15_000))
    );
    assert_eq!(first["status"], "partially_refunded");
    let second = by_id("6001");
    assert_eq!(
        (second["refunded_fen"].as_i64(), second["net_fen"].as_i64()),
        (Some(1_000), Some(2_000))
    );
}

async fn bad_deliveries_are_refused_and_change_nothing(app: &TestApp) {
    setup(app).await;
    let body = json!([paid("m-1", 9001, "369001", "dy_1001", 25_800)])
        .to_string()
        .into_bytes();

    // Tampered body: signed, then the amount changed.
    let sig = sign(KEY, &body, SECRET);
    let tampered = String::from_utf8(body.clone())
        .unwrap()
        .replace("25800", "2580000")
        .into_bytes();
    let (status, problem) = post_raw(app, tampered, &sig).await;
    assert_eq!(status, 401, "{problem}");
    let problem: Value = serde_json::from_str(&problem).unwrap();
    assert_eq!(problem["status"], 401);
    assert!(
        problem["detail"]
            .as_str()
            .unwrap()
            .contains("not authentic"),
        "{problem}"
    );

    // Signed with the wrong secret; no signature at all.
    let (status, _) = post_raw(app, body.clone(), &sign(KEY, &body, "wrong-secret")).await;
    assert_eq!(status, 401);
    let (status, _) = post_raw(app, body.clone(), "").await;
    assert_eq!(status, 401);

    // Truncated JSON, correctly signed: authentic but malformed.
    let truncated = body[..body.len() / 2].to_vec();
    let sig = sign(KEY, &truncated, SECRET);
    let (status, problem) = post_raw(app, truncated, &sig).await;
    assert_eq!(status, 400, "{problem}");

    // Too large: refused before the plugin sees it.
    let huge = vec![b' '; 300 * 1024];
    let sig = sign(KEY, &huge, SECRET);
    let (status, _) = post_raw(app, huge, &sig).await;
    assert_eq!(status, 413);

    // No plugin for the platform.
    let res = app
        .http
        .post(format!("{}/webhooks/tiktok", app.base))
        .body("[]")
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 404);

    assert!(
        orders(app, "", &app.admin).await.is_empty(),
        "nothing was applied"
    );
    let (_, rejected) = app
        .get("/api/v1/webhook-deliveries?status=rejected", &app.admin)
        .await;
    assert_eq!(
        rejected["items"].as_array().unwrap().len(),
        3,
        "bad signatures are kept as rejected deliveries"
    );
    assert_eq!(rejected["items"][0]["new_events"], 0);
    let (_, malformed) = app
        .get("/api/v1/webhook-deliveries?status=malformed", &app.admin)
        .await;
    assert_eq!(malformed["items"].as_array().unwrap().len(), 1);
    let (_, accepted) = app
        .get("/api/v1/webhook-deliveries?status=accepted", &app.admin)
        .await;
    assert!(accepted["items"].as_array().unwrap().is_empty());

    // The genuine delivery still goes through afterwards.
    let (status, _) = post_raw(app, body.clone(), &sign(KEY, &body, SECRET)).await;
    assert_eq!(status, 200);
    assert_eq!(orders(app, "", &app.admin).await.len(), 1);
}

async fn unattributed_orders_are_kept_listed_and_reattributed(app: &TestApp) {
    let (a, contract, _) = setup(app).await;
    // An unknown author, an unknown item, and a known KOL with a brand it has no contract with.
    let product_c = app
        .create(
            "/api/v1/products",
            json!({"brand_id": a.brand_b["id"], "sku": "LY-9", "name": "面膜", "category": "beauty",
            "role": "profit", "list_price_fen": 9_900, "floor_price_fen": 6_900, "stock_units": 100,
            "listings": [{"platform": "douyin", "item_id": "369777"}]}),
        )
        .await;
    let (status, _) = deliver(
        app,
        json!([
            paid_off_live("u-1", 1001, "369001", "dy_stranger", 1_000),
            paid("u-2", 2001, "999999", "dy_1001", 2_000),
            paid("u-3", 3001, "369777", "dy_1001", 3_000),
        ]),
    )
    .await;
    assert_eq!(status, 200);
    let un = orders(app, "?attributed=false", &app.admin).await;
    assert_eq!(un.len(), 3, "unattributed orders are kept: {un:?}");
    let reason = |oid: &str| {
        un.iter().find(|o| o["platform_order_id"] == oid).unwrap()["unattributed_reason"]
            .as_str()
            .unwrap()
            .to_owned()
    };
    assert!(
        reason("1001").contains("no KOL has douyin account dy_stranger"),
        "{}",
        reason("1001")
    );
    assert!(
        reason("2001").contains("no product lists douyin item 999999"),
        "{}",
        reason("2001")
    );
    assert!(
        reason("3001").contains("no signed or active contract"),
        "{}",
        reason("3001")
    );
    assert!(orders(app, "?attributed=true", &app.admin).await.is_empty());

    // The agency signs brand B with the head KOL and registers the stranger's account; a
    // re-run attributes what it now can.
    let b_contract = contract_in(app, &a.brand_b, &a.head, "douyin", "signed").await;
    let (status, _) = app
        .call(reqwest::Method::PATCH, &format!("/api/v1/kols/{}", id(&a.head)), Some(&app.admin),
            Some(json!({"accounts": [{"platform": "douyin", "account_id": "dy_1001", "followers": 1},
                                      {"platform": "douyin", "account_id": "dy_stranger", "followers": 1}]})))
        .await;
    assert_eq!(status, 200);
    let manager = app.token(Role::Manager, None).await;
    let (status, r) = app
        .post("/api/v1/orders/reattribute", &manager, json!({}))
        .await;
    assert_eq!(status, 200, "{r}");
    assert_eq!(
        (r["examined"].as_i64(), r["attributed"].as_i64()),
        (Some(3), Some(2))
    );
    let now = orders(app, "?attributed=true", &app.admin).await;
    assert_eq!(now.len(), 2);
    let c = now
        .iter()
        .find(|o| o["platform_order_id"] == "3001")
        .unwrap();
    assert_eq!(
        (&c["contract_id"], &c["product_id"]),
        (&b_contract["id"], &product_c["id"])
    );
    let s = now
        .iter()
        .find(|o| o["platform_order_id"] == "1001")
        .unwrap();
    assert_eq!(s["contract_id"], contract["id"]);
    assert_eq!(orders(app, "?attributed=false", &app.admin).await.len(), 1);
    let (_, audit) = app
        .get("/api/v1/audit?action=orders.reattribute", &app.admin)
        .await;
    assert!(audit.to_string().contains("orders.reattribute"), "{audit}");
}

async fn brand_and_kol_tokens_see_only_their_orders(app: &TestApp) {
    let (a, _, _) = setup(app).await;
    deliver(
        app,
        json!([
            paid("m-1", 9001, "369001", "dy_1001", 25_800),
            paid("m-2", 9101, "999999", "dy_1001", 100)
        ]),
    )
    .await;
    let brand_a = app
        .token(Role::Brand, Some(id(&a.brand_a).parse().unwrap()))
        .await;
    let brand_b = app
        .token(Role::Brand, Some(id(&a.brand_b).parse().unwrap()))
        .await;
    let head = app
        .token(Role::Kol, Some(id(&a.head).parse().unwrap()))
        .await;
    let tail = app
        .token(Role::Kol, Some(id(&a.tail).parse().unwrap()))
        .await;
    assert_eq!(orders(app, "", &brand_a).await.len(), 1);
    assert_eq!(orders(app, "", &head).await.len(), 1);
    assert!(orders(app, "", &brand_b).await.is_empty());
    assert!(orders(app, "", &tail).await.is_empty());
    let o = &orders(app, "", &app.admin).await[0];
    let (status, _) = app
        .get(&format!("/api/v1/orders/{}", id(o)), &brand_b)
        .await;
    assert_eq!(status, 404);
    let (_, g) = app.get("/api/v1/gmv?by=brand", &brand_b).await;
    assert_eq!(g["total"]["gmv_fen"], 0);
    let (status, _) = app.get("/api/v1/webhook-deliveries", &brand_a).await;
    assert_eq!(status, 403);
}
