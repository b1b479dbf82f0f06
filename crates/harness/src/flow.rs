//! Harness of the end-to-end flow tests: the daemon (library entry point) on a config the test
//! writes, its HTTP API, and bounded waits (poll with a deadline, never a bare sleep).

use std::future::Future;
use std::path::Path;
use std::time::{Duration, Instant};

use serde_json::Value;

/// The API token the configs accept.
pub const TOKEN: &str = "flow-test-token";

/// The daemon, in this test's process, through its library entry point; stopped on drop.
pub struct Daemon {
    _handle: baton_daemon::daemon::DaemonHandle,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
}

impl Daemon {
    /// Builds the daemon for `file` (caches in `cache/` next to it) on `127.0.0.1:0` and waits
    /// (at most 60 s) until it is ready. Its log goes to the test's captured output.
    pub async fn start(file: &Path) -> Self {
        let _ = tracing_subscriber::fmt()
            .with_env_filter("info")
            .with_test_writer()
            .try_init();
        let config = baton_core::config::load(file).expect("the test's config loads");
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut handle = baton_daemon::daemon::Daemon::builder(config)
            .listener(listener)
            .cache_dir(file.parent().expect("config folder").join("cache"))
            .drain(Duration::from_secs(2))
            .build()
            .await
            .expect("the daemon builds")
            .spawn();
        tokio::time::timeout(Duration::from_secs(60), handle.ready())
            .await
            .expect("ready within 60s")
            .expect("the daemon starts");
        Self {
            url: handle.url(),
            _handle: handle,
        }
    }

    /// Stops the daemon and waits for its drain.
    pub async fn stop(self) -> anyhow::Result<()> {
        self._handle.stop().await
    }

    /// Where the daemon's log is: the test's captured output (shown when the test fails).
    pub fn log(&self) -> &'static str {
        "(the daemon's log is in the test's captured output)"
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
    baton_daemon::install_crypto_provider();
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
/// taking the rebuild parameters of docs/wire.md, whose builds take `build` and succeed.
pub async fn fake_jenkins(job: &str, build: Duration) -> testkit::jenkins::FakeJenkins {
    use testkit::jenkins::{BuildScript, FakeJenkins, JobSpec, REBUILD_PARAMETERS, UserSpec};
    let spec = JobSpec::new(job)
        .script(BuildScript::new(build, "SUCCESS"))
        .string_params(&REBUILD_PARAMETERS);
    FakeJenkins::builder()
        .user(UserSpec::new("baton", crate::config::JENKINS_TOKEN))
        .job(spec)
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap()
}
