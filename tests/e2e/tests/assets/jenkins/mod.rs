//! Checks of `jenkins/` with real tools: the shared library (`jenkins/vars`, `jenkins/src`) and
//! the Job DSL parse with Groovy 2.4.21 (Jenkins core's Groovy) to the CONVERSION phase; each job's
//! pipeline (the library call JCasC gives it) runs under a stub runner
//! (`jenkins/tests/stub-runner.groovy`) whose recorded step sequence is asserted and whose shell
//! steps run for real where a test says so; the JCasC values agree with baton's example config.
//! Tools: `scripts/asset-tools`.
//!
//! Modules: `stub` runs the stub runner, `pipeline` asserts the step sequences and secret rules,
//! `calls` runs the shell steps for real (curl to a local listener, a recording buildah),
//! `casc` checks the JCasC values.

mod calls;
mod casc;
mod casc_library;
mod casc_secrets;
mod pipeline;
mod stub;

use crate::support::{groovy, read, repo_root, run, run_ok};
use stub::script;
/// The build parameters baton sends (docs/wire.md, "Image rebuild"), in order.
use testkit::jenkins::REBUILD_PARAMETERS as BUILD_PARAMETERS;

/// The shared library's Groovy files.
const LIBRARY: [&str; 7] = [
    "jenkins/vars/batonImageBuild.groovy",
    "jenkins/vars/batonChartSync.groovy",
    "jenkins/vars/batonVerify.groovy",
    "jenkins/vars/batonPost.groovy",
    "jenkins/vars/batonCheckout.groovy",
    "jenkins/src/io/baton/Settings.groovy",
    "jenkins/src/io/baton/Pods.groovy",
];

/// The jobs JCasC defines for the example product.
const IMAGE_JOB: &str = "micro-gw/petstore-image";
const SYNC_JOB: &str = "micro-gw/chart-sync";
const VERIFY_JOB: &str = "micro-gw/verify";

#[test]
fn library_and_job_scripts_parse_with_jenkins_groovy() {
    let Some(mut cmd) = groovy() else { return };
    let root = repo_root();
    let mut files: Vec<_> = LIBRARY.iter().map(|f| root.join(f)).collect();
    for job in [IMAGE_JOB, SYNC_JOB, VERIFY_JOB] {
        files.push(stub::job_script(job).expect("groovy is present"));
    }
    let out = run_ok(cmd.arg(script("parse.groovy")).args(&files));
    assert!(
        out.starts_with("groovy 2.4.21\n"),
        "not Jenkins' Groovy: {out}"
    );
    for f in &files {
        assert!(out.contains(&format!("ok {}", f.display())), "{out}");
    }
}

#[test]
fn groovy_parse_check_rejects_a_broken_jenkinsfile() {
    let Some(mut cmd) = groovy() else { return };
    let text = read("jenkins/vars/batonImageBuild.groovy");
    // Drop the closing brace of `pipeline {`.
    let broken = &text[..text.rfind('}').expect("has a brace")];
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("broken.Jenkinsfile");
    std::fs::write(&path, broken).expect("write");
    let out = run(cmd.arg(script("parse.groovy")).arg(&path));
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "a truncated Jenkinsfile parsed");
    assert!(
        stderr.contains("broken.Jenkinsfile"),
        "error names no file: {stderr}"
    );
}
