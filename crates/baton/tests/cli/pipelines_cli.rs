//! The `baton` binary: `pipelines render --check`, `pipelines lint` on the committed files and
//! on known-bad pipelines, and `check --offline`.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn baton(config: &Path, args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_baton"))
        .current_dir(repo())
        .env_remove("BATON_CONFIG")
        .env("RUST_LOG", "warn")
        .arg("--config")
        .arg(config)
        .args(args)
        .output()
        .expect("run baton")
}

fn text(o: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&o.stdout),
        String::from_utf8_lossy(&o.stderr)
    )
}

fn example() -> PathBuf {
    repo().join("crates/baton/examples/baton.yaml")
}

fn committed_pipelines() -> Vec<String> {
    let dir = repo().join("spinnaker/micro-gw");
    let mut files: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().path().display().to_string())
        .filter(|p| p.ends_with(".json"))
        .collect();
    files.sort();
    files
}

#[test]
fn committed_spinnaker_files_are_current_and_lint_clean() {
    let out = baton(
        &example(),
        &["pipelines", "render", "--check", "--out", "spinnaker"],
    );
    assert!(out.status.success(), "{}", text(&out));
    let files = committed_pipelines();
    assert_eq!(files.len(), 5, "{files:?}");
    let mut args = vec!["pipelines", "lint"];
    args.extend(files.iter().map(String::as_str));
    let out = baton(&example(), &args);
    assert!(out.status.success(), "{}", text(&out));
    assert!(
        text(&out).contains("4 pipeline(s): no findings"),
        "{}",
        text(&out)
    );
}

#[test]
fn lint_fails_on_the_seed_staging_bug_and_on_a_values_wildcard() {
    let fixtures = repo().join("crates/baton/tests/fixtures/pipelines");
    let seed = fixtures.join("seed-staging-trigger-omits-values.json");
    let out = baton(&example(), &["pipelines", "lint", seed.to_str().unwrap()]);
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains(
            "micro-gw/micro-gw-deploy-staging: stages[1].inputArtifacts[1].id: uses expected artifact \"micro-gw-staging-values\", but no trigger lists it in expectedArtifactIds"
        ) && t.contains("fix: add \"micro-gw-staging-values\" to triggers[0].expectedArtifactIds"),
        "{t}"
    );
    // The seed system's pipelines test nothing before promotion.
    assert!(
        t.contains("micro-gw/micro-gw-deploy-staging: stages: no verification stage"),
        "{t}"
    );
    let wildcard = fixtures.join("values-wildcard.json");
    let out = baton(
        &example(),
        &["pipelines", "lint", wildcard.to_str().unwrap()],
    );
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));
    let t = text(&out);
    assert!(
        t.contains("matches 3 artifacts of one \"chart\" event (values-dev.yaml, values-staging.yaml, values-prod.yaml)"),
        "{t}"
    );
    assert!(t.contains("1 lint finding(s) in 1 pipeline(s)"), "{t}");
}

#[test]
fn render_check_names_the_file_that_drifted() {
    let dir = tempfile::tempdir().unwrap();
    let out_dir = dir.path().to_str().unwrap();
    let out = baton(&example(), &["pipelines", "render", "--out", out_dir]);
    assert!(out.status.success(), "{}", text(&out));
    let dev = dir.path().join("micro-gw/micro-gw-deploy-dev.json");
    std::fs::write(&dev, "{}\n").unwrap();
    let out = baton(
        &example(),
        &["pipelines", "render", "--check", "--out", out_dir],
    );
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out).contains("micro-gw-deploy-dev.json differs"),
        "{}",
        text(&out)
    );
}

/// A config like the one the Helm chart renders: every secret under one folder.
fn config_with_secrets(dir: &Path, state: &str) -> PathBuf {
    let secrets = dir.join("secrets");
    std::fs::create_dir_all(&secrets).unwrap();
    let example = std::fs::read_to_string(example()).unwrap();
    let text = example
        .replace("/etc/baton/", &format!("{}/", secrets.display()))
        .replace("sqlite://baton-data/baton.db", state);
    for name in [
        "api-tokens",
        "jenkins-token",
        "wso2-password",
        "github-token",
        "git-webhook-secret",
    ] {
        assert!(text.contains(name), "{name} not in the example");
        std::fs::write(secrets.join(name), "s3cr3t-value\n").unwrap();
    }
    let file = dir.join("baton.yaml");
    std::fs::write(&file, text).unwrap();
    file
}

#[test]
fn check_offline_reads_config_and_secrets_without_touching_the_network_or_store() {
    let dir = tempfile::tempdir().unwrap();
    // Nothing listens on port 9 of 127.0.0.1; an online check fails on it, offline does not try.
    let file = config_with_secrets(dir.path(), "postgres://baton:pw@127.0.0.1:9/baton");
    let out = baton(&file, &["check", "--offline"]);
    let t = text(&out);
    assert!(out.status.success(), "{t}");
    assert!(t.contains("all readable"), "{t}");
    assert!(t.contains("not probed (--offline)"), "{t}");
    assert!(!t.contains("s3cr3t-value") && !t.contains(":pw@"), "{t}");
    let online = baton(&file, &["check"]);
    assert_eq!(online.status.code(), Some(1), "{}", text(&online));

    std::fs::remove_file(dir.path().join("secrets/jenkins-token")).unwrap();
    let out = baton(&file, &["check", "--offline"]);
    let t = text(&out);
    assert_eq!(out.status.code(), Some(1), "{t}");
    assert!(
        t.contains("jenkins.token_file") && t.contains("FAIL"),
        "{t}"
    );
}
