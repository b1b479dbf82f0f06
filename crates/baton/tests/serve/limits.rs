//! Server limits on every route (issue 17 item 1), against the real `baton serve` binary with
//! short limits: a slow body on `/hooks/github` gets a 408, slow headers and idle connections
//! are closed, and past `max_connections` idle connections make room for `/healthz` with one
//! log line, not one per accept. With every API connection busy at the default cap, the probe
//! listener (`api.probe_listen`) still answers `/healthz`, `/readyz` and `/metrics`. A hostile Helm repository: a tar bomb chart is downloaded once,
//! then skipped (across a restart) until the repository publishes another archive.

use baton_harness::daemon;

use std::collections::HashMap;
use std::io::Write as _;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use sha2::Digest as _;

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
    baton_daemon::install_crypto_provider();
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

/// What `conn` gets for a `GET path` before the server closes it (or 5 s pass).
async fn get_raw(mut conn: TcpStream, path: &str) -> String {
    let request = format!("GET {path} HTTP/1.1\r\nHost: b\r\nConnection: close\r\n\r\n");
    if conn.write_all(request.as_bytes()).await.is_err() {
        return String::new();
    }
    let mut out = Vec::new();
    let _ = tokio::time::timeout(Duration::from_secs(5), conn.read_to_end(&mut out)).await;
    String::from_utf8_lossy(&out).into_owned()
}

#[tokio::test]
async fn the_probe_listener_answers_while_every_api_connection_is_taken() {
    // The limits a user gets: no `api:` limits, only a probe address.
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path());
    let text = std::fs::read_to_string(&file).unwrap();
    let limits = text.lines().find(|l| l.starts_with("api:")).unwrap();
    std::fs::write(
        &file,
        text.replace(limits, "api: {probe_listen: \"127.0.0.1:0\"}"),
    )
    .unwrap();
    let cap = baton_core::config::api::ApiSettings::MAX_CONNECTIONS;
    // This process holds `cap` sockets and more; raise its open-files limit like serve does.
    assert!(baton_daemon::api::limits::connection_cap(cap + 64) >= cap + 64);
    let d = daemon::start(&file);
    let probe = d
        .probe_url
        .clone()
        .expect("the ready file names the probe listener");

    // Every API connection busy: webhooks whose bodies never complete (30 s request timeout).
    // More than the cap, as the server closes a connection it has not read yet to make room.
    let mut busy = Vec::new();
    let slow_body = async || {
        let mut s = TcpStream::connect(addr(&d)).await.unwrap();
        s.write_all(b"POST /hooks/github HTTP/1.1\r\nHost: b\r\nContent-Type: application/json\r\nContent-Length: 100\r\n\r\n{")
            .await
            .unwrap();
        s
    };
    for _ in 0..cap + 64 {
        busy.push(slow_body().await);
    }
    // Once the server has read them all, the API port refuses: the connection closes unanswered.
    // (A probe that got in closed an unread one to make room: it is replaced before the next.)
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        busy.push(slow_body().await);
        tokio::time::sleep(Duration::from_millis(100)).await;
        let conn = TcpStream::connect(addr(&d)).await.unwrap();
        let answer = get_raw(conn, "/healthz").await;
        if answer.is_empty() {
            break;
        }
        assert!(
            Instant::now() < deadline,
            "the API port still answers with {cap} busy connections: {answer:?}\n{}",
            d.log()
        );
    }

    // The probe listener answers all three routes, and nothing else.
    let probe_addr = probe.trim_start_matches("http://");
    for (path, status) in [
        ("/healthz", "200"),
        ("/readyz", "200"),
        ("/metrics", "200"),
        ("/v1/status", "404"),
    ] {
        let started = Instant::now();
        let answer = get_raw(TcpStream::connect(probe_addr).await.unwrap(), path).await;
        assert!(
            answer.starts_with(&format!("HTTP/1.1 {status}")),
            "{path} on the probe listener: {answer:?}\n{}",
            d.log()
        );
        assert!(
            started.elapsed() < Duration::from_secs(2),
            "{path} took {:?}",
            started.elapsed()
        );
    }
    assert!(d.log().contains("connection limit reached"), "{}", d.log());
    assert!(
        d.log().contains(&format!(
            "probes (/healthz, /readyz, /metrics) on {probe_addr}"
        )),
        "{}",
        d.log()
    );
    drop(busy);
}

/// A `.tgz` of chart `microgateway` 3.0.1 with `extra` zero bytes in one file.
fn chart(extra: usize) -> Vec<u8> {
    let gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
    let mut tar = tar::Builder::new(gz);
    let meta = b"apiVersion: v2\nname: microgateway\nversion: 3.0.1\n".to_vec();
    for (path, data) in [
        ("microgateway/Chart.yaml", meta),
        ("microgateway/zeros", vec![0; extra]),
    ] {
        let mut h = tar::Header::new_gnu();
        h.set_size(data.len() as u64);
        h.set_mode(0o644);
        h.set_cksum();
        tar.append_data(&mut h, path, data.as_slice()).unwrap();
    }
    let mut gz = tar.into_inner().unwrap();
    gz.flush().unwrap();
    gz.finish().unwrap()
}

/// A Helm repository of one chart (swappable) that counts the GETs of each path.
#[derive(Clone, Default)]
struct HelmRepo {
    files: Arc<Mutex<HashMap<String, Vec<u8>>>>,
    gets: Arc<Mutex<HashMap<String, u32>>>,
}

impl HelmRepo {
    fn publish(&self, base: &str, tgz: Vec<u8>) {
        let index = format!(
            "apiVersion: v1\nentries:\n  microgateway:\n    - name: microgateway\n      version: 3.0.1\n      digest: {}\n      urls: [{base}/microgateway-3.0.1.tgz]\n",
            hex::encode(sha2::Sha256::digest(&tgz))
        );
        let mut f = self.files.lock().unwrap();
        f.insert("/index.yaml".into(), index.into_bytes());
        f.insert("/microgateway-3.0.1.tgz".into(), tgz);
    }

    fn gets(&self, path: &str) -> u32 {
        self.gets.lock().unwrap().get(path).copied().unwrap_or(0)
    }

    async fn start(&self) -> String {
        let repo = self.clone();
        let app = axum::Router::new().fallback(move |uri: axum::http::Uri| {
            let repo = repo.clone();
            async move {
                *repo
                    .gets
                    .lock()
                    .unwrap()
                    .entry(uri.path().into())
                    .or_default() += 1;
                match repo.files.lock().unwrap().get(uri.path()) {
                    Some(b) => (axum::http::StatusCode::OK, b.clone()),
                    None => (axum::http::StatusCode::NOT_FOUND, Vec::new()),
                }
            }
        });
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        url
    }

    /// Waits (at most 30 s) until the index was read `n` more times than `from`.
    async fn wait_index_reads(&self, from: u32, n: u32, d: &BatonProcess) -> u32 {
        let deadline = Instant::now() + Duration::from_secs(30);
        while self.gets("/index.yaml") < from + n {
            assert!(Instant::now() < deadline, "index not polled:\n{}", d.log());
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        self.gets("/index.yaml")
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tar_bomb_chart_is_downloaded_once_not_on_every_poll() {
    let Some(rig) = testkit::rig::Rig::for_test() else {
        return;
    };
    let git = rig.new_git_repo("bomb-chart").unwrap();
    git.commit(
        "main",
        &[("mgw/values-dev.yaml", Some(b"replicas: 1\n"))],
        "v0",
    )
    .unwrap();
    let helm = HelmRepo::default();
    let base = helm.start().await;
    let bomb = chart(50 << 20);
    assert!(bomb.len() < 1 << 20, "a bomb: {} bytes", bomb.len());
    helm.publish(&base, bomb);
    let dir = tempfile::tempdir().unwrap();
    let file = write_config(dir.path());
    let text = std::fs::read_to_string(&file).unwrap().replace(
        "    images:",
        &format!(
            "    chart: {{repository: \"{base}\", name: microgateway, version: \"^3.0\"}}\n    chart_source: {{git: \"{}\", branch: main, dir: mgw, poll: 1s}}\n    images:",
            git.http_url
        ),
    );
    std::fs::write(&file, text).unwrap();

    // Refused once with the cause, then skipped: polls read the index, never the archive again.
    let d = daemon::start(&file);
    let reads = helm.wait_index_reads(0, 5, &d).await;
    assert_eq!(helm.gets("/microgateway-3.0.1.tgz"), 1, "{}", d.log());
    let log = d.log();
    let failed: Vec<&str> = log
        .lines()
        .filter(|l| l.contains("source check failed"))
        .collect();
    assert_eq!(failed.len(), 1, "one logged error:\n{log}");
    assert!(failed[0].contains("compression ratio"), "{}", failed[0]);
    // A restart remembers it (the state store keeps the refusal).
    drop(d);
    let d = daemon::start(&file);
    let reads = helm.wait_index_reads(reads, 3, &d).await;
    assert_eq!(helm.gets("/microgateway-3.0.1.tgz"), 1, "{}", d.log());
    assert!(!d.log().contains("source check failed"), "{}", d.log());
    // The repository publishes a good archive for the version: downloaded once and accepted.
    helm.publish(&base, chart(0));
    helm.wait_index_reads(reads, 3, &d).await;
    assert_eq!(helm.gets("/microgateway-3.0.1.tgz"), 2, "{}", d.log());
    assert!(!d.log().contains("source check failed"), "{}", d.log());
}
