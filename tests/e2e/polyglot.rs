//! Plugins written in Python (componentize-py) and JavaScript (componentize-js), built by their
//! own toolchains (plugins/examples/build-other-languages), uploaded over the HTTP API granted
//! only `config`: the answer warns of each import that is not granted, and Douyin pushes go
//! through them as through the Rust example.

use kolhost::domain::Role;
use kolhost_e2e::{TestApp, both_databases, other_language_example};
use kolhost_platform_formats::douyin::fixtures::{delivery, public_paid_message, refund_message};
use kolhost_platform_formats::fixtures::{SampleOrder, SignedDelivery};
use serde_json::{Value, json};

both_databases!(python_and_javascript_plugins_serve_webhooks);

/// The example as the active version of `douyin`, granted `config` only.
async fn upload(app: &TestApp, token: &str, version: &str, component: Vec<u8>) -> (u16, Value) {
    // Interpreters start from a larger memory image than Rust plugins.
    let manifest = format!(
        "name = \"douyin\"\nversion = \"{version}\"\nworld = \"platform\"\ngrants = [\"config\"]\n\
         [limits]\ntimeout_ms = 5000\nmax_memory_bytes = 134217728\n"
    );
    app.upload_plugin(token, Some(manifest), Some(component))
        .await
}

async fn push(app: &TestApp, d: &SignedDelivery) -> (u16, String) {
    app.push_webhook("douyin", &d.query, &d.headers, &d.body)
        .await
}

async fn python_and_javascript_plugins_serve_webhooks(app: &TestApp) {
    let integrator = app.token(Role::Integrator, None).await;
    let cases = [
        ("python_platform.wasm", "2.0.0", "python-platform", &[][..]),
        (
            "js_platform.wasm",
            "3.0.0",
            "js-platform",
            &["wasi:http/types@", "wasi:http/outgoing-handler@"][..],
        ),
    ];
    for (n, (file, version, describes, wasi_http)) in cases.into_iter().enumerate() {
        let (status, p) = upload(app, &integrator, version, other_language_example(file)).await;
        assert_eq!(status, 201, "{file}: {p}");
        assert_eq!(p["version"], version, "{file}: the active version");
        assert_eq!(p["info"]["name"], describes, "{file}: {p}");
        // Their toolchains import every host interface of the world: those not granted load,
        // refusing calls, and the answer says which.
        let warnings: Vec<&str> = p["warnings"]
            .as_array()
            .unwrap()
            .iter()
            .map(|w| w.as_str().unwrap())
            .collect();
        for grant in ["log", "clock", "kv", "http"] {
            assert!(
                warnings.iter().any(|w| w.contains(&format!(
                    "`kolhost:plugin/{grant}@0.2.0`, which the manifest does not grant (add \
                     `{grant}` to grants): its calls fail with `not granted`"
                ))),
                "{file}, {grant}: {warnings:?}"
            );
        }
        for import in wasi_http {
            assert!(
                warnings
                    .iter()
                    .any(|w| w.contains(import) && w.contains("which no plugin is offered")),
                "{file}, {import}: {warnings:?}"
            );
        }
        assert_eq!(warnings.len(), 4 + wasi_http.len(), "{file}: {warnings:?}");
        assert!(!warnings.iter().any(|w| w.contains("plugin/config")));
        let (status, v) = app
            .call(
                reqwest::Method::PUT,
                "/api/v1/plugins/douyin/config",
                Some(&integrator),
                Some(json!({"app_key": "ak", "app_secret": "sk"})),
            )
            .await;
        assert_eq!(status, 200, "{v}");

        // A signed push: a paid order and its refund.
        let o = SampleOrder::new(500 + n as u64);
        let d = delivery(
            "ak",
            "sk",
            &[
                public_paid_message(&format!("{file}-1"), &o),
                refund_message(
                    &format!("{file}-2"),
                    &o,
                    "6987654321",
                    9_900,
                    o.paid_at + 60,
                ),
            ],
        );
        let (status, body) = push(app, &d).await;
        assert_eq!(
            (status, body.as_str()),
            (200, r#"{"code":0,"msg":"success"}"#),
            "{file}"
        );
        // Forged: the signature of other bytes.
        let mut forged = d.clone();
        forged.body = d.body.iter().rev().copied().collect();
        let (status, body) = push(app, &forged).await;
        assert_eq!(status, 401, "{file}: {body}");

        let (status, list) = app.get("/api/v1/orders", &app.admin).await;
        assert_eq!(status, 200, "{list}");
        let got = list["items"]
            .as_array()
            .unwrap()
            .iter()
            .find(|x| x["platform_order_id"] == o.order_id.as_str())
            .unwrap_or_else(|| panic!("{file}: order {} in {list}", o.order_id));
        assert_eq!(got["awaiting_detail"], true, "{file}: {got}");
        assert_eq!(got["paid_fen"].as_i64(), Some(o.paid_fen), "{file}: {got}");
        assert_eq!(got["refunded_fen"].as_i64(), Some(9_900), "{file}: {got}");
        assert_eq!(got["paid_at"], "2024-05-20T06:00:00Z", "{file}: {got}");
    }
}
