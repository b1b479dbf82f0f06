//! `baton serve` wired to Gate: status lists what waits, `baton promote` continues it; Gate
//! failures answer 503 and status still answers.

use std::io::{BufRead, BufReader};
use std::process::Stdio;
use std::time::Duration;

use reqwest::StatusCode;
use spinnaker_client::model::execution::ExecutionStatus;
use testkit::spinnaker::{Fault, FaultKind};

use baton_harness::daemon::get_json;

use super::harness::{APP, Stand, TOKEN};

/// Starts the binary on `config`; returns the child and its address.
async fn serve(config: &std::path::Path) -> (tokio::process::Child, String) {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["--log-format", "json", "serve", "--config"])
        .arg(config)
        .env_remove("BATON_CONFIG")
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let stderr = child.stderr.take().unwrap().into_owned_fd().unwrap();
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(std::fs::File::from(stderr))
            .lines()
            .map_while(Result::ok)
        {
            let v: serde_json::Value = serde_json::from_str(&line).unwrap_or_default();
            if let Some(a) = v["fields"]["addr"].as_str() {
                let _ = tx.send(a.to_owned());
            }
        }
    });
    let addr = tokio::task::spawn_blocking(move || rx.recv_timeout(Duration::from_secs(20)))
        .await
        .unwrap()
        .expect("serve did not log its address");
    (child, format!("http://{addr}"))
}

/// A config for `baton serve` against the stand-in (tokens file next to it), with
/// `product_extra` (YAML, indented four spaces) added to the product.
fn config(dir: &std::path::Path, s: &Stand, product_extra: &str) -> std::path::PathBuf {
    std::fs::write(dir.join("tokens"), format!("alice:{TOKEN}\n")).unwrap();
    let config = dir.join("baton.yaml");
    let yaml = format!(
        "state: sqlite://{}\nlisten: 127.0.0.1:0\napi_tokens_file: tokens\n\
         spinnaker: {{gate_url: \"{}\"}}\n\
         products:\n  - name: micro-gw\n    environments: [dev, staging]\n{product_extra}",
        dir.join("data/baton.db").display(),
        s.fake.url()
    );
    std::fs::write(&config, yaml).unwrap();
    config
}

#[tokio::test]
async fn serve_lists_pending_judgments_and_promotes_through_gate() {
    let s = Stand::start(true).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(dir.path(), &s, "");
    let (_child, url) = serve(&config).await;
    s.dev_ran_the_chart().await;
    // a chart event this daemon did not record: found by the RUNNING fallback
    let (_, echo) = s.deliver(&["staging"], "cmVwbGljYXM6IDEK").await;
    let staging = s.waiting_in(&echo, "staging").await;

    let cli = |args: &[&str]| {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"));
        c.args(args)
            .env("BATON_SERVER", &url)
            .env("BATON_TOKEN", TOKEN)
            .env_remove("BATON_CONFIG")
            .kill_on_drop(true);
        c
    };
    let out = cli(&["status"]).output().await.unwrap();
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(out.status.success(), "{text}");
    let row = text
        .lines()
        .find(|l| l.contains(&staging.id))
        .unwrap_or_else(|| panic!("no pending row in\n{text}"));
    assert!(
        row.starts_with("micro-gw")
            && row.contains("staging")
            && row.contains("Promote to staging?"),
        "{row}"
    );

    // Gate failing: promote answers 503 naming Gate; status still answers and says why
    s.fake.set_fault(Fault::on("/", FaultKind::Status(500)));
    let out = cli(&["promote", APP, "staging"]).output().await.unwrap();
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        !out.status.success() && err.contains("Spinnaker Gate") && err.contains("503"),
        "{err}"
    );
    let out = cli(&["status", "--json"]).output().await.unwrap();
    let v: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    assert!(
        v["pending_judgments_error"]
            .as_str()
            .unwrap()
            .contains("Spinnaker Gate"),
        "{v}"
    );
    s.fake.clear_faults();

    let out = cli(&["promote", APP, "staging", "--input", "via serve"])
        .output()
        .await
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "{stdout}{}",
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(stdout.contains("as alice"), "{stdout}");
    assert_eq!(
        s.finished(&staging.id).await.status,
        ExecutionStatus::Succeeded
    );

    let metrics = reqwest::get(format!("{url}/metrics")).await.unwrap();
    assert_eq!(metrics.status(), StatusCode::OK);
    let metrics = metrics.text().await.unwrap();
    assert!(
        metrics.contains("# TYPE baton_pending_judgments gauge"),
        "{metrics}"
    );
}

#[tokio::test]
async fn serve_stops_a_judgment_past_its_configured_deadline() {
    let s = Stand::start(true).await;
    let dir = tempfile::tempdir().unwrap();
    let config = config(
        dir.path(),
        &s,
        "    judgments: {staging: {judgment_deadline: 1s}}\n",
    );
    let (_child, url) = serve(&config).await;
    let (_, echo) = s.deliver(&["staging"], "cmVwbGljYXM6IDEK").await;
    let staging = s.waiting_in(&echo, "staging").await;
    // the daemon's scheduled check stops it and records why
    assert_eq!(
        s.finished(&staging.id).await.status,
        ExecutionStatus::Terminal
    );
    let http = reqwest::Client::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let v = get_json(&http, &format!("{url}/v1/events?product={APP}"), TOKEN).await;
        let found =
            v["events"].as_array().unwrap().iter().any(|e| {
                e["kind"] == "judgment_deadline" && e["execution_id"] == staging.id.as_str()
            });
        if found {
            break;
        }
        assert!(tokio::time::Instant::now() < deadline, "{v}");
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}
