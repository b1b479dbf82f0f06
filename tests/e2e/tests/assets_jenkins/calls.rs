//! The Jenkinsfiles' baton calls run for real: `sh -c` with curl against a local listener.

use serde_json::Value;

use crate::assets::http::{Recorded, serve_once};
use crate::assets::{repo_root, run, tool};
use crate::stub::{find, fixture, steps, stub_run};

const TEST_TOKEN: &str = "test-token-5f0e";

/// Runs a recorded `sh` step for real with `sh -c`, in the environment the stub saw, with baton's
/// URL pointed at a local listener answering `status`, and the bound secrets set to TEST_TOKEN.
/// Variables named in `unset` are left out. Returns whether the script succeeded, its stderr,
/// and the request the listener got.
fn run_baton_call(
    step: &Value,
    status: u16,
    unset: &[&str],
) -> Option<(bool, String, Option<Recorded>)> {
    let curl = tool("ASSETS_CURL", "curl", "scripts/asset-tools")?;
    let (base, served) = serve_once(status, r#"{"event_id":"ev-8"}"#);
    let mut cmd = std::process::Command::new("sh");
    cmd.arg("-c")
        .arg(step["script"].as_str().expect("sh step has a script"))
        .env_clear();
    let path = format!(
        "{}:/usr/local/bin:/usr/bin:/bin",
        curl.parent().expect("curl has a folder").display()
    );
    cmd.env("PATH", path);
    for (k, v) in step["env"].as_object().expect("sh step has env") {
        let v = v.as_str().expect("env values are strings");
        let v = if v.starts_with("<secret:") {
            TEST_TOKEN
        } else {
            v
        };
        if !unset.contains(&k.as_str()) {
            cmd.env(k, v);
        }
    }
    cmd.env("BATON_URL", &base);
    let dir = tempfile::tempdir().expect("tempdir");
    cmd.current_dir(dir.path());
    let out = run(&mut cmd);
    let recorded = served.join().expect("listener thread");
    Some((
        out.status.success(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
        recorded,
    ))
}

fn baton_step(report: &Value, path_part: &str) -> Value {
    steps(report)[find(report, "sh", path_part)].clone()
}

#[test]
fn image_build_report_reaches_baton_as_the_api_expects() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-image.json"),
        &repo_root().join("jenkins/image-build.Jenkinsfile"),
    ) else {
        return;
    };
    let step = baton_step(&report, "/built");
    let Some((ok, stderr, req)) = run_baton_call(&step, 202, &[]) else {
        return;
    };
    assert!(ok, "the report step failed against a 202: {stderr}");
    let req = req.expect("the report step sent a request");
    assert_eq!(
        req.request_line,
        "POST /v1/products/micro-gw/images/petstore/built HTTP/1.1"
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    let body: Value = serde_json::from_str(&req.body)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", req.body));
    assert_eq!(
        body,
        serde_json::json!({
            "reference": "registry.internal:5000/acme/petstore@sha256:2222222222222222222222222222222222222222222222222222222222222222",
            "tag": "3.0.1-abcdef0-42",
            "build_url": "https://jenkins.example.com/job/micro-gw/job/petstore-image/42/",
            "event_id": "ev-7"
        })
    );
}

#[test]
fn image_build_fails_when_baton_refuses_the_report() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-image.json"),
        &repo_root().join("jenkins/image-build.Jenkinsfile"),
    ) else {
        return;
    };
    let step = baton_step(&report, "/built");
    let Some((ok, stderr, req)) = run_baton_call(&step, 422, &[]) else {
        return;
    };
    assert!(!ok, "a 422 from baton must fail the build");
    assert!(req.is_some());
    assert!(stderr.contains("422"), "curl does not say why: {stderr}");
    assert!(
        !stderr.contains(TEST_TOKEN),
        "the token reached the log: {stderr}"
    );
}

#[test]
fn chart_sync_request_reaches_baton_as_the_api_expects() {
    let Some(report) = stub_run(
        &fixture("jenkins-fixture-chart-sync.json"),
        &repo_root().join("jenkins/chart-sync.Jenkinsfile"),
    ) else {
        return;
    };
    let step = baton_step(&report, "/sync");
    let Some((ok, stderr, req)) = run_baton_call(&step, 202, &[]) else {
        return;
    };
    assert!(ok, "{stderr}");
    let req = req.expect("the sync step sent a request");
    assert_eq!(req.request_line, "POST /v1/products/micro-gw/sync HTTP/1.1");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );
    let body: Value = serde_json::from_str(&req.body).expect("JSON body");
    assert_eq!(
        body,
        serde_json::json!({"commit": "0123456789abcdef0123456789abcdef01234567"})
    );
}

#[test]
fn manual_image_build_report_leaves_out_empty_fields() {
    let Some(mut report) = stub_run(
        &fixture("jenkins-fixture-image.json"),
        &repo_root().join("jenkins/image-build.Jenkinsfile"),
    ) else {
        return;
    };
    // A build started by hand: no baton event, and a Jenkins without a root URL has no BUILD_URL.
    let i = find(&report, "sh", "/built");
    report["steps"][i]["env"]["BATON_EVENT"] = Value::from("");
    let step = report["steps"][i].clone();
    let Some((ok, stderr, req)) = run_baton_call(&step, 202, &["BUILD_URL"]) else {
        return;
    };
    assert!(ok, "{stderr}");
    let body: Value = serde_json::from_str(&req.expect("a request").body).expect("JSON body");
    assert_eq!(
        body,
        serde_json::json!({
            "reference": "registry.internal:5000/acme/petstore@sha256:2222222222222222222222222222222222222222222222222222222222222222",
            "tag": "3.0.1-abcdef0-42"
        })
    );
}
