//! The bundled Taobao, Douyin and Kuaishou plugins behind `/webhooks/{platform}`, with
//! deliveries built from each platform's public formats (signed or encrypted with test secrets
//! by `kolhost-platform-formats`' fixtures), and Douyin's order pull against a local mock of
//! its open API, resumed from the stored cursor after a restart.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::Uri;
use kolhost::app::AppState;
use kolhost::config::Config;
use kolhost_e2e::{TestApp, both_databases};
use kolhost_platform_formats::fixtures::{SampleOrder, SignedDelivery};
use kolhost_platform_formats::{douyin, kuaishou, taobao};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

both_databases!(
    douyin_deliveries_end_to_end,
    kuaishou_deliveries_end_to_end,
    taobao_deliveries_end_to_end,
    douyin_orders_are_pulled_and_polling_resumes_after_a_restart
);

const KEY: &str = "e2e-app-key";
const SECRET: &str = "e2e-app-secret";
/// 2026-11-24T12:30:00Z, inside the session the setup creates.
const PAY_TIME: i64 = 1_795_523_400;

fn order(n: u64) -> SampleOrder {
    let mut o = SampleOrder::new(n);
    o.paid_at = PAY_TIME;
    o
}

/// A KOL with `o`'s account on `platform`, a product listing `o`'s item, an active contract
/// between them on `platform`, and a session in `o`'s room around the pay time.
async fn roster_for(app: &TestApp, platform: &str, o: &SampleOrder) -> (Value, Value, Value) {
    let brand = app
        .create(
            "/api/v1/brands",
            json!({"name": "禾田优选", "categories": ["food"]}),
        )
        .await;
    let kol = app
        .create("/api/v1/kols", json!({"name": "林小满", "tier": "head", "categories": ["food"],
            "accounts": [{"platform": platform, "account_id": o.account_id, "followers": 1_000_000}],
            "revenue_share_bp": 5000, "tax_status": "company"}))
        .await;
    let product = app
        .create("/api/v1/products", json!({"brand_id": brand["id"], "sku": "HT-1", "name": "每日坚果", "category": "food",
            "role": "traffic", "list_price_fen": 19_900, "floor_price_fen": 9_900, "stock_units": 1000,
            "listings": [{"platform": platform, "item_id": o.item_id}]}))
        .await;
    let contract = crate::fixtures::contract_in(app, &brand, &kol, platform, "active").await;
    app.create(
        "/api/v1/sessions",
        json!({"kol_id": kol["id"], "platform": platform, "room_id": o.room_id,
        "title": "晚场", "starts_at": "2026-11-24T12:00:00Z", "ends_at": "2026-11-24T14:00:00Z"}),
    )
    .await;
    (kol, product, contract)
}

async fn configure(app: &TestApp, plugin: &str, config: Value) {
    let (status, v) = app
        .call(
            reqwest::Method::PUT,
            &format!("/api/v1/plugins/{plugin}/config"),
            Some(&app.admin),
            Some(config),
        )
        .await;
    assert_eq!(status, 200, "{v}");
}

async fn post(app: &TestApp, platform: &str, d: &SignedDelivery) -> (u16, String) {
    let mut url = format!("{}/webhooks/{platform}", app.base);
    if !d.query.is_empty() {
        url = format!("{url}?{}", d.query);
    }
    let mut req = app.http.post(url).body(d.body.clone());
    for (k, v) in &d.headers {
        req = req.header(k, v);
    }
    let res = req.send().await.unwrap();
    (res.status().as_u16(), res.text().await.unwrap())
}

async fn orders(app: &TestApp, query: &str) -> Vec<Value> {
    let (status, v) = app.get(&format!("/api/v1/orders{query}"), &app.admin).await;
    assert_eq!(status, 200, "{v}");
    v["items"].as_array().unwrap().clone()
}

fn find<'a>(all: &'a [Value], oid: &str) -> &'a Value {
    all.iter()
        .find(|o| o["platform_order_id"] == oid)
        .unwrap_or_else(|| panic!("order {oid} in {all:?}"))
}

fn truncate(d: &SignedDelivery) -> Vec<u8> {
    d.body[..d.body.len() / 2].to_vec()
}

/// What every platform must show, given its deliveries.
struct Case {
    platform: &'static str,
    reply: &'static str,
    /// A valid delivery of `o` paid.
    paid: Box<dyn Fn(&SampleOrder, u64) -> SignedDelivery + Send + Sync>,
    /// A valid delivery refunding `fen` of `o` (or voiding it).
    refund: Box<dyn Fn(&SampleOrder, u64, i64) -> SignedDelivery + Send + Sync>,
    /// `o` paid, signed or encrypted with another key.
    wrong_key: Box<dyn Fn(&SampleOrder) -> SignedDelivery + Send + Sync>,
    /// A valid envelope around truncated JSON.
    truncated: Box<dyn Fn(&SampleOrder) -> SignedDelivery + Send + Sync>,
    /// Whether the platform's push names the KOL (Taobao's trade messages do not).
    names_kol: bool,
}

async fn run(app: &TestApp, case: Case, config: Value) {
    let p = case.platform;
    let o = order(1);
    let (kol, product, contract) = roster_for(app, p, &o).await;
    configure(app, p, config).await;

    // A valid delivery, three times: acknowledged each time, counted once.
    for _ in 0..3 {
        let (status, body) = post(app, p, &(case.paid)(&o, 1)).await;
        assert_eq!((status, body.as_str()), (200, case.reply), "{p}");
    }
    let all = orders(app, "").await;
    assert_eq!(all.len(), 1, "{p}: {all:?}");
    let got = find(&all, &o.order_id);
    assert_eq!(
        (got["paid_fen"].as_i64(), got["units"].as_i64()),
        (Some(o.paid_fen), Some(i64::from(o.units))),
        "{p}: {got}"
    );
    assert_eq!(got["paid_at"], "2026-11-24T12:30:00Z", "{p}");
    assert_eq!(got["product_id"], product["id"], "{p}: {got}");
    if case.names_kol {
        assert_eq!(got["attributed"], true, "{p}: {got}");
        assert_eq!(
            (&got["kol_id"], &got["contract_id"]),
            (&kol["id"], &contract["id"]),
            "{p}"
        );
    } else {
        assert_eq!(got["attributed"], false, "{p}: {got}");
        assert!(
            got["unattributed_reason"]
                .as_str()
                .unwrap()
                .contains("no KOL account"),
            "{p}: {got}"
        );
    }

    // A refund before its order: acknowledged, kept, applied when the order arrives.
    let o2 = order(2);
    let (status, _) = post(app, p, &(case.refund)(&o2, 2, 9_900)).await;
    assert_eq!(status, 200, "{p}");
    assert_eq!(
        orders(app, "").await.len(),
        1,
        "{p}: a refund alone makes no order"
    );
    let (status, _) = post(app, p, &(case.paid)(&o2, 3)).await;
    assert_eq!(status, 200, "{p}");
    let all = orders(app, "").await;
    let second = find(&all, &o2.order_id);
    assert!(
        second["refunded_fen"].as_i64().unwrap() > 0,
        "{p}: {second}"
    );
    assert_eq!(
        second["net_fen"].as_i64().unwrap(),
        second["paid_fen"].as_i64().unwrap() - second["refunded_fen"].as_i64().unwrap(),
        "{p}"
    );

    // Tampered, another key, truncated: refused, and nothing changes.
    let mut tampered = (case.paid)(&order(3), 4);
    let n = tampered.body.len() / 2;
    tampered.body[n] ^= 0x01;
    let (status, problem) = post(app, p, &tampered).await;
    assert!(
        status == 401 || status == 400,
        "{p}: tampered body answered {status} {problem}"
    );
    let (status, problem) = post(app, p, &(case.wrong_key)(&order(3))).await;
    assert_eq!(status, 401, "{p}: {problem}");
    let (status, problem) = post(app, p, &(case.truncated)(&order(3))).await;
    assert_eq!(status, 400, "{p}: {problem}");
    let big = SignedDelivery {
        body: vec![b'x'; 300 * 1024],
        ..(case.paid)(&order(3), 5)
    };
    let (status, _) = post(app, p, &big).await;
    assert_eq!(status, 413, "{p}");
    assert_eq!(
        orders(app, "").await.len(),
        2,
        "{p}: nothing from bad deliveries"
    );
    let (_, rejected) = app
        .get(
            &format!("/api/v1/webhook-deliveries?platform={p}&status=rejected"),
            &app.admin,
        )
        .await;
    assert!(
        !rejected["items"].as_array().unwrap().is_empty(),
        "{p}: rejected deliveries are kept"
    );

    // An order for an unknown product and an unknown KOL is kept, unattributed.
    let mut stranger = order(4);
    stranger.item_id = "880000001".into();
    stranger.account_id = "990000001".into();
    stranger.room_id = "550000001".into();
    let (status, _) = post(app, p, &(case.paid)(&stranger, 6)).await;
    assert_eq!(status, 200, "{p}");
    let un = orders(app, "?attributed=false").await;
    let s = find(&un, &stranger.order_id);
    let reason = s["unattributed_reason"].as_str().unwrap();
    assert!(reason.contains("no product lists"), "{p}: {reason}");
}

async fn douyin_deliveries_end_to_end(app: &TestApp) {
    let case = Case {
        platform: "douyin",
        reply: r#"{"code":0,"msg":"success"}"#,
        paid: Box::new(|o, n| {
            douyin::fixtures::delivery(
                KEY,
                SECRET,
                &[douyin::fixtures::paid_message(&format!("dy-{n}"), o)],
            )
        }),
        refund: Box::new(|o, n, fen| {
            douyin::fixtures::delivery(
                KEY,
                SECRET,
                &[douyin::fixtures::refund_message(
                    &format!("dy-r{n}"),
                    o,
                    &format!("as-{n}"),
                    fen,
                    o.paid_at + 600,
                )],
            )
        }),
        wrong_key: Box::new(|o| {
            douyin::fixtures::delivery(
                KEY,
                "another-secret",
                &[douyin::fixtures::paid_message("dy-x", o)],
            )
        }),
        truncated: Box::new(|o| {
            let whole = douyin::fixtures::delivery(
                KEY,
                SECRET,
                &[douyin::fixtures::paid_message("dy-t", o)],
            );
            douyin::fixtures::signed(KEY, SECRET, truncate(&whole))
        }),
        names_kol: true,
    };
    run(app, case, json!({"app_key": KEY, "app_secret": SECRET})).await;
}

async fn kuaishou_deliveries_end_to_end(app: &TestApp) {
    let key = kuaishou::fixtures::sample_message_key("e2e");
    let other = kuaishou::fixtures::sample_message_key("someone else");
    let (k1, k2, k3, k4) = (key.clone(), key.clone(), other.clone(), key.clone());
    let case = Case {
        platform: "kuaishou",
        reply: r#"{"result":1}"#,
        paid: Box::new(move |o, n| {
            kuaishou::fixtures::delivery(
                &k1,
                &kuaishou::fixtures::order_message(
                    KEY,
                    &format!("ks-{n}"),
                    o,
                    30,
                    o.paid_at * 1000,
                ),
            )
        }),
        // Kuaishou's distribution orders are voided (status 80) rather than partly refunded.
        refund: Box::new(move |o, n, _| {
            kuaishou::fixtures::delivery(
                &k2,
                &kuaishou::fixtures::order_message(
                    KEY,
                    &format!("ks-v{n}"),
                    o,
                    80,
                    o.paid_at * 1000 + 600_000,
                ),
            )
        }),
        wrong_key: Box::new(move |o| {
            kuaishou::fixtures::delivery(
                &k3,
                &kuaishou::fixtures::order_message(KEY, "ks-x", o, 30, o.paid_at * 1000),
            )
        }),
        truncated: Box::new(move |o| {
            let plain =
                kuaishou::fixtures::order_message(KEY, "ks-t", o, 30, o.paid_at * 1000).to_string();
            kuaishou::fixtures::encrypted(&k4, &plain.as_bytes()[..plain.len() / 2])
        }),
        names_kol: true,
    };
    run(
        app,
        case,
        json!({"app_key": KEY, "message_private_key": key, "sign_secret": "e2e-sign-secret"}),
    )
    .await;
}

async fn taobao_deliveries_end_to_end(app: &TestApp) {
    let md5 = taobao::SignMethod::Md5;
    let case = Case {
        platform: "taobao",
        reply: r#"{"success":true}"#,
        paid: Box::new(move |o, n| {
            taobao::fixtures::delivery(
                KEY,
                SECRET,
                md5,
                &[taobao::fixtures::buyer_pay(100 + n, o)],
                o.paid_at,
            )
        }),
        refund: Box::new(move |o, n, fen| {
            taobao::fixtures::delivery(
                KEY,
                SECRET,
                md5,
                &[taobao::fixtures::refund_success(
                    200 + n,
                    o,
                    &format!("rf-{n}"),
                    fen,
                    o.paid_at + 600,
                )],
                o.paid_at,
            )
        }),
        wrong_key: Box::new(move |o| {
            taobao::fixtures::delivery(
                KEY,
                "another-secret",
                md5,
                &[taobao::fixtures::buyer_pay(300, o)],
                o.paid_at,
            )
        }),
        truncated: Box::new(move |o| {
            let whole = taobao::fixtures::delivery(
                KEY,
                SECRET,
                md5,
                &[taobao::fixtures::buyer_pay(400, o)],
                o.paid_at,
            );
            taobao::fixtures::signed(KEY, SECRET, md5, truncate(&whole), o.paid_at)
        }),
        names_kol: false,
    };
    run(app, case, json!({"app_key": KEY, "app_secret": SECRET})).await;
}

type Answer = Arc<dyn Fn(&str, &[u8]) -> Vec<u8> + Send + Sync>;

/// A mock Douyin open API on 127.0.0.1 answering `answer(query, body)`.
async fn mock_api(answer: Answer) -> String {
    let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
        let answer = answer.clone();
        async move { answer(uri.query().unwrap_or(""), &body) }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

async fn douyin_orders_are_pulled_and_polling_resumes_after_a_restart(app: &TestApp) {
    let (o1, o2, o3) = (order(11), order(12), order(13));
    roster_for(app, "douyin", &o1).await;
    // Two pages of paid orders; the third page (o3 settled) fails once, as a platform outage.
    let cursors: Arc<Mutex<Vec<String>>> = Arc::default();
    let seen = cursors.clone();
    let outage = Arc::new(std::sync::atomic::AtomicBool::new(true));
    let (p1, p2, p3) = (o1.clone(), o2.clone(), o3.clone());
    let addr = mock_api(Arc::new(move |query, body| {
        let param = match douyin::fixtures::verify_api_request(KEY, SECRET, query, body) {
            Ok(p) => p,
            Err(why) => {
                return douyin::fixtures::error_response(40004, "isv.signature-invalid", &why);
            }
        };
        let cursor = param["cursor"].as_str().unwrap_or("0").to_owned();
        seen.lock().unwrap().push(cursor.clone());
        match cursor.as_str() {
            "0" => douyin::fixtures::order_page_response(
                &[douyin::fixtures::mcn_order(&p1, "PAY_SUCC", p1.paid_at)],
                "page-2",
            ),
            "page-2" => douyin::fixtures::order_page_response(
                &[douyin::fixtures::mcn_order(&p2, "PAY_SUCC", p2.paid_at)],
                "page-3",
            ),
            "page-3" if outage.swap(false, std::sync::atomic::Ordering::SeqCst) => {
                douyin::fixtures::error_response(50002, "isp.service-error", "服务暂不可用")
            }
            "page-3" => douyin::fixtures::order_page_response(
                &[douyin::fixtures::mcn_order(
                    &p3,
                    "SETTLE",
                    p3.paid_at + 86_400,
                )],
                "page-4",
            ),
            _ => douyin::fixtures::order_page_response(&[], "page-4"),
        }
    }))
    .await;

    // What an integrator sets up for staging: the bundled component, allowed to reach the mock.
    let manifest = std::fs::read_to_string(kolhost::plugins::artifacts::DOUYIN_MANIFEST)
        .unwrap()
        .replace("version = \"1.0.0\"", "version = \"1.0.0-staging\"")
        .replace(
            "allowed_hosts = [",
            &format!("allowed_hosts = [\"{addr}\", "),
        );
    assert!(manifest.contains(&addr), "{manifest}");
    let component = std::fs::read(kolhost::plugins::artifacts::DOUYIN).unwrap();
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
    configure(
        app,
        "douyin",
        json!({"app_key": KEY, "app_secret": SECRET, "api_base": format!("http://{addr}")}),
    )
    .await;

    // The first round takes two pages, then stops at the outage, keeping its cursor.
    let (status, report) = app
        .post("/api/v1/plugins/douyin/poll", &app.admin, json!({}))
        .await;
    assert_eq!(status, 200, "{report}");
    assert_eq!(
        (report["pages"].as_u64(), report["new_events"].as_u64()),
        (Some(2), Some(2)),
        "{report}"
    );
    assert!(
        report["error"].as_str().unwrap().contains("服务暂不可用") || report["error"].is_string(),
        "{report}"
    );
    assert!(report["cursor"].is_string(), "{report}");
    let all = orders(app, "").await;
    assert_eq!(all.len(), 2, "{all:?}");
    assert_eq!(find(&all, &o1.order_id)["attributed"], true);

    // A restarted server continues from the stored cursor, not from the start.
    let restarted = AppState::start(app.db.clone(), Config::default())
        .await
        .unwrap();
    let before = cursors.lock().unwrap().len();
    let again = kolhost::ingest::poller::round(
        &app.db,
        &restarted.plugins,
        &restarted.ingest,
        "douyin",
        "douyin",
    )
    .await;
    assert!(again.error.is_none(), "{again:?}");
    let asked: Vec<String> = cursors.lock().unwrap()[before..].to_vec();
    assert_eq!(
        asked.first().map(String::as_str),
        Some("page-3"),
        "resumed where it stopped: {asked:?}"
    );
    assert_eq!(again.new_events, 2, "o3 paid and settled: {again:?}");
    let all = orders(app, "").await;
    assert_eq!(all.len(), 3);
    let settled = find(&all, &o3.order_id);
    assert_eq!(settled["status"], "settled", "{settled}");
    assert!(settled["settled_at"].is_string());

    // Polling again from the start counts nothing twice.
    let third = kolhost::ingest::poller::round(
        &app.db,
        &restarted.plugins,
        &restarted.ingest,
        "douyin",
        "douyin",
    )
    .await;
    assert!(third.error.is_none(), "{third:?}");
    let fourth = kolhost::ingest::poller::round(
        &app.db,
        &restarted.plugins,
        &restarted.ingest,
        "douyin",
        "douyin",
    )
    .await;
    assert_eq!(third.new_events + fourth.new_events, 0);
    assert_eq!(orders(app, "").await.len(), 3);
}
