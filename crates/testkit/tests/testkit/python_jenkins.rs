//! External check: python-jenkins (PyPI; a real Jenkins client written by others) drives the
//! Jenkins stand-in. Its calls (crumb fetch, `X-Jenkins`, `Location` parsing, queue/build JSON,
//! console text, 401 and 404 handling) only work if the stand-in answers as Jenkins does.
//!
//! The venv lives under Cargo's target tmp dir and is created on first use
//! (`python3 -m venv`, `pip install python-jenkins==1.8.3`). Without Python or PyPI the test is
//! skipped with a message, unless `CI` or `BATON_REQUIRE_RIG` is set (`testkit::skip_or_fail`):
//! then it fails.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use testkit::jenkins::{BuildScript, FakeJenkins, JobSpec, ParamSpec, UserSpec};
use tokio::process::Command;

const PYTHON_JENKINS: &str = "python-jenkins==1.8.3";
const JOB: &str = "micro-gw/petstore-image";
const VERSION: &str = "2.479.3";

/// Runs a setup command with a deadline; `Err` describes what failed.
async fn run(cmd: &mut Command, what: &str, limit: Duration) -> Result<(), String> {
    let child = cmd
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn();
    let child = child.map_err(|e| format!("{what}: cannot start: {e}"))?;
    let out = tokio::time::timeout(limit, child.wait_with_output())
        .await
        .map_err(|_| format!("{what}: no answer within {limit:?}"))?
        .map_err(|e| format!("{what}: {e}"))?;
    if out.status.success() {
        Ok(())
    } else {
        Err(format!(
            "{what}: {}\n{}{}",
            out.status,
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        ))
    }
}

/// The venv's python, creating the venv if needed.
async fn venv_python() -> Result<PathBuf, String> {
    let venv = Path::new(env!("CARGO_TARGET_TMPDIR")).join("python-jenkins-1.8.3-venv");
    let python = venv.join("bin").join("python");
    let marker = venv.join("installed-ok");
    if marker.exists() {
        return Ok(python);
    }
    run(
        Command::new("python3")
            .arg("-m")
            .arg("venv")
            .arg("--clear")
            .arg(&venv),
        "python3 -m venv (install python3 and python3-venv)",
        Duration::from_secs(120),
    )
    .await?;
    run(
        Command::new(&python)
            .args([
                "-m",
                "pip",
                "install",
                "--quiet",
                "--disable-pip-version-check",
            ])
            .arg(PYTHON_JENKINS),
        &format!("pip install {PYTHON_JENKINS}"),
        Duration::from_secs(300),
    )
    .await?;
    std::fs::write(&marker, PYTHON_JENKINS).map_err(|e| format!("{}: {e}", marker.display()))?;
    Ok(python)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn python_jenkins_drives_the_stand_in() {
    let python = match venv_python().await {
        Ok(p) => p,
        Err(e) => return testkit::skip_or_fail("python-jenkins", &e.to_string()),
    };
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let jenkins = FakeJenkins::builder()
        .version(VERSION)
        .user(UserSpec::new("baton", "py-token-0123"))
        .job(
            JobSpec::new(JOB)
                .param(ParamSpec::string("BASE_DIGEST", ""))
                .param(ParamSpec::choice("CAUSE", &["manual", "base-image"]))
                .quiet_period(Duration::from_millis(300))
                .script(
                    BuildScript::new(Duration::from_millis(700), "SUCCESS").console(&["Building"]),
                ),
        )
        .start(listener)
        .await
        .unwrap();
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/python/check_fake_jenkins.py");
    let child = Command::new(&python)
        .arg(&script)
        .args([
            jenkins.url().as_str(),
            "baton",
            "py-token-0123",
            VERSION,
            JOB,
        ])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("start the python check");
    let out = tokio::time::timeout(Duration::from_secs(60), child.wait_with_output())
        .await
        .expect("python check finishes within 60 s")
        .expect("python check ran");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    println!("{stdout}");
    assert!(
        out.status.success(),
        "python-jenkins check failed:\n{stdout}\n{stderr}"
    );
    assert!(stdout.contains("agrees with fake-jenkins"), "{stdout}");

    // What python-jenkins really did, as the stand-in saw it.
    let reqs = jenkins.requests();
    assert!(
        reqs.iter()
            .any(|r| r.path == "/crumbIssuer/api/json" && r.status == 200)
    );
    assert!(
        reqs.iter()
            .any(|r| r.path == "/me/api/json" && r.status == 200)
    );
    let triggers: Vec<_> = reqs
        .iter()
        .filter(|r| r.path.ends_with("/buildWithParameters"))
        .collect();
    assert_eq!(triggers[0].status, 201);
    assert!(
        triggers[0].sent_crumb,
        "python-jenkins sends the crumb it fetched"
    );
    assert_eq!(triggers[1].status, 404, "missing job");
    assert!(
        reqs.iter()
            .any(|r| r.status == 401 && r.user.as_deref() == Some("baton"))
    );
    let builds = jenkins.builds_of(JOB);
    assert_eq!(builds.len(), 1, "{builds:?}");
    assert_eq!(builds[0].params["BASE_DIGEST"], "sha256:py");
    assert_eq!(builds[0].started_by, [Some("baton".to_owned())]);
    let unmodelled = jenkins.unmodelled_requests();
    assert!(
        unmodelled.is_empty(),
        "python-jenkins called endpoints the stand-in lacks: {unmodelled:?}"
    );
    jenkins.shutdown().await;
}
