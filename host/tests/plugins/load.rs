//! Load-time checks: what is refused, with which error.

use super::*;
use kolhost::plugins::{LoadError, ManifestError};

fn wat(text: &str) -> Vec<u8> {
    wat::parse_str(text).expect("valid wat")
}

/// A component exporting `platform-api` of the given version with a `describe` function.
fn component_exporting(interface: &str) -> Vec<u8> {
    wat(&format!(
        r#"(component
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $api (export "describe" (func $f)))
            (export "{interface}" (instance $api))
        )"#
    ))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuses_what_it_cannot_run() {
    let reg = registry(5);
    let m = || manifest("p", "1.0.0", World::Platform, &[Capability::Config]);

    let e = reg.load(m(), b"hello, not wasm").await.unwrap_err();
    assert!(matches!(e, LoadError::NotWasm), "{e}");

    let e = reg
        .load(m(), &wat("(module (func (export \"f\")))"))
        .await
        .unwrap_err();
    assert!(matches!(e, LoadError::CoreModule), "{e}");
    assert!(
        e.to_string()
            .contains("core WebAssembly module, not a component"),
        "{e}"
    );

    let mut truncated = example_platform();
    truncated.truncate(truncated.len() / 2);
    let e = reg.load(m(), &truncated).await.unwrap_err();
    assert!(matches!(e, LoadError::Invalid(_)), "{e}");

    // An allocator loaded as a platform plugin.
    let e = reg.load(m(), &example_allocator()).await.unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::WrongWorld {
                expected: World::Platform,
                ..
            }
        ),
        "{e}"
    );
    assert!(
        e.to_string().contains("kolhost:plugin/allocator-api@0.2.0"),
        "{e}"
    );

    // A component for a version of the package this host does not run.
    let e = reg
        .load(
            m(),
            &component_exporting("kolhost:plugin/platform-api@0.3.0"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, LoadError::UnsupportedVersion { found, .. } if found == "0.3.0"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "the component targets kolhost:plugin@0.3.0; this host runs kolhost:plugin@0.1.0 and 0.2.0"
    );

    // Something else entirely.
    let e = reg
        .load(m(), &component_exporting("acme:thing/api@1.0.0"))
        .await
        .unwrap_err();
    assert!(matches!(e, LoadError::WrongWorld { .. }), "{e}");

    // An import the manifest does not grant loads, refusing its calls: tests/plugins/grants.rs.

    // Limits above the host's ceilings.
    let mut greedy = m();
    greedy.limits.max_memory_bytes = Some(1 << 40);
    let e = reg.load(greedy, &example_platform()).await.unwrap_err();
    assert!(matches!(e, LoadError::Limits(_)), "{e}");
    let mut chatty = m();
    chatty.limits.max_output_bytes = Some(1 << 30);
    let e = reg.load(chatty, &example_platform()).await.unwrap_err();
    assert_eq!(
        e.to_string(),
        "limits: max_output_bytes 1073741824 is above the host's maximum 16777216"
    );

    // Nothing of the above was registered.
    assert!(reg.list().is_empty());

    // And the good one loads.
    let st = reg.load(m(), &example_platform()).await.unwrap();
    assert_eq!(st.info.platform, "douyin");
    assert_eq!(st.version, "1.0.0");
}

#[test]
fn manifests_are_checked() {
    let toml = r#"
        name = "douyin"
        version = "1.0.0"
        world = "platform"
        grants = ["log", "config", "http"]
        allowed_hosts = ["127.0.0.1:8080"]
        allow_private_hosts = true
        [limits]
        timeout_ms = 2000
    "#;
    let m = Manifest::from_toml(toml).unwrap();
    let e = Manifest::from_toml(&toml.replace("allow_private_hosts = true", "")).unwrap_err();
    assert!(
        matches!(&e, ManifestError::Invalid { field: "allowed_hosts", message } if message.contains("private")),
        "{e}"
    );
    assert_eq!(m.world, World::Platform);
    assert_eq!(m.limits.timeout_ms, Some(2000));
    let json = r#"{"name":"alloc","version":"0.1.0","world":"allocator","grants":["http"]}"#;
    let e = Manifest::from_json(json).unwrap_err();
    assert!(
        matches!(
            e,
            ManifestError::Invalid {
                field: "grants",
                ..
            }
        ),
        "{e}"
    );
    let e =
        Manifest::from_json(r#"{"name":"Bad Name","version":"1","world":"platform"}"#).unwrap_err();
    assert!(
        matches!(e, ManifestError::Invalid { field: "name", .. }),
        "{e}"
    );
    let e = Manifest::from_json(
        r#"{"name":"x","version":"1","world":"platform","allowed_hosts":["a.com"]}"#,
    )
    .unwrap_err();
    assert!(
        matches!(
            e,
            ManifestError::Invalid {
                field: "allowed_hosts",
                ..
            }
        ),
        "{e}"
    );
    let e = Manifest::from_json(r#"{"name":"x","version":"1","world":"nope"}"#).unwrap_err();
    assert!(matches!(e, ManifestError::Json(_)), "{e}");
}

/// A component built against the frozen `kolhost:plugin@0.1.0` (before order notices) still
/// loads and serves, through the host's 0.1.0 adapter: verify, parse (its `order-paid` is a
/// complete order, its refund names its id), poll, and `confirm` (which 0.1.0 lacks) is a no-op.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_v0_1_0_component_still_loads_and_serves() {
    use kolhost::plugins::{EventBody, PluginError, Settings};
    use kolhost_platform_formats::douyin::fixtures as dy;
    use kolhost_platform_formats::fixtures::SampleOrder;

    let bytes = wasm(artifacts::LEGACY_V010);
    let reg = registry(5);
    let name = reg
        .load(
            manifest("legacy", "0.1.0", World::Platform, &[Capability::Config]),
            &bytes,
        )
        .await
        .unwrap();
    assert_eq!(name.name, "legacy");
    let status = reg.status("legacy").unwrap();
    assert_eq!(status.info.name, "legacy-v010");
    assert_eq!(status.info.platform, "douyin");

    let mut settings = Settings::default();
    settings.config.insert("app_key".into(), "ak".into());
    settings.secrets.insert("app_secret".into(), "sk".into());
    reg.set_settings("legacy", settings).unwrap();

    let o = SampleOrder::new(3);
    let signed = dy::delivery(
        "ak",
        "sk",
        &[
            dy::paid_message("9001", &o),
            dy::refund_message("9002", &o, "777", 500, o.paid_at + 60),
        ],
    );
    let d = Delivery {
        method: signed.method.clone(),
        path: "/webhooks/legacy".into(),
        query: signed.query.clone(),
        headers: signed.headers.clone(),
        body: signed.body.clone(),
    };
    reg.verify_webhook("legacy", &d).await.unwrap();
    let parsed = reg.parse_webhook("legacy", &d).await.unwrap();
    assert_eq!(parsed.reply.body, br#"{"code":0,"msg":"success"}"#);
    assert_eq!(parsed.events.len(), 2);
    match &parsed.events[0].body {
        EventBody::OrderPaid(p) => {
            assert_eq!(p.platform_order_id, o.order_id);
            assert_eq!(p.item_id, o.item_id);
            assert_eq!(p.account_id.as_deref(), Some(o.account_id.as_str()));
            assert_eq!((p.units, p.paid_fen), (o.units, o.paid_fen));
        }
        other => panic!("{other:?}"),
    }
    assert_eq!(parsed.events[0].platform_status, None);
    match &parsed.events[1].body {
        EventBody::OrderRefunded(r) => assert_eq!(r.refund_id.as_deref(), Some("777")),
        other => panic!("{other:?}"),
    }

    let mut tampered = d.clone();
    tampered.body[5] ^= 1;
    let e = reg.verify_webhook("legacy", &tampered).await.unwrap_err();
    assert!(
        matches!(
            e,
            kolhost::plugins::CallError::Plugin(PluginError::Unauthorized(_))
        ),
        "{e:?}"
    );
    let page = reg.poll("legacy", None).await.unwrap();
    assert!(page.events.is_empty() && page.receipt.is_none());
    reg.confirm("legacy", "anything").await.unwrap();
}
