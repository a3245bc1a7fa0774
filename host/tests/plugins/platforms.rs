//! The bundled platform plugins (`douyin`, `kuaishou`, `taobao`), compiled from `plugins/` and
//! loaded with their own manifests: deliveries built with `kolhost-platform-formats`' fixtures
//! (valid, tampered, another key, truncated), and `poll` against a local mock of each open API
//! that checks the request's signature and answers two pages.

use super::*;
use axum::body::Bytes;
use axum::http::{StatusCode, Uri};
use kolhost::plugins::{CallError, EventBody, PluginError, Settings};
use kolhost_platform_formats::fixtures::{SampleOrder, SignedDelivery};
use kolhost_platform_formats::{douyin, kuaishou, taobao};
use std::collections::BTreeMap;
use std::sync::Mutex;

type Answer = Box<dyn Fn(&str, &str, &[u8]) -> (u16, Vec<u8>) + Send + Sync>;

/// A mock open API on 127.0.0.1 answering with `answer(path, query, body)`.
async fn mock_api(answer: Answer) -> String {
    let answer = Arc::new(answer);
    let app = axum::Router::new().fallback(move |uri: Uri, body: Bytes| {
        let answer = answer.clone();
        async move {
            let (status, body) = answer(uri.path(), uri.query().unwrap_or(""), &body);
            (StatusCode::from_u16(status).unwrap(), body)
        }
    });
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap().to_string();
    tokio::spawn(async move { axum::serve(listener, app).await.unwrap() });
    addr
}

/// Loads a bundled plugin with its manifest, `addr` added to its allowed hosts.
async fn load(reg: &Registry, wasm_path: &str, manifest_path: &str, addr: &str) -> String {
    let text = std::fs::read_to_string(manifest_path).unwrap();
    let mut m = Manifest::from_toml(&text).unwrap();
    m.allowed_hosts.push(addr.to_string());
    m.allow_private_hosts = true;
    let name = m.name.clone();
    let status = reg.load(m, &wasm(wasm_path)).await.unwrap();
    assert_eq!(status.name, name);
    name
}

fn settings(config: &[(&str, &str)], secrets: &[(&str, &str)]) -> Settings {
    let map = |kv: &[(&str, &str)]| -> BTreeMap<String, String> {
        kv.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    Settings {
        config: map(config),
        secrets: map(secrets),
    }
}

fn to_delivery(path: &str, d: &SignedDelivery) -> Delivery {
    Delivery {
        method: d.method.clone(),
        path: path.into(),
        query: d.query.clone(),
        headers: d.headers.clone(),
        body: d.body.clone(),
    }
}

fn unauthorized(e: &CallError) -> bool {
    matches!(e, CallError::Plugin(PluginError::Unauthorized(_)))
}

fn malformed(e: &CallError) -> bool {
    matches!(e, CallError::Plugin(PluginError::Malformed(_)))
}

fn keys(events: &[kolhost::plugins::Event]) -> Vec<String> {
    events.iter().map(|e| e.key.clone()).collect()
}

fn reply(p: &kolhost::plugins::Parsed) -> String {
    String::from_utf8(p.reply.body.clone()).unwrap()
}

/// Polls twice from scratch: two pages, then no cursor.
async fn two_pages(reg: &Registry, name: &str) -> (Vec<String>, Vec<String>) {
    let first = reg.poll(name, None).await.unwrap();
    let cursor = first.next_cursor.clone().expect("a cursor for page 2");
    let second = reg.poll(name, Some(&cursor)).await.unwrap();
    assert_eq!(second.next_cursor, None, "page 2 is the last");
    (keys(&first.events), keys(&second.events))
}

const DY_KEY: &str = "7012345678901234567";
const DY_SECRET: &str = "douyin-app-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn douyin_push_and_pull() {
    let requests = Arc::new(Mutex::new(0u32));
    let seen = requests.clone();
    let (o1, o2) = (SampleOrder::new(11), SampleOrder::new(12));
    let (p1, p2) = (o1.clone(), o2.clone());
    let addr = mock_api(Box::new(move |path, query, body| {
        *seen.lock().unwrap() += 1;
        if path != douyin::api::PATH {
            return (404, b"no such API".to_vec());
        }
        let param = match douyin::fixtures::verify_api_request(DY_KEY, DY_SECRET, query, body) {
            Ok(p) => p,
            Err(why) => {
                return (
                    200,
                    douyin::fixtures::error_response(40004, "isv.signature-invalid", &why),
                );
            }
        };
        if !query.contains("access_token=buyin-token") {
            return (
                200,
                douyin::fixtures::error_response(40004, "isv.token", "no token"),
            );
        }
        match param["cursor"].as_str().unwrap() {
            "0" => (
                200,
                douyin::fixtures::order_page_response(
                    &[douyin::fixtures::mcn_order(&p1, "PAY_SUCC", p1.paid_at)],
                    "page-2",
                ),
            ),
            _ => (
                200,
                douyin::fixtures::order_page_response(
                    &[douyin::fixtures::mcn_order(
                        &p2,
                        "SETTLE",
                        p2.paid_at + 86_400,
                    )],
                    "page-2",
                ),
            ),
        }
    }))
    .await;
    let reg = registry(50);
    let name = load(&reg, artifacts::DOUYIN, artifacts::DOUYIN_MANIFEST, &addr).await;
    assert_eq!(name, "douyin");
    let info = reg.status("douyin").unwrap();
    assert_eq!(info.info.platform, "douyin");

    // Without credentials: a config error, not a crash.
    let valid = douyin::fixtures::delivery(
        DY_KEY,
        DY_SECRET,
        &[
            douyin::fixtures::public_paid_message("7301", &o1),
            douyin::fixtures::refund_message("7302", &o1, "6987654321", 9_900, o1.paid_at + 60),
            douyin::fixtures::other_message("7303", "400"),
        ],
    );
    let d = to_delivery("/webhooks/douyin", &valid);
    let e = reg.verify_webhook("douyin", &d).await.unwrap_err();
    assert!(
        matches!(&e, CallError::Plugin(PluginError::Config(m)) if m.contains("app_key")),
        "{e:?}"
    );

    reg.set_settings(
        "douyin",
        settings(
            &[("app_key", DY_KEY), ("api_base", &format!("http://{addr}"))],
            &[("app_secret", DY_SECRET), ("access_token", "buyin-token")],
        ),
    )
    .unwrap();
    reg.verify_webhook("douyin", &d).await.unwrap();
    let parsed = reg.parse_webhook("douyin", &d).await.unwrap();
    assert_eq!(reply(&parsed), r#"{"code":0,"msg":"success"}"#);
    assert_eq!(keys(&parsed.events), ["7301", "7302"]);
    match &parsed.events[0].body {
        EventBody::OrderNotice(n) => {
            assert_eq!(n.platform_order_id, o1.order_id);
            assert_eq!(
                n.sub_order_ids.as_slice(),
                std::slice::from_ref(&o1.sub_order_id)
            );
            assert_eq!(n.paid_fen, Some(29_900));
            assert_eq!(n.paid_at.as_deref(), Some("2024-05-20T06:00:00Z"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parsed.events[0].platform_status.as_deref(), Some("101"));
    match &parsed.events[1].body {
        EventBody::OrderRefunded(r) => assert_eq!(
            (r.refund_id.as_deref(), r.refunded_fen),
            (Some("6987654321"), 9_900)
        ),
        other => panic!("{other:?}"),
    }
    // A repeated delivery gives the same keys.
    let again = reg.parse_webhook("douyin", &d).await.unwrap();
    assert_eq!(keys(&again.events), keys(&parsed.events));

    let mut tampered = d.clone();
    let n = tampered.body.len() / 2;
    tampered.body[n] ^= 1;
    assert!(unauthorized(
        &reg.verify_webhook("douyin", &tampered).await.unwrap_err()
    ));
    let other_key = douyin::fixtures::delivery(
        DY_KEY,
        "another-secret",
        &[douyin::fixtures::paid_message("1", &o1)],
    );
    assert!(unauthorized(
        &reg.verify_webhook("douyin", &to_delivery("/webhooks/douyin", &other_key))
            .await
            .unwrap_err()
    ));
    let cut = valid.body[..valid.body.len() - 7].to_vec();
    let truncated = to_delivery(
        "/webhooks/douyin",
        &douyin::fixtures::signed(DY_KEY, DY_SECRET, cut),
    );
    reg.verify_webhook("douyin", &truncated).await.unwrap();
    assert!(malformed(
        &reg.parse_webhook("douyin", &truncated).await.unwrap_err()
    ));

    let (page1, page2) = two_pages(&reg, "douyin").await;
    assert_eq!(page1, [format!("{}:paid", o1.order_id)]);
    assert_eq!(
        page2,
        [
            format!("{}:paid", o2.order_id),
            format!("{}:settle", o2.order_id)
        ]
    );
    assert_eq!(*requests.lock().unwrap(), 2);

    // A wrong secret: the mock refuses the signature, the plugin reports upstream.
    reg.set_settings(
        "douyin",
        settings(
            &[("app_key", DY_KEY), ("api_base", &format!("http://{addr}"))],
            &[("app_secret", "wrong"), ("access_token", "buyin-token")],
        ),
    )
    .unwrap();
    let e = reg.poll("douyin", None).await.unwrap_err();
    assert!(
        matches!(&e, CallError::Plugin(PluginError::Upstream(m)) if m.contains("sign")),
        "{e:?}"
    );
}

const KS_APP: &str = "ks669064233797003102";
const KS_SIGN: &str = "kuaishou-sign-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kuaishou_push_and_pull() {
    let (o1, o2) = (SampleOrder::new(21), SampleOrder::new(22));
    let (p1, p2) = (o1.clone(), o2.clone());
    let addr = mock_api(Box::new(move |path, query, _body| {
        if path != kuaishou::api::PATH {
            return (404, b"no such API".to_vec());
        }
        let param = match kuaishou::fixtures::verify_api_request(KS_APP, KS_SIGN, "ks-token", query)
        {
            Ok(p) => p,
            Err(why) => return (200, kuaishou::fixtures::error_response(28, &why)),
        };
        match param["pcursor"].as_str().unwrap() {
            "" => (
                200,
                kuaishou::fixtures::order_page_response(
                    &[kuaishou::fixtures::order_view(&p1, 30, p1.paid_at * 1000)],
                    "pc-2",
                ),
            ),
            _ => (
                200,
                kuaishou::fixtures::order_page_response(
                    &[kuaishou::fixtures::order_view(
                        &p2,
                        80,
                        p2.paid_at * 1000 + 5_000,
                    )],
                    "nomore",
                ),
            ),
        }
    }))
    .await;
    let reg = registry(50);
    let name = load(
        &reg,
        artifacts::KUAISHOU,
        artifacts::KUAISHOU_MANIFEST,
        &addr,
    )
    .await;
    let key = kuaishou::fixtures::sample_message_key("host-test");
    reg.set_settings(
        &name,
        settings(
            &[
                ("app_key", KS_APP),
                ("api_base", &format!("http://{addr}")),
                ("sign_method", "MD5"),
            ],
            &[
                ("message_private_key", &key),
                ("sign_secret", KS_SIGN),
                ("access_token", "ks-token"),
            ],
        ),
    )
    .unwrap();

    let valid = kuaishou::fixtures::delivery(
        &key,
        &kuaishou::fixtures::order_message(KS_APP, "267_2345_147402", &o1, 30, o1.paid_at * 1000),
    );
    let d = to_delivery("/webhooks/kuaishou", &valid);
    reg.verify_webhook(&name, &d).await.unwrap();
    let parsed = reg.parse_webhook(&name, &d).await.unwrap();
    assert_eq!(reply(&parsed), r#"{"result":1}"#);
    assert_eq!(keys(&parsed.events), ["267_2345_147402"]);
    match &parsed.events[0].body {
        EventBody::OrderPaid(p) => {
            assert_eq!(p.platform_order_id, o1.order_id);
            assert_eq!(p.account_id.as_deref(), Some(o1.account_id.as_str()));
            assert_eq!((p.paid_fen, p.commission_bp), (29_900, Some(2_000)));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        keys(&reg.parse_webhook(&name, &d).await.unwrap().events),
        keys(&parsed.events)
    );
    // The heartbeat is acknowledged.
    let hb = to_delivery(
        "/webhooks/kuaishou",
        &kuaishou::fixtures::delivery(&key, &kuaishou::fixtures::heartbeat()),
    );
    reg.verify_webhook(&name, &hb).await.unwrap();
    let hb = reg.parse_webhook(&name, &hb).await.unwrap();
    assert!(hb.events.is_empty());
    assert_eq!(reply(&hb), r#"{"result":1}"#);

    let mut tampered = d.clone();
    let n = tampered.body.len();
    tampered.body[n - 3] = if tampered.body[n - 3] == b'A' {
        b'B'
    } else {
        b'A'
    };
    assert!(unauthorized(
        &reg.verify_webhook(&name, &tampered).await.unwrap_err()
    ));
    let other_key = kuaishou::fixtures::delivery(
        &kuaishou::fixtures::sample_message_key("other"),
        &kuaishou::fixtures::order_message(KS_APP, "e", &o1, 30, 1),
    );
    assert!(unauthorized(
        &reg.verify_webhook(&name, &to_delivery("/webhooks/kuaishou", &other_key))
            .await
            .unwrap_err()
    ));
    let plain = kuaishou::fixtures::order_message(KS_APP, "e", &o1, 30, 1).to_string();
    let truncated = to_delivery(
        "/webhooks/kuaishou",
        &kuaishou::fixtures::encrypted(&key, &plain.as_bytes()[..plain.len() - 2]),
    );
    reg.verify_webhook(&name, &truncated).await.unwrap();
    assert!(malformed(
        &reg.parse_webhook(&name, &truncated).await.unwrap_err()
    ));

    let (page1, page2) = two_pages(&reg, &name).await;
    assert_eq!(page1, [format!("{}:paid", o1.order_id)]);
    assert_eq!(
        page2,
        [
            format!("{}:paid", o2.order_id),
            format!("{}:void", o2.order_id)
        ]
    );
}

const TB_KEY: &str = "12345678";
const TB_SECRET: &str = "taobao-app-secret";

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn taobao_push_and_pull() {
    let (o1, o2) = (SampleOrder::new(31), SampleOrder::new(32));
    let (p1, p2) = (o1.clone(), o2.clone());
    let addr = mock_api(Box::new(move |path, _query, body| {
        if path != taobao::api::PATH {
            return (404, b"no such API".to_vec());
        }
        let params = match taobao::fixtures::verify_api_request(TB_KEY, TB_SECRET, body) {
            Ok(p) => p,
            Err(why) => {
                return (
                    200,
                    taobao::fixtures::error_response(25, "Invalid signature", "", &why),
                );
            }
        };
        let method = params["method"].clone();
        match params.get("position_index") {
            None => (
                200,
                taobao::fixtures::order_page_response(
                    &method,
                    &[taobao::fixtures::publisher_order(&p1, 12, 0, p1.paid_at)],
                    true,
                    "pos-2",
                    1,
                ),
            ),
            Some(_) => (
                200,
                taobao::fixtures::order_page_response(
                    &method,
                    &[taobao::fixtures::publisher_order(
                        &p2,
                        3,
                        0,
                        p2.paid_at + 86_400,
                    )],
                    false,
                    "pos-3",
                    2,
                ),
            ),
        }
    }))
    .await;
    let reg = registry(50);
    let name = load(&reg, artifacts::TAOBAO, artifacts::TAOBAO_MANIFEST, &addr).await;
    reg.set_settings(
        &name,
        settings(
            &[
                ("app_key", TB_KEY),
                ("api_base", &format!("http://{addr}")),
                ("sign_method", "hmac"),
            ],
            &[("app_secret", TB_SECRET), ("access_token", "tb-session")],
        ),
    )
    .unwrap();

    // Taobao never POSTs TMC messages: without the relay mode an HTTP delivery is refused.
    let relayed = taobao::fixtures::delivery(
        TB_KEY,
        TB_SECRET,
        taobao::SignMethod::Md5,
        &[taobao::fixtures::buyer_pay(1000, &o1)],
        o1.paid_at,
    );
    assert!(unauthorized(
        &reg.verify_webhook(&name, &to_delivery("/webhooks/taobao", &relayed))
            .await
            .unwrap_err()
    ));
    reg.set_settings(
        &name,
        settings(
            &[
                ("app_key", TB_KEY),
                ("api_base", &format!("http://{addr}")),
                ("sign_method", "hmac"),
                ("mode", "tmc_http_relay"),
            ],
            &[("app_secret", TB_SECRET), ("access_token", "tb-session")],
        ),
    )
    .unwrap();

    let valid = taobao::fixtures::delivery(
        TB_KEY,
        TB_SECRET,
        taobao::SignMethod::Md5,
        &[
            taobao::fixtures::buyer_pay(1001, &o1),
            taobao::fixtures::refund_success(1002, &o1, "88001", 9_900, o1.paid_at + 60),
        ],
        o1.paid_at,
    );
    let d = to_delivery("/webhooks/taobao", &valid);
    reg.verify_webhook(&name, &d).await.unwrap();
    let parsed = reg.parse_webhook(&name, &d).await.unwrap();
    assert_eq!(reply(&parsed), r#"{"success":true}"#);
    assert_eq!(keys(&parsed.events), ["1001", "1002"]);
    match &parsed.events[0].body {
        EventBody::OrderNotice(n) => {
            assert_eq!(n.platform_order_id, o1.order_id);
            assert_eq!(
                n.sub_order_ids.as_slice(),
                std::slice::from_ref(&o1.sub_order_id)
            );
            assert_eq!(n.paid_fen, Some(29_900));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(
        keys(&reg.parse_webhook(&name, &d).await.unwrap().events),
        keys(&parsed.events)
    );

    let mut tampered = d.clone();
    tampered.body[12] ^= 1;
    assert!(unauthorized(
        &reg.verify_webhook(&name, &tampered).await.unwrap_err()
    ));
    let other_key = taobao::fixtures::delivery(
        TB_KEY,
        "another",
        taobao::SignMethod::Md5,
        &[taobao::fixtures::buyer_pay(1, &o1)],
        o1.paid_at,
    );
    assert!(unauthorized(
        &reg.verify_webhook(&name, &to_delivery("/webhooks/taobao", &other_key))
            .await
            .unwrap_err()
    ));
    let cut = valid.body[..valid.body.len() - 9].to_vec();
    let truncated = to_delivery(
        "/webhooks/taobao",
        &taobao::fixtures::signed(TB_KEY, TB_SECRET, taobao::SignMethod::Md5, cut, o1.paid_at),
    );
    reg.verify_webhook(&name, &truncated).await.unwrap();
    assert!(malformed(
        &reg.parse_webhook(&name, &truncated).await.unwrap_err()
    ));

    let (page1, page2) = two_pages(&reg, &name).await;
    assert_eq!(page1, [format!("{}:paid", o1.sub_order_id)]);
    assert_eq!(
        page2,
        [
            format!("{}:paid", o2.sub_order_id),
            format!("{}:settled", o2.sub_order_id)
        ]
    );
}
