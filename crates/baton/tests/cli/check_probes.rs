//! `baton check` network probes: one row per endpoint, against the Jenkins and Gate stand-ins
//! and the rig's registry, Helm repository and git remote; exit 1 when any probe fails.

use std::path::Path;
use std::process::Command;

use baton_harness::config::Config;
use testkit::jenkins::{FakeJenkins, UserSpec};
use testkit::spinnaker::FakeSpinnaker;
use tokio::net::TcpListener;

struct Endpoints {
    jenkins: String,
    gate: String,
    registry: String,
    helm: String,
    git: String,
}

fn write(dir: &Path, e: &Endpoints, token: &str) -> std::path::PathBuf {
    let registry = &e.registry;
    Config::new("operator-token")
        .state(&format!("sqlite://{}", dir.join("baton.db").display()))
        .jenkins(Some(&e.jenkins))
        .jenkins_token(token)
        .gate(&e.gate)
        .line(&format!("registries:\n  - {{host: \"{registry}\", insecure: true}}"))
        .products(&format!(
            r#"  - name: micro-gw
    environments: [dev]
    chart: {{repository: "{helm}", name: microgateway, version: "^3.0"}}
    chart_source: {{git: "{git}"}}
    images:
      - {{name: petstore, base: "{registry}/vendor/base:1.0", target: "{registry}/acme/petstore", jenkins_job: micro-gw/petstore}}
"#,
            helm = e.helm,
            git = e.git,
        ))
        .write(dir)
}

fn check(file: &Path) -> (Option<i32>, String) {
    let out = Command::new(env!("CARGO_BIN_EXE_baton"))
        .args(["check", "--config"])
        .arg(file)
        .env_remove("BATON_CONFIG")
        .output()
        .unwrap();
    (
        out.status.code(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

/// `baton check` of a config for `e` with Jenkins token `token`, in a directory of its own.
async fn check_config(e: &Endpoints, token: &str) -> (Option<i32>, String) {
    let dir = tempfile::tempdir().unwrap();
    let file = write(dir.path(), e, token);
    tokio::task::spawn_blocking(move || check(&file))
        .await
        .unwrap()
}

fn row<'a>(table: &'a str, check: &str, target: &str) -> &'a str {
    table
        .lines()
        .find(|l| l.starts_with(check) && l.contains(target))
        .unwrap_or_else(|| panic!("no {check} row for {target}:\n{table}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn probes_report_each_endpoint_and_fail_on_a_bad_one() {
    let Some(rig) = testkit::rig::Rig::for_test() else {
        return;
    };
    let jenkins = FakeJenkins::builder()
        .user(UserSpec::new("baton", "token-1"))
        .start(TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let gate = FakeSpinnaker::builder()
        .start(TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let e = Endpoints {
        jenkins: jenkins.url(),
        gate: gate.url().to_owned(),
        registry: rig.registry.clone(),
        helm: rig.helm_repo_url.clone(),
        git: format!("{}/{}", rig.git_daemon_base, rig.chart_source_repo),
    };
    let (code, table) = check_config(&e, "token-1").await;
    assert_eq!(code, Some(0), "{table}");
    // Each endpoint's row: what is checked, where, and what it says.
    for (what, at, says) in [
        ("jenkins", &e.jenkins, "authenticated as baton"),
        ("gate", &e.gate, "ok"),
        ("registry", &e.registry, "registry API v2 answers"),
        ("helm repo", &e.helm, "index.yaml found"),
        ("git remote", &e.git, "HEAD "),
    ] {
        assert!(row(&table, what, at).contains(says), "{table}");
    }

    // A wrong Jenkins token, a Helm repo without an index, a git remote that does not exist.
    let bad = Endpoints {
        helm: format!("{}/no-such-repo", rig.helm_repo_url),
        git: format!("{}/no-such-repo.git", rig.git_daemon_base),
        ..e
    };
    let (code, table) = check_config(&bad, "wrong-token").await;
    assert_eq!(code, Some(1), "{table}");
    let j = row(&table, "jenkins", &bad.jenkins);
    assert!(j.contains("FAIL") && j.contains("401"), "{table}");
    assert!(!table.contains("wrong-token"), "secret shown:\n{table}");
    let h = row(&table, "helm repo", &bad.helm);
    assert!(h.contains("FAIL") && h.contains("404"), "{table}");
    assert!(
        row(&table, "git remote", &bad.git).contains("FAIL"),
        "{table}"
    );
    assert!(
        row(&table, "registry", &bad.registry).contains("ok"),
        "{table}"
    );
}
