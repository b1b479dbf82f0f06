//! Server limits on every route (issue 17 item 1), against the real `baton serve` binary with
//! short limits: a slow body on `/hooks/github` gets a 408, slow headers and idle connections
//! are closed, and past `max_connections` idle connections make room for `/healthz` with one
//! log line, not one per accept.

mod daemon;

use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::baton::BatonProcess;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

fn write_config(dir: &Path) -> PathBuf {
    std::fs::write(dir.join("api-tokens"), "limits-token\n").unwrap();
    std::fs::write(dir.join("hook-secret"), "hook-secret\n").unwrap();
    let file = dir.join("baton.yaml");
    let config = format!(
        r#"
state: sqlite://{db}
listen: 127.0.0.1:0
api_tokens_file: api-tokens
api: {{header_timeout: 1s, request_timeout: 2s, idle_timeout: 1s, max_connections: 8}}
git: {{webhook_secret_file: hook-secret}}
jenkins: {{url: "http://127.0.0.1:9", user: baton, token_file: api-tokens}}
spinnaker: {{gate_url: "http://127.0.0.1:9"}}
products:
  - name: micro-gw
    environments: [dev]
    images:
      - {{name: petstore, base: "127.0.0.1:9/vendor/base:1", target: "127.0.0.1:9/acme/petstore", jenkins_job: micro-gw/petstore}}
"#,
        db = dir.join("data/baton.db").display()
    );
    std::fs::write(&file, config).unwrap();
    file
}

fn addr(d: &BatonProcess) -> String {
    d.url.trim_start_matches("http://").to_owned()
}

/// Reads until the server closes the connection (or 10 s pass); what it sent.
async fn read_to_close(s: &mut TcpStream) -> Result<String, &'static str> {
    let mut out = Vec::new();
    match tokio::time::timeout(Duration::from_secs(10), s.read_to_end(&mut out)).await {
        Ok(_) => Ok(String::from_utf8_lossy(&out).into_owned()),
        Err(_) => Err("still open after 10 s"),
    }
}

#[tokio::test]
async fn slow_bodies_slow_headers_and_idle_connections_are_cut_on_every_route() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(&write_config(dir.path()));

    // A webhook whose body never completes: 408 after the request timeout.
    let mut slow_body = TcpStream::connect(addr(&d)).await.unwrap();
    slow_body
        .write_all(b"POST /hooks/github HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{\"ref\":")
        .await
        .unwrap();
    let answer = read_to_close(&mut slow_body).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 408"), "{answer:?}");

    // Headers that never end: closed.
    let mut slow_head = TcpStream::connect(addr(&d)).await.unwrap();
    slow_head
        .write_all(b"POST /hooks/github HTTP/1.1\r\nHost: b\r\nX-Slow: 1\r\n")
        .await
        .unwrap();
    read_to_close(&mut slow_head).await.unwrap();

    // A connection that never sends anything, and a keep-alive one after its answer: closed.
    let mut idle = TcpStream::connect(addr(&d)).await.unwrap();
    read_to_close(&mut idle).await.unwrap();
    let mut keep = TcpStream::connect(addr(&d)).await.unwrap();
    keep.write_all(b"GET /healthz HTTP/1.1\r\nHost: b\r\n\r\n")
        .await
        .unwrap();
    let answer = read_to_close(&mut keep).await.unwrap();
    assert!(answer.starts_with("HTTP/1.1 200"), "{answer:?}");
}

#[tokio::test]
async fn idle_connections_past_the_cap_make_room_for_health_checks() {
    let dir = tempfile::tempdir().unwrap();
    let d = daemon::start(&write_config(dir.path()));
    let mut idle = Vec::new();
    for _ in 0..60 {
        idle.push(TcpStream::connect(addr(&d)).await.unwrap());
    }
    baton::install_crypto_provider();
    let http = reqwest::Client::new();
    for path in ["/healthz", "/readyz"] {
        let r = http
            .get(format!("{}{path}", d.url))
            .timeout(Duration::from_secs(5))
            .send()
            .await
            .unwrap();
        assert_eq!(r.status(), 200, "{path}");
    }
    // All but the cap were closed by the server.
    let mut closed = 0;
    for s in &mut idle {
        let mut b = [0u8; 1];
        if let Ok(Ok(0)) = tokio::time::timeout(Duration::from_millis(200), s.read(&mut b)).await {
            closed += 1;
        }
    }
    assert!(
        closed >= 60 - 8,
        "only {closed} of 60 idle connections were closed"
    );
    let log = d.log();
    let lines = log.matches("connection limit reached").count();
    assert_eq!(
        lines, 1,
        "one log line per interval, not per accept:\n{log}"
    );
}
