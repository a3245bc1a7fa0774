//! Running the real `kolhost` binary from tests that kill and restart it (crash, multihost).

use std::net::TcpListener;
use std::process::Command;

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
