//! What a plugin is not granted: its imports load, linked to stubs that refuse every call with
//! `not granted`, and the load says which; WASI beyond the deny-all set refuses the component.

use super::*;
use kolhost::plugins::{CallError, LoadError, Settings};

/// The call's error, which must be `not granted` for `function`.
async fn refused(reg: &Registry, op: &str) -> String {
    let e = reg
        .parse_webhook("h", &delivery(op, "app_key", b"k"))
        .await
        .expect_err(op);
    assert!(matches!(e, CallError::NotGranted(_)), "{op}: {e:?}");
    assert!(e.is_fault(), "{op}: a refused call is the plugin's fault");
    e.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn ungranted_imports_load_and_refuse_every_call() {
    let reg = registry(1000);
    // The hostile plugin imports all five host interfaces and `wasi:http`, as components
    // from other toolchains do; granted only `config`.
    let mut m = hostile_manifest("h", "1.0.0");
    m.grants = vec![Capability::Config];
    let st = reg.load(m, &hostile()).await.expect("loads");
    for (import, grant) in [
        ("kolhost:plugin/log@0.2.0", "log"),
        ("kolhost:plugin/clock@0.2.0", "clock"),
        ("kolhost:plugin/kv@0.2.0", "kv"),
        ("kolhost:plugin/http@0.2.0", "http"),
    ] {
        let w: Vec<_> = st
            .warnings
            .iter()
            .filter(|w| w.contains(&format!("`{import}`")))
            .collect();
        assert_eq!(w.len(), 1, "{import}: {:?}", st.warnings);
        assert!(
            w[0].contains(&format!("add `{grant}` to grants"))
                && w[0].contains("fail with `not granted`"),
            "{}",
            w[0]
        );
    }
    assert!(
        st.warnings.iter().any(
            |w| w.contains("`wasi:http/outgoing-handler@0.3.0-rc-2025-09-16`")
                && w.contains("no plugin is offered")
        ),
        "{:?}",
        st.warnings
    );
    assert_eq!(st.warnings.len(), 5, "{:?}", st.warnings);
    assert!(!st.warnings.iter().any(|w| w.contains("config")));
    assert_eq!(reg.status("h").unwrap().warnings, st.warnings);

    // What is granted works as before; what touches nothing ungranted too.
    let mut settings = Settings::default();
    settings.config.insert("app_key".into(), "ak".into());
    reg.set_settings("h", settings).unwrap();
    let p = reg
        .parse_webhook("h", &delivery("/config", "app_key", b""))
        .await
        .unwrap();
    assert_eq!(p.reply.body, b"ak/-");
    let p = reg
        .parse_webhook("h", &delivery("/fine", "", b""))
        .await
        .unwrap();
    assert_eq!(p.events.len(), 1);

    // Every call of what is not granted fails, naming the function and the grant.
    let e = refused(&reg, "/kv").await;
    assert_eq!(
        e,
        "not granted: the plugin called `kolhost:plugin/kv@0.2.0#get`, which the manifest does \
         not grant (add `kv` to grants)"
    );
    assert!(
        refused(&reg, "/clock")
            .await
            .contains("`kolhost:plugin/clock@0.2.0#now-ms`")
    );
    assert!(
        refused(&reg, "/http")
            .await
            .contains("`kolhost:plugin/http@0.2.0#send`")
    );
    let e = refused(&reg, "/wasi-http").await;
    assert!(
        e.contains("`wasi:http/outgoing-handler@0.3.0-rc-2025-09-16#handle`")
            && e.contains("outbound HTTP goes through kolhost:plugin/http"),
        "{e}"
    );

    // Granted everything (but `wasi:http`, which no grant offers), it warns of that alone.
    let st = reg
        .load(hostile_manifest("h2", "1.0.0"), &hostile())
        .await
        .unwrap();
    assert_eq!(st.warnings.len(), 1, "{:?}", st.warnings);
    let p = reg
        .parse_webhook("h2", &delivery("/clock", "", b""))
        .await
        .unwrap();
    assert!(
        String::from_utf8(p.reply.body)
            .unwrap()
            .parse::<i64>()
            .is_ok()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn wasi_beyond_the_deny_all_set_refuses_the_component() {
    let reg = registry(5);
    let component = wat::parse_str(
        r#"(component
            (import "wasi:keyvalue/store@0.2.0-draft" (instance (export "open" (func))))
            (core module $m (func (export "f")))
            (core instance $i (instantiate $m))
            (func $f (canon lift (core func $i "f")))
            (instance $api (export "describe" (func $f)))
            (export "kolhost:plugin/platform-api@0.2.0" (instance $api))
        )"#,
    )
    .unwrap();
    let e = reg
        .load(
            manifest("p", "1.0.0", World::Platform, &Capability::ALL),
            &component,
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, LoadError::UnknownImport(i) if i == "wasi:keyvalue/store@0.2.0-draft"),
        "{e}"
    );
    assert!(
        e.to_string().contains(
            "which this host does not offer (plugins get the kolhost:plugin interfaces and \
             WASI 0.2's cli, clocks"
        ),
        "{e}"
    );
    assert!(reg.list().is_empty());
}
