//! The bundled Taobao, Douyin and Kuaishou plugins behind `/webhooks/{platform}`, with
//! deliveries built from each platform's public formats (signed or encrypted with test secrets
//! by `kolhost-platform-formats`' fixtures), and Douyin's order pull against a local mock of
//! its open API, resumed from the stored cursor after a restart.

use std::sync::{Arc, Mutex};

use axum::body::Bytes;
use axum::http::Uri;
use kolhost::app::AppState;
use kolhost_e2e::{TestApp, both_databases};
use kolhost_platform_formats::fixtures::{SampleOrder, SignedDelivery};
use kolhost_platform_formats::{douyin, kuaishou, taobao};
use reqwest::multipart::{Form, Part};
use serde_json::{Value, json};

both_databases!(
    douyin_deliveries_end_to_end,
    douyin_notices_pulls_refunds_and_reconciliation,
    taobao_tmc_is_confirmed_only_after_commit,
    kuaishou_notice_is_completed_by_the_cps_pull,
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
    app.push_webhook(platform, &d.query, &d.headers, &d.body)
        .await
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
    /// For a platform whose push is only a notice (Douyin): the pull that completes an order.
    pull: Option<Pull>,
}

/// A mock open API's order list and the plugin that pulls it: `complete(o)` puts `o` in the
/// list and polls, which completes (and attributes) the order a notice announced.
#[derive(Clone)]
struct Pull {
    platform: &'static str,
    known: Arc<Mutex<Vec<Value>>>,
    make: fn(&SampleOrder) -> Value,
}

impl Pull {
    async fn complete(&self, app: &TestApp, o: &SampleOrder) {
        self.known.lock().unwrap().push((self.make)(o));
        let (status, report) = app
            .post(
                &format!("/api/v1/plugins/{}/poll", self.platform),
                &app.admin,
                json!({}),
            )
            .await;
        assert_eq!(status, 200, "{report}");
        assert!(report["error"].is_null(), "{report}");
    }
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
    let mut all = orders(app, "").await;
    assert_eq!(all.len(), 1, "{p}: {all:?}");
    if let Some(pull) = &case.pull {
        // A notice: stored once, awaiting its detail; the pull completes the same order.
        let got = find(&all, &o.order_id);
        assert_eq!(got["awaiting_detail"], true, "{p}: {got}");
        assert_eq!(got["unattributed_reason"], "awaiting_detail", "{p}: {got}");
        assert_eq!(got["paid_fen"].as_i64(), Some(o.paid_fen), "{p}: {got}");
        pull.complete(app, &o).await;
        all = orders(app, "").await;
        assert_eq!(all.len(), 1, "{p}: push then pull is one order: {all:?}");
        assert_eq!(find(&all, &o.order_id)["awaiting_detail"], false);
    }
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
    if let Some(pull) = &case.pull {
        pull.complete(app, &stranger).await;
    }
    let un = orders(app, "?attributed=false").await;
    let s = find(&un, &stranger.order_id);
    let reason = s["unattributed_reason"].as_str().unwrap();
    assert!(reason.contains("no product lists"), "{p}: {reason}");
}

/// A mock of the Buyin MCN order list answering the orders in `known` (one page), and the
/// bundled douyin component installed as a staging version allowed to reach it; answers the
/// config that points the plugin at it.
async fn douyin_pull(app: &TestApp, known: Arc<Mutex<Vec<Value>>>) -> Value {
    let addr = mock_api(Arc::new(move |query, body| {
        let param = match douyin::fixtures::verify_api_request(KEY, SECRET, query, body) {
            Ok(p) => p,
            Err(why) => {
                return douyin::fixtures::error_response(40004, "isv.signature-invalid", &why);
            }
        };
        match param["cursor"].as_str().unwrap_or("0") {
            "0" => douyin::fixtures::order_page_response(&known.lock().unwrap(), "end"),
            _ => douyin::fixtures::order_page_response(&[], "end"),
        }
    }))
    .await;
    install_staging_douyin(app, &addr).await;
    json!({"app_key": KEY, "app_secret": SECRET, "api_base": format!("http://{addr}")})
}

async fn install_staging_douyin(app: &TestApp, addr: &str) {
    install_staging(
        app,
        addr,
        kolhost::plugins::artifacts::DOUYIN_MANIFEST,
        kolhost::plugins::artifacts::DOUYIN,
    )
    .await
}

/// A bundled component installed as a staging version allowed to reach `addr`.
async fn install_staging(app: &TestApp, addr: &str, manifest: &str, wasm: &str) {
    let manifest = std::fs::read_to_string(manifest)
        .unwrap()
        .replace("version = \"1.0.0\"", "version = \"1.0.0-staging\"")
        .replace(
            "allowed_hosts = [",
            &format!("allow_private_hosts = true\nallowed_hosts = [\"{addr}\", "),
        );
    assert!(manifest.contains(addr), "{manifest}");
    let component = std::fs::read(wasm).unwrap();
    let (status, v) = app
        .upload_plugin(&app.admin, Some(manifest), Some(component))
        .await;
    assert_eq!(status, 201, "{v}");
}

fn mcn_paid(o: &SampleOrder) -> Value {
    douyin::fixtures::mcn_order(o, "PAY_SUCC", o.paid_at)
}

async fn douyin_deliveries_end_to_end(app: &TestApp) {
    let known: Arc<Mutex<Vec<Value>>> = Arc::default();
    let config = douyin_pull(app, known.clone()).await;
    let case = Case {
        platform: "douyin",
        reply: r#"{"code":0,"msg":"success"}"#,
        // Tag 101 exactly as Douyin pushes it: no product, author, room or units.
        paid: Box::new(|o, n| {
            douyin::fixtures::delivery(
                KEY,
                SECRET,
                &[douyin::fixtures::public_paid_message(&format!("dy-{n}"), o)],
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
        pull: Some(Pull {
            platform: "douyin",
            known,
            make: mcn_paid,
        }),
    };
    run(app, case, config).await;
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
        pull: None,
    };
    run(
        app,
        case,
        json!({"app_key": KEY, "message_private_key": key, "sign_secret": "e2e-sign-secret"}),
    )
    .await;
}

/// A mock TOP gateway: the Union order details answer `known` (one page); TMC consume answers
/// the messages in `tmc` not yet confirmed; confirm removes them (and answers an error while
/// `fail_confirm` is set, once). The bundled taobao component is installed as a staging version
/// allowed to reach it; answers the config pointing the plugin at it.
#[derive(Clone, Default)]
struct TopMock {
    known: Arc<Mutex<Vec<Value>>>,
    tmc: Arc<Mutex<Vec<Value>>>,
    confirmed: Arc<Mutex<Vec<String>>>,
    consumed: Arc<std::sync::atomic::AtomicUsize>,
    fail_confirm: Arc<std::sync::atomic::AtomicBool>,
    fail_orders: Arc<std::sync::atomic::AtomicBool>,
    /// The relation refund API's answer: (order, refunded fen, completed at).
    relation: Arc<Mutex<Option<(SampleOrder, i64, i64)>>>,
}

async fn taobao_pull(app: &TestApp, m: TopMock) -> Value {
    use std::sync::atomic::Ordering::SeqCst;
    let addr = mock_api(Arc::new(move |_query, body| {
        let params = match taobao::fixtures::verify_api_request(KEY, SECRET, body) {
            Ok(p) => p,
            Err(why) => return taobao::fixtures::error_response(25, "Invalid signature", "", &why),
        };
        match params["method"].as_str() {
            taobao::tmc::METHOD_CONSUME => {
                m.consumed.fetch_add(1, SeqCst);
                taobao::fixtures::tmc_consume_response(&m.tmc.lock().unwrap())
            }
            taobao::tmc::METHOD_CONFIRM => {
                if m.fail_confirm.swap(false, SeqCst) {
                    return taobao::fixtures::error_response(520, "Remote service error", "", "");
                }
                let ids: Vec<String> = params["s_message_ids"]
                    .split(',')
                    .map(str::to_owned)
                    .collect();
                m.tmc
                    .lock()
                    .unwrap()
                    .retain(|msg| !ids.contains(&msg["id"].to_string()));
                m.confirmed.lock().unwrap().extend(ids);
                taobao::fixtures::tmc_confirm_response()
            }
            taobao::refund::METHOD => match m.relation.lock().unwrap().as_ref() {
                Some((o, fen, at)) => taobao::fixtures::relation_refund_response(o, *fen, 5, *at),
                None => taobao::fixtures::error_response(15, "no refunds", "", ""),
            },
            method => {
                if m.fail_orders.swap(false, SeqCst) {
                    return taobao::fixtures::error_response(520, "Remote service error", "", "");
                }
                taobao::fixtures::order_page_response(
                    method,
                    &m.known.lock().unwrap(),
                    false,
                    "",
                    1,
                )
            }
        }
    }))
    .await;
    let manifest = std::fs::read_to_string(kolhost::plugins::artifacts::TAOBAO_MANIFEST)
        .unwrap()
        .replace("version = \"1.0.0\"", "version = \"1.0.0-staging\"")
        .replace(
            "allowed_hosts = [",
            &format!("allow_private_hosts = true\nallowed_hosts = [\"{addr}\", "),
        );
    let component = std::fs::read(kolhost::plugins::artifacts::TAOBAO).unwrap();
    let form = Form::new()
        .text("manifest", manifest)
        .part("component", Part::bytes(component).file_name("taobao.wasm"));
    let res = app
        .http
        .post(format!("{}/api/v1/plugins", app.base))
        .bearer_auth(&app.admin)
        .multipart(form)
        .send()
        .await
        .unwrap();
    assert_eq!(res.status(), 201, "{}", res.text().await.unwrap());
    json!({"app_key": KEY, "app_secret": SECRET, "api_base": format!("http://{addr}")})
}

fn union_paid(o: &SampleOrder) -> Value {
    taobao::fixtures::publisher_order(o, 12, 0, o.paid_at)
}

async fn taobao_deliveries_end_to_end(app: &TestApp) {
    let mock = TopMock::default();
    let mut config = taobao_pull(app, mock.clone()).await;
    // The HTTP deliveries come from an agency's own relay: Taobao itself never POSTs TMC.
    config["mode"] = json!("tmc_http_relay");
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
        // The trade message names no KOL; the Union pull that completes it does.
        names_kol: true,
        pull: Some(Pull {
            platform: "taobao",
            known: mock.known.clone(),
            make: union_paid,
        }),
    };
    run(app, case, config).await;
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
            &format!("allow_private_hosts = true\nallowed_hosts = [\"{addr}\", "),
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
    let restarted = AppState::start(app.db.clone(), app.config.clone())
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

async fn order_detail(app: &TestApp, id: &Value) -> Value {
    let (status, v) = app
        .get(
            &format!("/api/v1/orders/{}", id.as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(status, 200, "{v}");
    v
}

fn notice(msg_id: &str, o: &SampleOrder) -> SignedDelivery {
    douyin::fixtures::delivery(
        KEY,
        SECRET,
        &[douyin::fixtures::public_paid_message(msg_id, o)],
    )
}

/// Douyin pushes notices and pulls details: pull before push, redelivery, a refund reported by
/// push (twice) and by pull, partial refunds beyond the paid amount, the status history, and
/// the reconciliation of what push and pull each saw.
async fn douyin_notices_pulls_refunds_and_reconciliation(app: &TestApp) {
    let known: Arc<Mutex<Vec<Value>>> = Arc::default();
    let config = douyin_pull(app, known.clone()).await;
    let (a, b, c, d) = (order(21), order(22), order(23), order(24));
    let (kol, _, contract) = roster_for(app, "douyin", &b).await;
    configure(app, "douyin", config).await;
    let pull = Pull {
        platform: "douyin",
        known: known.clone(),
        make: mcn_paid,
    };
    let reply = r#"{"code":0,"msg":"success"}"#;

    // Pull before push, then the notice delivered twice and once more under a new msg_id:
    // one order, attributed by the pull, seen by both channels.
    pull.complete(app, &b).await;
    for msg in ["n-b", "n-b", "n-b-again"] {
        let (status, body) = post(app, "douyin", &notice(msg, &b)).await;
        assert_eq!((status, body.as_str()), (200, reply));
    }
    let all = orders(app, "").await;
    assert_eq!(
        all.iter()
            .filter(|o| o["platform_order_id"] == b.order_id)
            .count(),
        1,
        "{all:?}"
    );
    let got = find(&all, &b.order_id);
    assert_eq!(got["attributed"], true, "{got}");
    assert_eq!(
        (&got["kol_id"], &got["contract_id"]),
        (&kol["id"], &contract["id"])
    );
    assert_eq!(got["awaiting_detail"], false);

    // a: pushed, never pulled. c: pulled, never pushed. d: push and pull disagree on the amount.
    let (status, _) = post(app, "douyin", &notice("n-a", &a)).await;
    assert_eq!(status, 200);
    pull.complete(app, &c).await;
    let mut d_pushed = d.clone();
    d_pushed.paid_fen += 100;
    let (status, _) = post(app, "douyin", &notice("n-d", &d_pushed)).await;
    assert_eq!(status, 200);
    pull.complete(app, &d).await;
    let all = orders(app, "").await;
    assert_eq!(all.len(), 4, "{all:?}");
    assert_eq!(
        find(&all, &a.order_id)["unattributed_reason"],
        "awaiting_detail"
    );
    assert_eq!(
        find(&all, &d.order_id)["paid_fen"].as_i64(),
        Some(d.paid_fen),
        "the pull's amount is the order's"
    );

    // b refunded in full: pushed (tag 206), redelivered under a new msg_id, and pulled
    // (flow_point REFUND, no after-sale id): one refund.
    let at = b.paid_at + 3_600;
    for msg in ["r-b1", "r-b2"] {
        let d = douyin::fixtures::delivery(
            KEY,
            SECRET,
            &[douyin::fixtures::refund_message(
                msg, &b, "8001", b.paid_fen, at,
            )],
        );
        let (status, body) = post(app, "douyin", &d).await;
        assert_eq!((status, body.as_str()), (200, reply));
    }
    known
        .lock()
        .unwrap()
        .push(douyin::fixtures::mcn_order(&b, "REFUND", at));
    pull.complete(app, &c).await;
    let b_row = find(&orders(app, "").await, &b.order_id).clone();
    let detail = order_detail(app, &b_row["id"]).await;
    assert_eq!(
        detail["refunds"].as_array().unwrap().len(),
        1,
        "one refund: {detail}"
    );
    assert_eq!(detail["refunded_fen"].as_i64(), Some(b.paid_fen));
    assert_eq!(detail["status"], "refunded");

    // Two partial refunds of a with their own after-sale ids add up to more than was paid:
    // both kept, the order refunded only up to what was paid.
    let d2 = douyin::fixtures::delivery(
        KEY,
        SECRET,
        &[
            douyin::fixtures::refund_message("r-a1", &a, "8002", a.paid_fen - 100, at),
            douyin::fixtures::refund_message("r-a2", &a, "8003", 200, at + 60),
            douyin::fixtures::status_message("s-a", "102", &a, at + 120),
        ],
    );
    let (status, _) = post(app, "douyin", &d2).await;
    assert_eq!(status, 200);
    let a_row = find(&orders(app, "").await, &a.order_id).clone();
    let detail = order_detail(app, &a_row["id"]).await;
    assert_eq!(detail["refunds"].as_array().unwrap().len(), 2, "{detail}");
    assert_eq!(detail["refunded_fen"].as_i64(), Some(a.paid_fen));
    assert_eq!(detail["net_fen"].as_i64(), Some(0));
    // The status history: 101 (paid), 206 twice, 102 (shipped), in arrival order.
    let history: Vec<&str> = detail["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(history, ["101", "206", "206", "102"], "{detail}");
    assert_eq!(detail["platform_status"], "102");

    // Reconciliation of the day: a pushed only, c pulled only, d's amounts differ.
    let (status, rec) = app
        .get(
            "/api/v1/reconciliation?platform=douyin&from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z",
            &app.admin,
        )
        .await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["counts"]["orders"], 4, "{rec}");
    assert_eq!(rec["counts"]["pushed_not_pulled"], 1, "{rec}");
    assert_eq!(rec["counts"]["pulled_not_pushed"], 1, "{rec}");
    assert_eq!(rec["counts"]["amount_mismatches"], 1, "{rec}");
    assert_eq!(rec["pushed_not_pulled"][0]["platform_order_id"], a.order_id);
    assert_eq!(rec["pulled_not_pushed"][0]["platform_order_id"], c.order_id);
    assert_eq!(rec["amount_mismatches"][0]["platform_order_id"], d.order_id);
    assert_eq!(rec["amount_mismatches"][0]["difference_fen"], -100);
    // Another day has nothing; a window backwards is refused and changes nothing.
    let (_, empty) = app
        .get(
            "/api/v1/reconciliation?platform=douyin&from=2026-11-25T00:00:00Z&to=2026-11-26T00:00:00Z",
            &app.admin,
        )
        .await;
    assert_eq!(empty["counts"]["orders"], 0, "{empty}");
    let (status, problem) = app
        .get(
            "/api/v1/reconciliation?platform=douyin&from=2026-11-25T00:00:00Z&to=2026-11-24T00:00:00Z",
            &app.admin,
        )
        .await;
    assert_eq!(status, 422, "{problem}");
    let (status, problem) = app
        .get("/api/v1/reconciliation?platform=douyin", &app.admin)
        .await;
    assert_eq!(status, 400, "{problem}");
    // Managers may reconcile; a KOL or an integrator may not.
    let day =
        "/api/v1/reconciliation?platform=douyin&from=2026-11-24T00:00:00Z&to=2026-11-25T00:00:00Z";
    let manager = app.token(kolhost::domain::Role::Manager, None).await;
    let (status, rec) = app.get(day, &manager).await;
    assert_eq!(status, 200, "{rec}");
    assert_eq!(rec["counts"]["orders"], 4, "{rec}");
    let kol_id = Some(uuid::Uuid::parse_str(kol["id"].as_str().unwrap()).unwrap());
    let kol_token = app.token(kolhost::domain::Role::Kol, kol_id).await;
    let (status, problem) = app.get(day, &kol_token).await;
    assert_eq!(status, 403, "{problem}");
    let integrator = app.token(kolhost::domain::Role::Integrator, None).await;
    let (status, problem) = app.get(day, &integrator).await;
    assert_eq!(status, 403, "{problem}");
}

/// TMC is consumed in `poll` and confirmed only after the page is committed: an outage before
/// the commit and a failure between commit and confirm (what a crash there leaves) both end with
/// the messages delivered again, applied once, and confirmed.
async fn taobao_tmc_is_confirmed_only_after_commit(app: &TestApp) {
    use std::sync::atomic::Ordering::SeqCst;
    let o = order(31);
    roster_for(app, "taobao", &o).await;
    let mock = TopMock::default();
    let mut config = taobao_pull(app, mock.clone()).await;
    config["tmc_group"] = json!("default");
    configure(app, "taobao", config).await;
    mock.tmc.lock().unwrap().extend([
        taobao::fixtures::buyer_pay(601, &o),
        taobao::fixtures::refund_success(602, &o, "rf-601", 9_900, o.paid_at + 600),
    ]);
    mock.known.lock().unwrap().push(union_paid(&o));
    let poll = || async {
        let (status, report) = app
            .post("/api/v1/plugins/taobao/poll", &app.admin, json!({}))
            .await;
        assert_eq!(status, 200, "{report}");
        report
    };

    // 1. Consumed, then the Union API fails: nothing committed, nothing confirmed.
    mock.fail_orders.store(true, SeqCst);
    let r = poll().await;
    assert!(r["error"].is_string(), "{r}");
    assert_eq!(mock.consumed.load(SeqCst), 1);
    assert!(orders(app, "").await.is_empty());
    assert!(mock.confirmed.lock().unwrap().is_empty());

    // 2. Committed, then confirming fails (as a crash right after the commit would leave it).
    mock.fail_confirm.store(true, SeqCst);
    let r = poll().await;
    assert!(r["error"].as_str().unwrap_or("").contains("confirm"), "{r}");
    assert!(mock.confirmed.lock().unwrap().is_empty());
    let all = orders(app, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
    let got = find(&all, &o.order_id);
    assert_eq!(
        got["attributed"], true,
        "the Union order completed the notice: {got}"
    );
    assert_eq!(got["refunded_fen"].as_i64(), Some(9_900));

    // 3. TMC delivers the unconfirmed messages again: counted once, then confirmed.
    let r = poll().await;
    assert!(r["error"].is_null(), "{r}");
    assert_eq!(r["new_events"], 0, "{r}");
    assert_eq!(*mock.confirmed.lock().unwrap(), ["601", "602"]);
    assert!(mock.tmc.lock().unwrap().is_empty());
    let all = orders(app, "").await;
    assert_eq!(all.len(), 1);
    let got = find(&all, &o.order_id);
    assert_eq!(got["refunded_fen"].as_i64(), Some(9_900), "{got}");
    let (_, detail) = app
        .get(
            &format!("/api/v1/orders/{}", got["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(detail["refunds"].as_array().unwrap().len(), 1, "{detail}");

    // 4. Nothing left: nothing confirmed again.
    let r = poll().await;
    assert!(r["error"].is_null(), "{r}");
    assert_eq!(mock.confirmed.lock().unwrap().len(), 2);

    // 5. The order settles with a rights-protection refund after settlement (refund_tag 1):
    // its amount comes from the relation refund API, counted once however often it is pulled.
    let later = o.paid_at + 9 * 86_400;
    *mock.relation.lock().unwrap() = Some((o.clone(), 1_000, later));
    mock.known.lock().unwrap()[0] = taobao::fixtures::publisher_order(&o, 3, 1, later);
    for _ in 0..2 {
        let r = poll().await;
        assert!(r["error"].is_null(), "{r}");
    }
    let got = find(&orders(app, "").await, &o.order_id).clone();
    assert_eq!(got["status"], "settled", "{got}");
    assert_eq!(got["refunded_fen"].as_i64(), Some(9_900 + 1_000), "{got}");
}

/// Kuaishou's seller message `kwaishop_order_paySuccess` (ids and status, no amount) is a
/// notice: acknowledged with `{"result":1}`, stored once however often it comes, kept with its
/// after-sale messages in the status history, and completed and attributed by the CPS pull;
/// the pull's void (80) refunds it once.
async fn kuaishou_notice_is_completed_by_the_cps_pull(app: &TestApp) {
    let o = order(41);
    let (kol, _, contract) = roster_for(app, "kuaishou", &o).await;
    let key = kuaishou::fixtures::sample_message_key("e2e");
    let known: Arc<Mutex<Vec<Value>>> = Arc::default();
    let list = known.clone();
    let addr = mock_api(Arc::new(move |query, _body| {
        if let Err(why) =
            kuaishou::fixtures::verify_api_request(KEY, "e2e-sign-secret", "ks-token", query)
        {
            return kuaishou::fixtures::error_response(28, &why);
        }
        kuaishou::fixtures::order_page_response(&list.lock().unwrap(), "nomore")
    }))
    .await;
    install_staging(
        app,
        &addr,
        kolhost::plugins::artifacts::KUAISHOU_MANIFEST,
        kolhost::plugins::artifacts::KUAISHOU,
    )
    .await;
    configure(
        app,
        "kuaishou",
        json!({"app_key": KEY, "message_private_key": key, "sign_secret": "e2e-sign-secret",
            "access_token": "ks-token", "api_base": format!("http://{addr}")}),
    )
    .await;
    let pay = kuaishou::fixtures::delivery(
        &key,
        &kuaishou::fixtures::seller_order_message(KEY, "ks-pay-1", &o),
    );
    for _ in 0..3 {
        let (status, body) = post(app, "kuaishou", &pay).await;
        assert_eq!((status, body.as_str()), (200, r#"{"result":1}"#));
    }
    let aftersale = kuaishou::fixtures::delivery(
        &key,
        &kuaishou::fixtures::aftersale_message(
            KEY,
            "ks-as-1",
            "kwaishop_aftersales_addRefund",
            &o,
            5_001,
            10,
            o.paid_at * 1000 + 60_000,
        ),
    );
    let (status, _) = post(app, "kuaishou", &aftersale).await;
    assert_eq!(status, 200);
    let all = orders(app, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
    let got = find(&all, &o.order_id);
    assert_eq!(got["unattributed_reason"], "awaiting_detail", "{got}");

    let poll = || async {
        let (status, report) = app
            .post("/api/v1/plugins/kuaishou/poll", &app.admin, json!({}))
            .await;
        assert_eq!(status, 200, "{report}");
        assert!(report["error"].is_null(), "{report}");
    };
    known.lock().unwrap().push(kuaishou::fixtures::order_view(
        &o,
        40,
        o.paid_at * 1000 + 3_600_000,
    ));
    poll().await;
    let all = orders(app, "").await;
    assert_eq!(all.len(), 1, "{all:?}");
    let got = find(&all, &o.order_id);
    assert_eq!(got["attributed"], true, "{got}");
    assert_eq!(
        (
            &got["kol_id"],
            &got["contract_id"],
            got["paid_fen"].as_i64()
        ),
        (&kol["id"], &contract["id"], Some(o.paid_fen))
    );
    assert_eq!(got["platform_status"], "40", "shipped");

    // Voided (80), pulled twice: refunded once, in full.
    known.lock().unwrap()[0] = kuaishou::fixtures::order_view(&o, 80, o.paid_at * 1000 + 7_200_000);
    poll().await;
    poll().await;
    let (_, detail) = app
        .get(
            &format!("/api/v1/orders/{}", got["id"].as_str().unwrap()),
            &app.admin,
        )
        .await;
    assert_eq!(detail["refunds"].as_array().unwrap().len(), 1, "{detail}");
    assert_eq!(detail["refunded_fen"].as_i64(), Some(o.paid_fen));
    let history: Vec<&str> = detail["status_history"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["status"].as_str().unwrap())
        .collect();
    assert_eq!(
        history,
        [
            "kwaishop_order_paySuccess:30",
            "aftersales_addRefund:5001:10",
            "40",
            "80"
        ],
        "{detail}"
    );
}
