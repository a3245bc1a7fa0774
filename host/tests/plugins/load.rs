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
        e.to_string().contains("kolhost:plugin/allocator-api@0.1.0"),
        "{e}"
    );

    // A component for a version of the package this host does not run.
    let e = reg
        .load(
            m(),
            &component_exporting("kolhost:plugin/platform-api@0.2.0"),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(&e, LoadError::UnsupportedVersion { found, .. } if found == "0.2.0"),
        "{e}"
    );
    assert_eq!(
        e.to_string(),
        "the component targets kolhost:plugin@0.2.0; this host runs kolhost:plugin@0.1.0"
    );

    // Something else entirely.
    let e = reg
        .load(m(), &component_exporting("acme:thing/api@1.0.0"))
        .await
        .unwrap_err();
    assert!(matches!(e, LoadError::WrongWorld { .. }), "{e}");

    // The hostile plugin imports http, kv, clock, config: without the http grant it is refused.
    let mut no_http = hostile_manifest("h", "1.0.0");
    no_http.grants.retain(|c| *c != Capability::Http);
    let e = reg.load(no_http, &hostile()).await.unwrap_err();
    assert!(
        matches!(&e, LoadError::UngrantedImport { import, capability: Capability::Http } if import == "kolhost:plugin/http@0.1.0"),
        "{e}"
    );
    assert!(e.to_string().contains("add `http` to grants"), "{e}");

    // The example platform plugin needs config.
    let e = reg
        .load(
            manifest("p", "1.0.0", World::Platform, &[]),
            &example_platform(),
        )
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            LoadError::UngrantedImport {
                capability: Capability::Config,
                ..
            }
        ),
        "{e}"
    );

    // Limits above the host's ceilings.
    let mut greedy = m();
    greedy.limits.max_memory_bytes = Some(1 << 40);
    let e = reg.load(greedy, &example_platform()).await.unwrap_err();
    assert!(matches!(e, LoadError::Limits(_)), "{e}");

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
        [limits]
        timeout_ms = 2000
    "#;
    let m = Manifest::from_toml(toml).unwrap();
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
