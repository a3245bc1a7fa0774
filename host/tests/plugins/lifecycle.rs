//! Enable, disable, versions, rollback, and swapping while calls are in flight.

use super::*;
use kolhost::plugins::{CallError, LoadError, RegistryError};
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn versions_enable_disable_rollback() {
    let reg = registry(5);
    let mut v1 = manifest("p", "1.0.0", World::Platform, &[Capability::Config]);
    v1.limits.timeout_ms = Some(1000);
    reg.load(v1.clone(), &example_platform()).await.unwrap();
    let st = reg
        .load(hostile_manifest("p", "2.0.0"), &hostile())
        .await
        .unwrap();
    assert_eq!(st.version, "2.0.0");
    assert_eq!(st.versions, vec!["1.0.0", "2.0.0"]);
    assert_eq!(st.info.name, "hostile");

    // The same version twice is refused, and changes nothing.
    let e = reg.load(v1.clone(), &example_platform()).await.unwrap_err();
    assert!(matches!(e, LoadError::VersionExists { .. }), "{e}");
    // So is a new version for another world.
    let e = reg
        .load(
            manifest("p", "3.0.0", World::Allocator, &[Capability::Log]),
            &example_allocator(),
        )
        .await
        .unwrap_err();
    assert!(matches!(e, LoadError::WrongWorld { .. }), "{e}");
    assert_eq!(reg.status("p").unwrap().versions, vec!["1.0.0", "2.0.0"]);

    // v2 answers /fine with "ok".
    assert_eq!(
        reg.parse_webhook("p", &delivery("/fine", "", b""))
            .await
            .unwrap()
            .reply
            .body,
        b"ok"
    );

    let st = reg.rollback("p").unwrap();
    assert_eq!(st.version, "1.0.0");
    assert_eq!(st.info.name, "example-platform");
    // v1 is the example plugin: without settings it answers a config error.
    let e = reg
        .verify_webhook("p", &delivery("/", "", b"[]"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CallError::Plugin(kolhost::plugins::PluginError::Config(_))
        ),
        "{e:?}"
    );
    assert!(matches!(
        reg.rollback("p"),
        Err(RegistryError::NoPreviousVersion(_))
    ));
    reg.activate("p", "2.0.0").unwrap();
    assert_eq!(reg.status("p").unwrap().version, "2.0.0");

    reg.disable("p").unwrap();
    let e = reg
        .parse_webhook("p", &delivery("/fine", "", b""))
        .await
        .unwrap_err();
    assert!(matches!(e, CallError::Disabled(_)), "{e:?}");
    reg.enable("p").unwrap();
    reg.parse_webhook("p", &delivery("/fine", "", b""))
        .await
        .unwrap();

    // An allocator cannot be asked to parse webhooks, and the reverse.
    reg.load(
        manifest("alloc", "1.0.0", World::Allocator, &[Capability::Log]),
        &example_allocator(),
    )
    .await
    .unwrap();
    let e = reg
        .parse_webhook("alloc", &delivery("/", "", b""))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CallError::WrongWorld {
                world: World::Allocator,
                ..
            }
        ),
        "{e:?}"
    );
    assert!(matches!(
        reg.parse_webhook("nope", &delivery("/", "", b"")).await,
        Err(CallError::NotFound(_))
    ));

    let names: Vec<_> = reg.list().into_iter().map(|s| s.name).collect();
    assert_eq!(names, vec!["alloc", "p"]);
    reg.remove("alloc").unwrap();
    assert!(reg.status("alloc").is_none());
}

/// A server that answers every request after `delay` with the body `answer`.
async fn slow_server(delay: Duration, answer: &'static str) -> String {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        loop {
            let Ok((mut sock, _)) = listener.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let mut buf = [0u8; 4096];
                let _ = sock.read(&mut buf).await;
                tokio::time::sleep(delay).await;
                let resp = format!(
                    "HTTP/1.1 200 OK\r\ncontent-length: {}\r\ncontent-type: text/plain\r\nconnection: close\r\n\r\n{answer}",
                    answer.len()
                );
                let _ = sock.write_all(resp.as_bytes()).await;
            });
        }
    });
    addr.to_string()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn swap_lets_calls_in_flight_finish_on_their_version() {
    let addr = slow_server(Duration::from_millis(300), "from v1").await;
    let reg = Arc::new(registry(5));
    let mut v1 = hostile_manifest("p", "1.0.0");
    v1.allowed_hosts = vec![addr.clone()];
    v1.allow_private_hosts = true;
    v1.limits.timeout_ms = Some(2000);
    reg.load(v1, &hostile()).await.unwrap();

    // A call on v1 that takes ~300 ms (its http request).
    let in_flight = {
        let reg = reg.clone();
        let url = format!("http://{addr}/slow");
        tokio::spawn(async move { reg.parse_webhook("p", &delivery("/http", &url, b"")).await })
    };
    tokio::time::sleep(Duration::from_millis(100)).await;
    // Swap to v2 (the example plugin) meanwhile.
    let mut v2 = manifest("p", "2.0.0", World::Platform, &[Capability::Config]);
    v2.limits.timeout_ms = Some(1000);
    reg.load(v2, &example_platform()).await.unwrap();
    assert_eq!(reg.status("p").unwrap().info.name, "example-platform");

    // The call in flight finished on v1.
    let parsed = in_flight.await.unwrap().unwrap();
    assert_eq!(parsed.reply.body, b"from v1");
    // New calls run v2.
    let e = reg
        .verify_webhook("p", &delivery("/", "", b"[]"))
        .await
        .unwrap_err();
    assert!(
        matches!(
            e,
            CallError::Plugin(kolhost::plugins::PluginError::Config(_))
        ),
        "{e:?}"
    );
}
