//! The real `baton serve` binary against a Gate stand-in: config writing, start (waiting for
//! its address), SIGKILL, and pushing image builds through `POST …/built`.
#![allow(dead_code)]

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex, mpsc};
use std::time::Duration;

pub const TOKEN: &str = "serve-test-token";
pub const TARGET: &str = "127.0.0.1:5000/acme/petstore";

/// Writes a config for a daemon on `127.0.0.1:0` delivering to `gate_url`, with the given
/// `outbox:` block (YAML flow mapping body, e.g. `lease: 2s, initial_delay: 100ms`).
pub fn write_config(dir: &Path, gate_url: &str, outbox: &str) -> PathBuf {
    std::fs::write(dir.join("api-tokens"), format!("{TOKEN}\n")).unwrap();
    std::fs::write(dir.join("jenkins-token"), "jenkins-secret\n").unwrap();
    let file = dir.join("baton.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
state: sqlite://{db}
listen: 127.0.0.1:0
api_tokens_file: api-tokens
jenkins: {{url: "http://127.0.0.1:9", user: baton, token_file: jenkins-token}}
spinnaker: {{gate_url: "{gate_url}"}}
outbox: {{{outbox}}}
products:
  - name: micro-gw
    environments: [dev]
    chart: {{repository: "http://127.0.0.1:9/charts", name: microgateway, version: "^3.0"}}
    chart_source: {{git: "http://127.0.0.1:9/c.git"}}
    images:
      - {{name: petstore, base: "127.0.0.1:5000/vendor/base:1", target: "{TARGET}", jenkins_job: micro-gw/petstore}}
"#,
            db = dir.join("data/baton.db").display()
        ),
    )
    .unwrap();
    file
}

/// A running `baton serve`; killed (SIGKILL) on drop.
pub struct Daemon {
    child: Child,
    /// `http://ADDR`.
    pub url: String,
    /// Everything it wrote to stderr so far.
    pub log: Arc<Mutex<String>>,
}

impl Drop for Daemon {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Daemon {
    /// Starts `baton serve --config file` and waits (bounded) for its address.
    pub fn start(file: &Path) -> Self {
        let mut child = Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(["serve", "--drain", "1s", "--config"])
            .arg(file)
            .env_remove("BATON_CONFIG")
            .env("RUST_LOG", "info")
            .stderr(Stdio::piped())
            .stdout(Stdio::null())
            .spawn()
            .unwrap();
        let stderr = child.stderr.take().unwrap();
        let log = Arc::new(Mutex::new(String::new()));
        let (tx, rx) = mpsc::channel();
        let sink = log.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.split("baton listening on ").nth(1) {
                    let addr = rest.split_whitespace().next().unwrap_or_default();
                    let _ = tx.send(addr.to_owned());
                }
                let mut l = sink.lock().unwrap();
                l.push_str(&line);
                l.push('\n');
            }
        });
        let Ok(addr) = rx.recv_timeout(Duration::from_secs(30)) else {
            let _ = child.kill();
            panic!(
                "baton serve did not report its address within 30s:\n{}",
                log.lock().unwrap()
            );
        };
        Self {
            child,
            url: format!("http://{addr}"),
            log,
        }
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no drain, no cleanup, leases stay in the store.
    pub fn kill9(mut self) {
        self.child.kill().unwrap();
        self.child.wait().unwrap();
    }
}

/// The digest of change `n`.
pub fn digest(n: u32) -> String {
    format!("sha256:{n:064x}")
}

/// Reports image `n` as built; `Err` when the daemon did not answer 202.
pub async fn post_built(http: &reqwest::Client, url: &str, n: u32) -> Result<(), String> {
    let body =
        serde_json::json!({"reference": format!("{TARGET}@{}", digest(n)), "tag": format!("b{n}")});
    let r = http
        .post(format!("{url}/v1/products/micro-gw/images/petstore/built"))
        .bearer_auth(TOKEN)
        .json(&body)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .map_err(|e| e.to_string())?;
    if r.status() == reqwest::StatusCode::ACCEPTED {
        Ok(())
    } else {
        Err(format!(
            "{}: {}",
            r.status(),
            r.text().await.unwrap_or_default()
        ))
    }
}

/// The digest in an image event body the stand-in received.
pub fn digest_of(body: &[u8]) -> String {
    let v: serde_json::Value = serde_json::from_slice(body).expect("JSON body");
    v["parameters"]["digest"]
        .as_str()
        .expect("parameters.digest")
        .to_owned()
}

/// `GET /v1/outbox` of a running daemon: the JSON list of records.
pub async fn outbox_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    let v: serde_json::Value = http
        .get(format!("{url}/v1/outbox"))
        .bearer_auth(TOKEN)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    v.get("records").cloned().unwrap_or(v)
}
