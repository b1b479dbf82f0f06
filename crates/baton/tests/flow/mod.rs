//! Harness of the end-to-end flow tests: the `baton` binary as a daemon on a config the test
//! writes, its HTTP API, and bounded waits (poll with a deadline, never a bare sleep).

#![allow(dead_code)]

use std::future::Future;
use std::io::{BufRead, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;

/// The API token the configs accept.
pub const TOKEN: &str = "flow-test-token";

/// A running `baton serve`; killed on drop.
pub struct Daemon {
    child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}

impl Daemon {
    /// Starts `baton serve --config file` (caches in `cache/` next to the file) and waits (at
    /// most 60 s) for its listen address.
    pub fn start(file: &Path) -> Self {
        let cache = file.parent().expect("config folder").join("cache");
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .env_remove("BATON_CONFIG")
            .env("BATON_CACHE_DIR", cache)
            .env("RUST_LOG", "info")
            .args(["serve", "--drain", "2s", "--config"])
            .arg(file)
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .expect("starting baton serve");
        let stderr = child.stderr.take().expect("stderr");
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let lines = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("baton listening on ").nth(1) {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
                lines.lock().unwrap().push(line);
            }
        });
        let addr = match rx.recv_timeout(Duration::from_secs(60)) {
            Ok(addr) => addr,
            Err(_) => panic!(
                "baton serve did not start within 60s:\n{}",
                log.lock().unwrap().join("\n")
            ),
        };
        Self {
            child,
            url: format!("http://{addr}"),
            log,
        }
    }

    /// What the daemon logged so far.
    pub fn log(&self) -> String {
        self.log.lock().unwrap().join("\n")
    }

    /// An API client.
    pub fn api(&self) -> Api {
        Api {
            http: reqwest_client(),
            url: self.url.clone(),
        }
    }
}

fn reqwest_client() -> reqwest::Client {
    baton::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()
        .unwrap()
}

/// The daemon's HTTP API with the test token.
pub struct Api {
    http: reqwest::Client,
    url: String,
}

impl Api {
    /// `GET path` -> JSON.
    pub async fn get(&self, path: &str) -> Value {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert!(r.status().is_success(), "GET {path}: {}", r.status());
        r.json().await.unwrap()
    }

    /// `POST path` with a JSON body -> (status, JSON).
    pub async fn post(&self, path: &str, body: Value) -> (u16, Value) {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .json(&body)
            .send()
            .await
            .unwrap();
        let status = r.status().as_u16();
        (status, r.json().await.unwrap_or(Value::Null))
    }

    /// Outbox records (newest first as the API lists them).
    pub async fn outbox(&self) -> Vec<Value> {
        self.get("/v1/outbox?limit=500").await["records"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// Events of `product`, newest first.
    pub async fn events(&self, product: &str) -> Vec<Value> {
        self.get(&format!("/v1/events?product={product}&limit=500"))
            .await["events"]
            .as_array()
            .cloned()
            .unwrap_or_default()
    }

    /// The value of one Prometheus sample (`name{labels}` exactly as exposed), 0 if absent.
    pub async fn metric(&self, sample: &str) -> f64 {
        let text = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        text.lines()
            .find_map(|l| l.strip_prefix(sample)?.strip_prefix(' '))
            .map_or(0.0, |v| v.trim().parse().unwrap_or(0.0))
    }

    /// Waits until `source` finished `n` more checks with `outcome` than now: proof that at
    /// least one whole check started after whatever the test just did.
    pub async fn wait_checks(&self, source: &str, outcome: &str, n: f64) {
        let sample =
            format!("baton_source_checks_total{{source=\"{source}\",outcome=\"{outcome}\"}}");
        let start = self.metric(&sample).await;
        wait_for(
            &format!("{n} more {outcome} checks of {source}"),
            60,
            || async { (self.metric(&sample).await >= start + n).then_some(()) },
        )
        .await;
    }
}

/// Polls `f` every 100 ms until it returns `Some`, for at most `secs` seconds.
pub async fn wait_for<T, F, Fut>(what: &str, secs: u64, mut f: F) -> T
where
    F: FnMut() -> Fut,
    Fut: Future<Output = Option<T>>,
{
    let deadline = Instant::now() + Duration::from_secs(secs);
    loop {
        if let Some(v) = f().await {
            return v;
        }
        assert!(
            Instant::now() < deadline,
            "timed out after {secs}s waiting for {what}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

/// Decodes an `embedded/base64` artifact's bytes.
pub fn artifact_bytes(a: &Value) -> Vec<u8> {
    use base64::Engine as _;
    base64::engine::general_purpose::STANDARD
        .decode(a["reference"].as_str().expect("reference"))
        .expect("base64")
}

/// Writes `text` to `dir/name`, returns the file name.
pub fn write(dir: &Path, name: &str, text: &str) -> String {
    std::fs::write(dir.join(name), text).unwrap();
    name.to_owned()
}

/// The webhooks of Echo source `source` the Spinnaker stand-in received, as JSON, oldest first.
pub fn webhooks(spinnaker: &testkit::spinnaker::FakeSpinnaker, source: &str) -> Vec<Value> {
    let path = format!("/webhooks/webhook/{source}");
    spinnaker
        .requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == path)
        .map(|r| serde_json::from_slice(&r.body).expect("a JSON webhook body"))
        .collect()
}

/// The chart webhooks the Spinnaker stand-in received.
pub fn chart_webhooks(spinnaker: &testkit::spinnaker::FakeSpinnaker) -> Vec<Value> {
    webhooks(spinnaker, "chart")
}

/// The Jenkins stand-in with user `baton` (token `jenkins-api-token`) and one image job `job`
/// taking DESIGN.md's rebuild parameters, whose builds take `build` and succeed.
pub async fn fake_jenkins(job: &str, build: Duration) -> testkit::jenkins::FakeJenkins {
    use testkit::jenkins::{BuildScript, FakeJenkins, JobSpec, ParamSpec, UserSpec};
    let mut spec = JobSpec::new(job).script(BuildScript::new(build, "SUCCESS"));
    for p in [
        "BASE_IMAGE",
        "BASE_DIGEST",
        "BASE_REF",
        "TARGET_IMAGE",
        "GIT_COMMIT",
        "CAUSE",
        "BATON_EVENT",
    ] {
        spec = spec.param(ParamSpec::string(p, ""));
    }
    FakeJenkins::builder()
        .user(UserSpec::new("baton", "jenkins-api-token"))
        .job(spec)
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap()
}
