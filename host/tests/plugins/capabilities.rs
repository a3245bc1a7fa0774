//! The granted capabilities: kv, config and secrets, clock, http (allow-listed), and the
//! example plugins working through them.

use super::*;
use kolhost::plugins::{
    AllocateInput, CallError, Contract, EventBody, Kol, KvStore, PluginError, Product, ProductRole,
    Settings, Tier,
};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn body(p: &kolhost::plugins::Parsed) -> String {
    String::from_utf8(p.reply.body.clone()).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_is_per_plugin_and_config_secrets_clock_work() {
    let reg = registry(5);
    reg.load(hostile_manifest("a", "1.0.0"), &hostile())
        .await
        .unwrap();
    reg.load(hostile_manifest("b", "1.0.0"), &hostile())
        .await
        .unwrap();

    let kv = |name: &'static str| {
        let reg = &reg;
        async move {
            body(
                &reg.parse_webhook(name, &delivery("/kv", "", b"counter"))
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(kv("a").await, "x");
    assert_eq!(kv("a").await, "xx");
    // `b` has its own state.
    assert_eq!(kv("b").await, "x");
    assert_eq!(kv("a").await, "xxx");
    // Keys are bounded.
    let long = vec![b'k'; 300];
    let e = reg
        .parse_webhook("a", &delivery("/kv", "", &long))
        .await
        .unwrap_err();
    assert!(
        matches!(e, CallError::Plugin(PluginError::Other(ref m)) if m.contains("256")),
        "{e:?}"
    );

    let cfg = |name: &'static str| {
        let reg = &reg;
        async move {
            body(
                &reg.parse_webhook(name, &delivery("/config", "app_key", b""))
                    .await
                    .unwrap(),
            )
        }
    };
    assert_eq!(cfg("a").await, "-/-");
    reg.set_settings(
        "a",
        Settings {
            config: [("app_key".to_string(), "key-a".to_string())].into(),
            secrets: [("app_key".to_string(), "secret-a".to_string())].into(),
        },
    )
    .unwrap();
    assert_eq!(cfg("a").await, "key-a/secret-a");
    assert_eq!(cfg("b").await, "-/-");
    // Secrets are listed by name only.
    let st = reg.status("a").unwrap();
    assert_eq!(st.secret_names, vec!["app_key"]);
    assert!(!serde_json::to_string(&st).unwrap().contains("secret-a"));

    let now = chrono::Utc::now().timestamp_millis();
    let ms: i64 = body(
        &reg.parse_webhook("a", &delivery("/clock", "", b""))
            .await
            .unwrap(),
    )
    .parse()
    .unwrap();
    assert!((ms - now).abs() < 5_000, "{ms} vs {now}");
}

/// A tiny HTTP server on 127.0.0.1 answering `hello from <path>`.
async fn local_server() -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = vec![0u8; 8192];
                let n = sock.read(&mut buf).await.unwrap_or(0);
                let req = String::from_utf8_lossy(&buf[..n]).to_string();
                let path = req.split_whitespace().nth(1).unwrap_or("/").to_string();
                let marker = if req.to_ascii_lowercase().contains("x-plugin: hostile") {
                    "+h"
                } else {
                    ""
                };
                // `/whoami` answers the Host headers it got.
                let hosts: Vec<&str> = req
                    .lines()
                    .filter_map(|l| l.split_once(':'))
                    .filter(|(k, _)| k.eq_ignore_ascii_case("host"))
                    .map(|(_, v)| v.trim())
                    .collect();
                let answer = if path == "/whoami" {
                    format!("host={}", hosts.join(","))
                } else {
                    format!("hello from {path}{marker}")
                };
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn http_only_to_allowed_hosts() {
    let addr = local_server().await;
    let reg = registry(5);
    let mut m = hostile_manifest("h", "1.0.0");
    m.allowed_hosts = vec![addr.clone()];
    m.allow_private_hosts = true;
    reg.load(m, &hostile()).await.unwrap();

    let ok = reg
        .parse_webhook(
            "h",
            &delivery("/http", &format!("http://{addr}/orders"), b""),
        )
        .await
        .unwrap();
    assert_eq!(ok.reply.status, 200);
    assert_eq!(body(&ok), "hello from /orders+h");

    // Same server under another name, another port, another host: refused by the host.
    let port = addr.rsplit(':').next().unwrap();
    for url in [
        format!("http://localhost:{port}/orders"),
        "http://127.0.0.1:1/x".to_string(),
        "https://example.com/".to_string(),
    ] {
        let e = reg
            .parse_webhook("h", &delivery("/http", &url, b""))
            .await
            .unwrap_err();
        assert!(
            matches!(&e, CallError::Plugin(PluginError::Upstream(m)) if m.contains("NotAllowed") && m.contains("allowed_hosts")),
            "{url}: {e:?}"
        );
    }
    let e = reg
        .parse_webhook("h", &delivery("/http", "file:///etc/passwd", b""))
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Plugin(PluginError::Upstream(m)) if m.contains("InvalidRequest")),
        "{e:?}"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn example_plugins_work() {
    let reg = registry(5);
    reg.load(
        manifest(
            "douyin-example",
            "1.0.0",
            World::Platform,
            &[Capability::Config],
        ),
        &example_platform(),
    )
    .await
    .unwrap();
    reg.set_settings(
        "douyin-example",
        Settings {
            config: [("app_key".to_string(), "ak".to_string())].into(),
            secrets: [("app_secret".to_string(), "sk".to_string())].into(),
        },
    )
    .unwrap();
    let d = douyin_sample();
    reg.verify_webhook("douyin-example", &d).await.unwrap();
    let parsed = reg.parse_webhook("douyin-example", &d).await.unwrap();
    assert_eq!(body(&parsed), r#"{"code":0,"msg":"success"}"#);
    assert_eq!(parsed.events.len(), 2);
    assert_eq!(parsed.events[0].key, "7301");
    // Douyin's push names no product, author or room: an order notice.
    match &parsed.events[0].body {
        EventBody::OrderNotice(n) => {
            assert_eq!(n.platform_order_id, "4781320682406083000");
            assert_eq!(n.sub_order_ids, ["4781320682406083001"]);
            assert_eq!(n.paid_fen, Some(29900));
            assert_eq!(n.paid_at.as_deref(), Some("2024-05-20T06:00:00Z"));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parsed.events[0].platform_status.as_deref(), Some("101"));
    assert!(
        matches!(&parsed.events[1].body, EventBody::OrderRefunded(r) if r.refunded_fen == 9900)
    );

    // A tampered body fails verification as unauthorized.
    let mut bad = d.clone();
    bad.body.push(b' ');
    let e = reg
        .verify_webhook("douyin-example", &bad)
        .await
        .unwrap_err();
    assert!(
        matches!(e, CallError::Plugin(PluginError::Unauthorized(_))),
        "{e:?}"
    );

    reg.load(
        manifest("pyramid", "1.0.0", World::Allocator, &[Capability::Log]),
        &example_allocator(),
    )
    .await
    .unwrap();
    let product = |id: &str, role| Product {
        id: id.into(),
        brand_id: "brand".into(),
        sku: format!("SKU-{id}"),
        name: id.into(),
        category: "food".into(),
        role,
        list_price_fen: 10_000,
        floor_price_fen: 8_500,
        stock_units: 100,
    };
    let kol = |id: &str, tier| Kol {
        id: id.into(),
        name: id.into(),
        tier,
        categories: vec![],
        accounts: vec![],
    };
    let contract = |kol: &str| Contract {
        id: format!("c-{kol}"),
        brand_id: "brand".into(),
        kol_id: kol.into(),
        platform: "douyin".into(),
        status: "signed".into(),
        slot_fee_fen: 0,
        commission_bp: 2000,
        lowest_price_clause: false,
        exclusive: false,
        sessions_committed: 1,
    };
    let input = AllocateInput {
        products: vec![
            product("p1", ProductRole::Launch),
            product("p2", ProductRole::Profit),
        ],
        kols: vec![
            kol("k1", Tier::Head),
            kol("k2", Tier::Tail),
            kol("k3", Tier::Tail),
        ],
        contracts: vec![contract("k1"), contract("k2"), contract("k3")],
        sessions: vec![],
        params_json: r#"{"discount_bp": 2000}"#.into(),
    };
    let a = reg.allocate("pyramid", &input).await.unwrap();
    assert_eq!(a.assignments.len(), 3);
    assert_eq!(a.assignments[0].kol_id, "k1");
    assert_eq!(a.assignments[0].units, 100);
    // 20% off 10,000 is 8,000, under the floor: the floor holds.
    assert!(a.assignments.iter().all(|x| x.live_price_fen == 8_500));
    assert_eq!(a.assignments[1].units, 50);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn private_hosts_are_refused_at_upload_and_after_resolution() {
    let addr = local_server().await;
    let port = addr.rsplit(':').next().unwrap().to_owned();
    let reg = registry(1000);
    // Named in allowed_hosts without allow_private_hosts: refused at load.
    for host in [
        addr.clone(),
        format!("localhost:{port}"),
        "169.254.169.254".into(),
        "*".into(),
    ] {
        let mut m = hostile_manifest("p", "1.0.0");
        m.allowed_hosts = vec![host.clone()];
        let e = reg.load(m, &hostile()).await.unwrap_err();
        assert!(e.to_string().contains("allowed_hosts"), "{host}: {e}");
    }
    // `rebind.test` is a public-looking name that resolves to 127.0.0.1 (the runtime's host
    // table, as a rebinding DNS server would answer): refused after resolution.
    let mut m = hostile_manifest("p", "1.0.0");
    m.allowed_hosts = vec![format!("rebind.test:{port}")];
    reg.load(m, &hostile()).await.unwrap();
    let e = reg
        .parse_webhook(
            "p",
            &delivery("/http", &format!("http://rebind.test:{port}/whoami"), b""),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, CallError::Plugin(PluginError::Upstream(m)) if m.contains("private address")),
        "{e:?}"
    );
    // With allow_private_hosts (an admin's choice) it connects to the address it resolved,
    // and the Host header is the URL's, not the one the plugin sent.
    let mut m = hostile_manifest("q", "1.0.0");
    m.allowed_hosts = vec![format!("rebind.test:{port}")];
    m.allow_private_hosts = true;
    reg.load(m, &hostile()).await.unwrap();
    let ok = reg
        .parse_webhook(
            "q",
            &delivery("/http", &format!("http://rebind.test:{port}/whoami"), b""),
        )
        .await
        .unwrap();
    assert_eq!(body(&ok), format!("host=rebind.test:{port}"));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn kv_quotas_hold_and_writes_of_failed_calls_are_rolled_back() {
    let kv = Arc::new(MemoryKv::new());
    let reg = Registry::new(runtime(), kv.clone(), RegistryConfig::default());
    let mut m = hostile_manifest("q", "1.0.0");
    m.limits.kv_max_writes_per_call = Some(10);
    m.limits.kv_max_keys = Some(15);
    m.limits.kv_max_bytes = Some(2000);
    let st = reg.load(m, &hostile()).await.unwrap();
    assert_eq!(st.limits.kv_max_keys, 15);
    let fill = |q: &'static str| {
        let reg = &reg;
        async move {
            body(
                &reg.parse_webhook("q", &delivery("/kv-fill", q, b""))
                    .await
                    .unwrap(),
            )
        }
    };
    // Writes per call.
    assert_eq!(
        fill("a:20:10").await,
        "wrote 10: kv quota: at most 10 writes per call"
    );
    let u = kv.usage("q").await.unwrap();
    assert_eq!((u.keys, u.bytes), (10, 10 * (3 + 10)));
    // Keys: overwriting does not add keys; new ones stop at the quota.
    assert_eq!(fill("a:10:10").await, "wrote 10");
    assert_eq!(fill("b:10:10").await, "wrote 5: kv quota: at most 15 keys");
    assert_eq!(kv.usage("q").await.unwrap().keys, 15);
    // Bytes: an overwrite that would pass the quota is refused.
    assert_eq!(
        fill("a:1:1990").await,
        "wrote 0: kv quota: at most 2000 bytes"
    );
    assert_eq!(kv.get("q", "a-0").await.unwrap(), Some(vec![b'v'; 10]));

    // A call that traps or times out after writing leaves nothing behind.
    let before = kv.usage("q").await.unwrap();
    let e = reg
        .parse_webhook("q", &delivery("/kv-then-trap", "", b"b-0"))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Trap(_)), "{e:?}");
    let e = reg
        .parse_webhook("q", &delivery("/kv-then-loop", "", b"a-1"))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Timeout(_)), "{e:?}");
    assert_eq!(kv.get("q", "b-0").await.unwrap(), Some(vec![b'v'; 10]));
    assert_eq!(kv.get("q", "a-1").await.unwrap(), Some(vec![b'v'; 10]));
    assert_eq!(kv.usage("q").await.unwrap(), before);
}
