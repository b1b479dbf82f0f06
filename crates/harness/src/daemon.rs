//! The real `baton serve` binary against a Gate stand-in: config writing, start (waiting for
//! its address), SIGKILL, and pushing image builds through `POST …/built`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use testkit::baton::BatonProcess;

/// The API token the configs accept.
pub const TOKEN: &str = "serve-test-token";
/// The image target the configs name.
pub const TARGET: &str = "127.0.0.1:5000/acme/petstore";

/// Writes a config for a daemon on `127.0.0.1:0` delivering to `gate_url`, with the given
/// `outbox:` block (YAML flow mapping body, e.g. `lease: 2s, initial_delay: 100ms`).
pub fn write_config(dir: &Path, gate_url: &str, outbox: &str) -> PathBuf {
    crate::config::Config::new(TOKEN)
        .gate(gate_url)
        .line(&format!("outbox: {{{outbox}}}"))
        .products(&format!(
            r#"  - name: micro-gw
    environments: [dev]
    chart: {{repository: "http://127.0.0.1:9/charts", name: microgateway, version: "^3.0"}}
    chart_source: {{git: "http://127.0.0.1:9/c.git"}}
    images:
      - {{name: petstore, base: "127.0.0.1:5000/vendor/base:1", target: "{TARGET}", jenkins_job: micro-gw/petstore}}
"#
        ))
        .write(dir)
}

/// Starts the real `baton serve --drain 1s` on `file` and waits (at most 30 s) until its
/// ready file names its address; SIGKILLed on drop.
pub fn start(file: &Path) -> BatonProcess {
    BatonProcess::serve(crate::baton_bin(), file)
        .args(["--drain", "1s"])
        .wait(Duration::from_secs(30))
        .start()
        .expect("baton serve")
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

/// `GET url` of a running daemon with `token`: its JSON answer.
pub async fn get_json(http: &reqwest::Client, url: &str, token: &str) -> serde_json::Value {
    http.get(url)
        .bearer_auth(token)
        .timeout(Duration::from_secs(5))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

/// `GET /v1/outbox` of a running daemon: the JSON list of records.
pub async fn outbox_json(http: &reqwest::Client, url: &str) -> serde_json::Value {
    let v = get_json(http, &format!("{url}/v1/outbox"), TOKEN).await;
    v.get("records").cloned().unwrap_or(v)
}

/// Waits (at most `limit`) until no record of a running daemon's outbox is pending. A record
/// leaves `pending` only after its peer answered, and only pending records are sent, so from
/// then on what a stand-in recorded is final (no sleep to wait out a send that cannot come).
pub async fn until_nothing_left_to_send(http: &reqwest::Client, url: &str, limit: Duration) {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let records = outbox_json(http, url).await;
        let pending: Vec<&serde_json::Value> = records
            .as_array()
            .expect("GET /v1/outbox lists records")
            .iter()
            .filter(|r| r["state"] == "pending")
            .collect();
        if pending.is_empty() {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "records still pending after {limit:?}: {pending:?}"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
