//! Running the stub runner and reading its JSON report.

use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::assets::{groovy, repo_root, run_ok};

pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

pub fn script(name: &str) -> PathBuf {
    repo_root().join("jenkins/tests").join(name)
}

/// Runs the stub runner; returns its JSON report.
pub fn stub_run(fixture_json: &Path, jenkinsfile: &Path) -> Option<Value> {
    let mut cmd = groovy()?;
    cmd.arg(script("stub-runner.groovy"))
        .arg(fixture_json)
        .arg(jenkinsfile);
    let out = run_ok(&mut cmd);
    let report: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("stub runner printed no JSON ({e}):\n{out}"));
    Some(report)
}

pub fn steps(report: &Value) -> &[Value] {
    report["steps"].as_array().expect("report has steps")
}

/// Index of the first step of `kind` whose script/message contains `needle`.
pub fn find(report: &Value, kind: &str, needle: &str) -> usize {
    steps(report)
        .iter()
        .position(|s| {
            s["step"] == kind
                && ["script", "message", "file", "scm"]
                    .iter()
                    .any(|k| s[k].as_str().is_some_and(|t| t.contains(needle)))
        })
        .unwrap_or_else(|| {
            panic!(
                "no {kind} step containing {needle:?} in:\n{:#}",
                report["steps"]
            )
        })
}

pub fn str_list(v: &Value) -> Vec<&str> {
    v.as_array()
        .map(|a| a.iter().filter_map(Value::as_str).collect())
        .unwrap_or_default()
}

/// A secret variable may appear in a script only as `printf '...' "$VAR" |`: the value goes to
/// the next tool on stdin, never on a command line (visible in `ps`) or in an argument list.
pub fn secrets_on_command_lines(report: &Value) -> Vec<String> {
    let mut found = Vec::new();
    for step in steps(report).iter().filter(|s| s["step"] == "sh") {
        let script = step["script"].as_str().unwrap_or_default();
        for var in str_list(&step["secrets"]) {
            let uses = [format!("${var}"), format!("${{{var}}}")];
            for line in script
                .lines()
                .filter(|l| uses.iter().any(|u| l.contains(u)))
            {
                let piped = line.trim_start().starts_with("printf '")
                    && line.contains(&format!("\"${var}\" |"));
                if !piped {
                    found.push(format!("{var} in: {}", line.trim()));
                }
            }
        }
    }
    found
}
