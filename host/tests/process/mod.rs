//! Running the real `kolhost` binary from tests that kill and restart it (crash, multihost).

use std::net::TcpListener;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

/// Runs `kolhost <args>` against `db_url` to completion; its stdout, trimmed. A failure fails
/// the test with the command's stderr.
pub fn kolhost(db_url: &str, args: &[&str]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kolhost"))
        .args(args)
        .env("KOLHOST_DATABASE_URL", db_url)
        .env("RUST_LOG", "error")
        .output()
        .expect("run kolhost");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout).unwrap().trim().to_owned()
}

/// A loopback port free now (the server binds it soon after).
pub fn free_port() -> u16 {
    TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port()
}

/// A `kolhost serve` process.
#[allow(dead_code)] // not every test binary that includes this module starts one
pub struct Server {
    pub child: Child,
    pub base: String,
    /// From the spawn to the first `/healthz` answer.
    pub up_after: Duration,
}

/// Starts `kolhost serve` on `db_url` and `port`; answers once `/healthz` answers (fails the
/// test after 5 minutes).
#[allow(dead_code)]
pub async fn serve(db_url: &str, port: u16) -> Server {
    let at = Instant::now();
    let child = Command::new(env!("CARGO_BIN_EXE_kolhost"))
        .arg("serve")
        .env("KOLHOST_DATABASE_URL", db_url)
        .env("KOLHOST_LISTEN", format!("127.0.0.1:{port}"))
        .env("RUST_LOG", "error")
        .stdout(Stdio::null())
        .spawn()
        .expect("start kolhost");
    let base = format!("http://127.0.0.1:{port}");
    let http = reqwest::Client::new();
    loop {
        if let Ok(r) = http.get(format!("{base}/healthz")).send().await
            && r.status().is_success()
        {
            break;
        }
        assert!(
            at.elapsed() < Duration::from_secs(300),
            "kolhost did not come up on {base}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    Server {
        child,
        base,
        up_after: at.elapsed(),
    }
}
