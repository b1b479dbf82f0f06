//! The jobs' shell steps run for real inside the stub runner (its fixture `exec`): `sh -c` with
//! curl against a local listener standing in for baton, and `fixtures/fake-buildah` standing in
//! for buildah (it runs the smoke test command here and writes the pushed digest file).

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::stub::{fixture, fixture_json, run_job, steps};
use super::{IMAGE_JOB, SYNC_JOB, VERIFY_JOB};
use crate::support::http::{Recorded, serve_once};
use crate::support::tool;

const TEST_TOKEN: &str = "test-token-5f0e";
const DIGEST: &str = "sha256:2222222222222222222222222222222222222222222222222222222222222222";

/// A job run whose shell steps all execute, in a fresh workspace.
struct Real {
    fx: Value,
    workspace: tempfile::TempDir,
    _bin: tempfile::TempDir,
}

impl Real {
    /// `fixture_name` with every `sh` step executed, the secrets set to TEST_TOKEN, and `PATH`
    /// holding curl and the fake buildah; `None` (skip) without curl.
    fn new(fixture_name: &str) -> Option<Self> {
        let curl = tool("ASSETS_CURL", "curl", "scripts/asset-tools")?;
        let bin = tempfile::tempdir().expect("tempdir");
        std::fs::copy(fixture("fake-buildah"), bin.path().join("buildah")).expect("copy buildah");
        let workspace = tempfile::tempdir().expect("tempdir");
        let path = format!(
            "{}:{}:/usr/local/bin:/usr/bin:/bin",
            bin.path().display(),
            curl.parent().expect("curl has a folder").display()
        );
        let mut fx = fixture_json(fixture_name);
        // The digest comes from the (fake) push, not from the fixture.
        fx["files"] = serde_json::json!({});
        fx["workspace"] = Value::from(workspace.path().display().to_string());
        fx["exec"] = serde_json::json!({
            "match": ["."],
            "env": {
                "PATH": path,
                "FAKE_BUILDAH_LOG": buildah_log(workspace.path()),
                "FAKE_BUILDAH_DIGEST": DIGEST,
            },
            "secrets": {
                "baton-api-token": TEST_TOKEN,
                "base-registry-pull": {"username": "puller", "password": "pull-password"},
                "registry-push": {"username": "pusher", "password": "push-password"},
            },
        });
        Some(Self {
            fx,
            workspace,
            _bin: bin,
        })
    }

    /// Runs `job` with baton at `baton_url`.
    fn run(mut self, job: &str, baton_url: &str) -> (Value, String) {
        self.fx["exec"]["env"]["BATON_URL"] = Value::from(baton_url);
        let report = run_job(&self.fx, job).expect("groovy is present");
        let log = std::fs::read_to_string(buildah_log(self.workspace.path())).unwrap_or_default();
        (report, log)
    }
}

fn buildah_log(workspace: &Path) -> String {
    let log: PathBuf = workspace.join("buildah.log");
    log.display().to_string()
}

/// The baton call's recorded step (`batonPost` to a path ending in `path_end`).
fn baton_call<'a>(report: &'a Value, path_end: &str) -> Option<&'a Value> {
    steps(report).iter().find(|s| {
        s["step"] == "sh"
            && s["env"]["BATON_PATH"]
                .as_str()
                .is_some_and(|p| p.ends_with(path_end))
    })
}

fn json_body(req: &Recorded) -> Value {
    serde_json::from_str(&req.body)
        .unwrap_or_else(|e| panic!("body is not JSON ({e}): {}", req.body))
}

#[test]
fn image_build_tests_pushes_and_reports_to_baton_as_the_api_expects() {
    let Some(mut real) = Real::new("jenkins-fixture-image.json") else {
        return;
    };
    real.fx["params"]["SMOKE_TEST"] = Value::from("echo smoke-ok");
    let (base, served) = serve_once(202, r#"{"event_id":"ev-8"}"#);
    let (report, buildah) = real.run(IMAGE_JOB, &base);
    assert_eq!(report["result"], "SUCCESS", "{report:#}");
    let req = served.join().expect("listener").expect("a request");
    assert_eq!(
        req.request_line,
        "POST /v1/products/micro-gw/images/petstore/built HTTP/1.1"
    );
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );
    assert_eq!(req.header("content-type"), Some("application/json"));
    assert_eq!(
        json_body(&req),
        serde_json::json!({
            "reference": format!("registry.internal:5000/acme/petstore@{DIGEST}"),
            "tag": "3.0.1-abcdef0-42",
            "build_url": "https://jenkins.example.com/job/micro-gw/job/petstore-image/42/",
            "event_id": "ev-7"
        })
    );
    // The smoke test ran in the built image, before the push.
    let test = steps(&report)
        .iter()
        .find(|s| s["stage"] == "Test image" && s["step"] == "sh")
        .expect("a Test image step");
    assert_eq!(test["exit"], 0);
    assert!(test["stdout"].as_str().unwrap().contains("smoke-ok"));
    let calls: Vec<&str> = buildah
        .lines()
        .map(|l| l.split(' ').next().unwrap())
        .collect();
    assert_eq!(
        calls,
        [
            "login", "bud", "logout", "from", "run", "rm", "login", "push", "logout"
        ]
    );
    assert!(buildah.contains("login --username puller --password-stdin docker.wso2.com"));
    // Passwords went to buildah on stdin, never as arguments.
    assert!(
        !buildah.contains("pull-password") && !buildah.contains("push-password"),
        "{buildah}"
    );
}

#[test]
fn failing_smoke_test_fails_the_build_before_push_and_baton_hears_nothing() {
    let Some(mut real) = Real::new("jenkins-fixture-image.json") else {
        return;
    };
    real.fx["params"]["SMOKE_TEST"] = Value::from("echo 'petstore.balx missing' >&2; exit 3");
    // Nothing listens here: a report would fail differently (curl exit 7), after a push.
    let (report, buildah) = real.run(IMAGE_JOB, "http://127.0.0.1:9");
    assert_eq!(report["result"], "FAILURE", "{report:#}");
    assert_eq!(report["error"], "script returned exit code 3");
    let test = steps(&report)
        .iter()
        .find(|s| s["stage"] == "Test image" && s["step"] == "sh")
        .expect("a Test image step");
    assert!(
        test["stderr"]
            .as_str()
            .unwrap()
            .contains("petstore.balx missing")
    );
    assert!(baton_call(&report, "/built").is_none(), "baton was called");
    assert!(steps(&report).iter().all(|s| s["step"] != "writeJSON"));
    assert!(
        !buildah.contains("push"),
        "pushed after a failed test: {buildah}"
    );
    assert!(
        buildah.lines().any(|l| l.starts_with("rm ")),
        "container left behind"
    );
}

#[test]
fn image_build_fails_when_baton_refuses_the_report() {
    let Some(mut real) = Real::new("jenkins-fixture-image.json") else {
        return;
    };
    real.fx["params"]["SMOKE_TEST"] = Value::from("true");
    let (base, served) = serve_once(422, r#"{"detail":"unknown image"}"#);
    let (report, _) = real.run(IMAGE_JOB, &base);
    assert!(served.join().expect("listener").is_some());
    assert_eq!(
        report["result"], "FAILURE",
        "a 422 from baton must fail the build"
    );
    let call = baton_call(&report, "/built")
        .unwrap_or_else(|| panic!("the report step did not run: {report:#}"));
    let stderr = call["stderr"].as_str().unwrap();
    assert!(stderr.contains("422"), "curl does not say why: {stderr}");
    assert!(
        !stderr.contains(TEST_TOKEN),
        "the token reached the log: {stderr}"
    );
}

#[test]
fn manual_image_build_report_leaves_out_empty_fields() {
    let Some(mut real) = Real::new("jenkins-fixture-image.json") else {
        return;
    };
    // A build started by hand: no baton event, and a Jenkins without a root URL has no BUILD_URL.
    real.fx["params"]["SMOKE_TEST"] = Value::from("true");
    real.fx["params"]["BATON_EVENT"] = Value::from("");
    real.fx["env"]
        .as_object_mut()
        .expect("env")
        .remove("BUILD_URL");
    let (base, served) = serve_once(202, r#"{"event_id":"ev-8"}"#);
    let (report, _) = real.run(IMAGE_JOB, &base);
    assert_eq!(report["result"], "SUCCESS", "{report:#}");
    let req = served.join().expect("listener").expect("a request");
    assert_eq!(
        json_body(&req),
        serde_json::json!({
            "reference": format!("registry.internal:5000/acme/petstore@{DIGEST}"),
            "tag": "3.0.1-abcdef0-42"
        })
    );
}

#[test]
fn chart_sync_request_reaches_baton_as_the_api_expects() {
    let Some(real) = Real::new("jenkins-fixture-chart-sync.json") else {
        return;
    };
    let (base, served) = serve_once(202, r#"{"event_id":"ev-8"}"#);
    let (report, _) = real.run(SYNC_JOB, &base);
    assert_eq!(report["result"], "SUCCESS", "{report:#}");
    let req = served.join().expect("listener").expect("a request");
    assert_eq!(req.request_line, "POST /v1/products/micro-gw/sync HTTP/1.1");
    assert_eq!(
        req.header("authorization"),
        Some(format!("Bearer {TEST_TOKEN}").as_str())
    );
    assert_eq!(
        json_body(&req),
        serde_json::json!({"commit": "0123456789abcdef0123456789abcdef01234567"})
    );
}

#[test]
fn verify_job_passes_or_fails_with_its_smoke_test() {
    for (command, result) in [
        ("test \"$NAMESPACE\" = micro-gw-dev", "SUCCESS"),
        ("exit 4", "FAILURE"),
    ] {
        let Some(mut real) = Real::new("jenkins-fixture-verify.json") else {
            return;
        };
        real.fx["params"]["SMOKE_TEST"] = Value::from(command);
        let (report, _) = real.run(VERIFY_JOB, "http://127.0.0.1:9");
        assert_eq!(report["result"], result, "{command}: {report:#}");
        let step = steps(&report)
            .iter()
            .find(|s| s["stage"] == "Smoke test" && s["step"] == "sh")
            .expect("a Smoke test step");
        assert!(
            step["stdout"]
                .as_str()
                .unwrap()
                .contains("verifying micro-gw in dev (namespace micro-gw-dev)"),
            "{step:#}"
        );
    }
}
