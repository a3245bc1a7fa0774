//! Connection hygiene: half-sent heads, slow bodies and idle connections are closed within
//! their (here shortened) timeouts; connections beyond the cap wait.

use std::time::{Duration, Instant};

use kolhost_e2e::{TestApp, both_databases_with};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

both_databases_with!(
    half_sent_heads_and_idle_connections_are_closed => |c: &mut kolhost::config::Config| {
        c.header_timeout_ms = 600;
        c.idle_timeout_ms = 1500;
    },
    slow_bodies_get_408 => |c: &mut kolhost::config::Config| {
        c.body_timeout_ms = 800;
    },
    connections_beyond_the_cap_wait => |c: &mut kolhost::config::Config| {
        c.max_connections = 2;
    },
);

/// Reads until the server closes (or `limit` passes); answers what came and when it ended.
async fn read_until_closed(stream: &mut TcpStream, limit: Duration) -> (Vec<u8>, Option<Duration>) {
    let start = Instant::now();
    let mut out = Vec::new();
    let mut buf = [0u8; 4096];
    loop {
        match tokio::time::timeout(limit.saturating_sub(start.elapsed()), stream.read(&mut buf))
            .await
        {
            Ok(Ok(0)) | Ok(Err(_)) => return (out, Some(start.elapsed())),
            Ok(Ok(n)) => out.extend_from_slice(&buf[..n]),
            Err(_) => return (out, None),
        }
    }
}

async fn half_sent_heads_and_idle_connections_are_closed(app: &TestApp) {
    // Half a head: closed after the header timeout, well before the idle one.
    let mut half = TcpStream::connect(app.addr).await.unwrap();
    half.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\nx-slow: ")
        .await
        .unwrap();
    let (got, closed) = read_until_closed(&mut half, Duration::from_secs(5)).await;
    let closed = closed.expect("a half-sent head is closed");
    assert!(got.is_empty(), "{}", String::from_utf8_lossy(&got));
    assert!(
        closed >= Duration::from_millis(400) && closed < Duration::from_millis(1400),
        "{closed:?}"
    );

    // One request answered, then nothing: closed after the idle timeout.
    let mut idle = TcpStream::connect(app.addr).await.unwrap();
    idle.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let n = idle.read(&mut buf).await.unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    let (_, closed) = read_until_closed(&mut idle, Duration::from_secs(6)).await;
    let closed = closed.expect("an idle connection is closed");
    assert!(
        closed >= Duration::from_millis(1200) && closed < Duration::from_millis(3000),
        "{closed:?}"
    );

    // A connection that never sends a byte is idle too.
    let mut silent = TcpStream::connect(app.addr).await.unwrap();
    let (_, closed) = read_until_closed(&mut silent, Duration::from_secs(6)).await;
    assert!(closed.expect("a silent connection is closed") < Duration::from_millis(3000));

    // A connection in use is not cut by the idle timeout between requests sent in time.
    let mut busy = TcpStream::connect(app.addr).await.unwrap();
    for _ in 0..3 {
        tokio::time::sleep(Duration::from_millis(700)).await;
        busy.write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
            .await
            .unwrap();
        let n = busy.read(&mut buf).await.unwrap();
        assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
    }
}

async fn slow_bodies_get_408(app: &TestApp) {
    let mut slow = TcpStream::connect(app.addr).await.unwrap();
    let head = format!(
        "POST /api/v1/brands HTTP/1.1\r\nhost: x\r\nauthorization: Bearer {}\r\ncontent-type: application/json\r\ncontent-length: 200\r\n\r\n{{\"name\":",
        app.admin
    );
    slow.write_all(head.as_bytes()).await.unwrap();
    let start = Instant::now();
    let (mut rd, mut wr) = slow.into_split();
    // A byte every 100 ms: 20 s for the whole body.
    let trickle = tokio::spawn(async move {
        for _ in 0..200 {
            tokio::time::sleep(Duration::from_millis(100)).await;
            if wr.write_all(b" ").await.is_err() {
                break;
            }
        }
    });
    let mut got = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), rd.read_to_end(&mut got)).await;
    let elapsed = start.elapsed();
    trickle.abort();
    let text = String::from_utf8_lossy(&got);
    assert!(text.starts_with("HTTP/1.1 408"), "{text}");
    assert!(text.contains("application/problem+json"), "{text}");
    assert!(text.contains("request_timeout"), "{text}");
    assert!(elapsed < Duration::from_secs(3), "{elapsed:?}");
    let (_, list) = app.get("/api/v1/brands", &app.admin).await;
    assert!(
        list["items"].as_array().unwrap().is_empty(),
        "nothing was stored"
    );
}

async fn connections_beyond_the_cap_wait(app: &TestApp) {
    let first = TcpStream::connect(app.addr).await.unwrap();
    let _second = TcpStream::connect(app.addr).await.unwrap();
    tokio::time::sleep(Duration::from_millis(200)).await;
    let mut third = TcpStream::connect(app.addr).await.unwrap();
    third
        .write_all(b"GET /healthz HTTP/1.1\r\nhost: x\r\n\r\n")
        .await
        .unwrap();
    let mut buf = [0u8; 4096];
    let waited = tokio::time::timeout(Duration::from_millis(700), third.read(&mut buf)).await;
    assert!(
        waited.is_err(),
        "the third connection waits while two are open"
    );
    drop(first);
    let n = tokio::time::timeout(Duration::from_secs(5), third.read(&mut buf))
        .await
        .expect("served once a connection closed")
        .unwrap();
    assert!(String::from_utf8_lossy(&buf[..n]).starts_with("HTTP/1.1 200"));
}
