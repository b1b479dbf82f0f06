//! Checks of `jenkins/` with real tools: every Jenkinsfile and Job DSL script parses with Groovy
//! 2.4.21 (Jenkins core's Groovy) to the CONVERSION phase; the declarative Jenkinsfiles run under a
//! stub runner (`jenkins/tests/stub-runner.groovy`) whose recorded step sequence is asserted; the
//! JCasC values agree with baton's example config. Tools: `scripts/asset-tools`.
//!
//! Modules: `stub` runs the stub runner, `pipeline` asserts the step sequences and secret rules,
//! `calls` runs the baton calls for real with curl, `casc` checks the JCasC values.

mod assets;
#[path = "assets_jenkins/calls.rs"]
mod calls;
#[path = "assets_jenkins/casc.rs"]
mod casc;
#[path = "assets_jenkins/casc_secrets.rs"]
mod casc_secrets;
#[path = "assets_jenkins/pipeline.rs"]
mod pipeline;
#[path = "assets_jenkins/stub.rs"]
mod stub;

use assets::{groovy, read, repo_root, run, run_ok};
use stub::script;

const JENKINSFILES: [&str; 2] = [
    "jenkins/image-build.Jenkinsfile",
    "jenkins/chart-sync.Jenkinsfile",
];

/// The build parameters baton sends (DESIGN.md, "Jenkins rebuild"), in order.
const BUILD_PARAMETERS: [&str; 7] = [
    "BASE_IMAGE",
    "BASE_DIGEST",
    "BASE_REF",
    "TARGET_IMAGE",
    "GIT_COMMIT",
    "CAUSE",
    "BATON_EVENT",
];

#[test]
fn jenkinsfiles_parse_with_jenkins_groovy() {
    let Some(mut cmd) = groovy() else { return };
    let root = repo_root();
    cmd.arg(script("parse.groovy"));
    for f in JENKINSFILES {
        cmd.arg(root.join(f));
    }
    let out = run_ok(&mut cmd);
    assert!(
        out.starts_with("groovy 2.4.21\n"),
        "not Jenkins' Groovy: {out}"
    );
    for f in JENKINSFILES {
        assert!(
            out.contains(&format!("ok {}", root.join(f).display())),
            "{out}"
        );
    }
}

#[test]
fn groovy_parse_check_rejects_a_broken_jenkinsfile() {
    let Some(mut cmd) = groovy() else { return };
    let text = read("jenkins/image-build.Jenkinsfile");
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
