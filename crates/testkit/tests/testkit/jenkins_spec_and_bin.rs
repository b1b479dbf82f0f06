//! The shipped stand-in spec parses, bad specs name the key to fix, and the `fake-jenkins`
//! binary serves the shipped spec.

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use testkit::jenkins::{ParamKind, ServerSpec};
use tokio::io::{AsyncBufReadExt, BufReader};

fn example() -> std::path::PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("examples/fake-jenkins.yaml")
}

#[test]
fn shipped_spec_parses() {
    let spec = ServerSpec::from_file(&example()).unwrap();
    assert_eq!(spec.users.len(), 2);
    let job = &spec.jobs[0];
    assert_eq!(job.path, "micro-gw/petstore-image");
    assert_eq!(job.quiet_period, Some(Duration::from_secs(2)));
    let cause = job.parameters.iter().find(|p| p.name == "CAUSE").unwrap();
    assert_eq!(cause.kind, ParamKind::Choice);
    let stages: Vec<_> = job
        .script
        .stages
        .iter()
        .map(|s| (s.name.as_str(), s.duration.as_secs()))
        .collect();
    assert_eq!(stages, [("Build", 5), ("Push", 2), ("Notify baton", 1)]);
    assert!(spec.jobs[2].disabled);
    assert!(
        !format!("{spec:?}").contains("baton-token"),
        "tokens are redacted in Debug"
    );
}

fn write(dir: &tempfile::TempDir, name: &str, text: &str) -> std::path::PathBuf {
    let p = dir.path().join(name);
    std::fs::write(&p, text).unwrap();
    p
}

/// The error reading `p`, as a user sees it: with its causes, each once.
fn load_err(p: &Path) -> String {
    testkit::shown_once(&ServerSpec::from_file(p).unwrap_err())
}

#[test]
fn bad_specs_name_the_place_and_the_fix() {
    let dir = tempfile::tempdir().unwrap();
    // (file, spec, what its error names)
    let cases: &[(&str, &str, &[&str])] = &[
        (
            "a.yaml",
            "jobs:\n  - path: a//b\n",
            &["jobs[0].path", "a.yaml"],
        ),
        (
            "b.yaml",
            "jobs:\n  - path: x\n    script: { result: GREEN }\n",
            &["jobs[0].script.result", "GREEN"],
        ),
        (
            "c.json",
            r#"{"jobs":[{"path":"x","parameters":[{"name":"C","kind":"choice"}]}]}"#,
            &["jobs[0].parameters[0].choices"],
        ),
        // Unknown keys are rejected.
        ("d.yaml", "jobz: []\n", &["jobz"]),
        (
            "f.yaml",
            "jobs:\n  - path: x\n    script: { duration: 3s, stages: [{ name: A, duration: 4s }] }\n",
            &["jobs[0].script.stages", "4s", "script.duration"],
        ),
        ("e.yaml", "context_path: jenkins/\n", &["context_path"]),
    ];
    for (name, spec, names) in cases {
        let e = load_err(&write(&dir, name, spec));
        for needle in *names {
            assert!(e.contains(needle), "{name}: {needle:?} missing from {e}");
        }
    }
}

#[tokio::test]
async fn the_binary_serves_the_shipped_spec() {
    let mut child = tokio::process::Command::new(env!("CARGO_BIN_EXE_fake-jenkins"))
        .args(["--listen", "127.0.0.1:0", "--spec"])
        .arg(example())
        .stdout(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let line = tokio::time::timeout(Duration::from_secs(30), lines.next_line())
        .await
        .expect("fake-jenkins prints its URL")
        .unwrap()
        .unwrap();
    let url = line
        .strip_prefix("fake-jenkins listening on ")
        .expect(&line)
        .to_owned();
    let _ = rustls::crypto::ring::default_provider().install_default();
    let http = reqwest::Client::new();
    let rsp = http
        .get(format!("{url}job/micro-gw/job/petstore-image/api/json"))
        .basic_auth("baton", Some("baton-token"))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 200);
    assert_eq!(rsp.headers()["x-jenkins"], "2.479.3");
    let job: serde_json::Value = rsp.json().await.unwrap();
    assert_eq!(job["fullName"], "micro-gw/petstore-image");
    assert_eq!(
        job["property"][0]["parameterDefinitions"][5]["choices"][1],
        "base-image"
    );
    child.kill().await.unwrap();
}
