//! Running the stub runner and reading its JSON report. The jobs' pipelines are the scripts JCasC
//! gives them (`@Library('baton') _` + one library step call), run with `jenkins/` as the library.

use std::collections::HashMap;
use std::path::{Path, PathBuf};
use std::sync::{Mutex, OnceLock};

use serde_json::Value;

use super::casc::{dsl_path, job_dsl_tree, top};
use crate::support::{groovy, repo_root, run_ok};

/// A file under `tests/fixtures/`.
pub fn fixture(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("tests/fixtures")
        .join(name)
}

/// A script under `jenkins/tests/`.
pub fn script(name: &str) -> PathBuf {
    repo_root().join("jenkins/tests").join(name)
}

/// Runs the stub runner; returns its JSON report. Reports are kept per (fixture content,
/// Jenkinsfile) for the life of the test process: each run is a JVM start.
pub fn stub_run(fixture_json: &Path, jenkinsfile: &Path) -> Option<Value> {
    static REPORTS: OnceLock<Mutex<HashMap<(String, PathBuf), Value>>> = OnceLock::new();
    let mut cmd = groovy()?;
    let fixture_text = std::fs::read_to_string(fixture_json)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", fixture_json.display()));
    let key = (fixture_text, jenkinsfile.to_path_buf());
    let reports = REPORTS.get_or_init(Mutex::default);
    if let Some(report) = reports.lock().expect("report cache").get(&key) {
        return Some(report.clone());
    }
    cmd.arg(script("stub-runner.groovy"))
        .arg(fixture_json)
        .arg(jenkinsfile)
        .arg(repo_root().join("jenkins"));
    let out = run_ok(&mut cmd);
    let report: Value = serde_json::from_str(out.trim())
        .unwrap_or_else(|e| panic!("stub runner printed no JSON ({e}):\n{out}"));
    reports
        .lock()
        .expect("report cache")
        .insert(key, report.clone());
    Some(report)
}

/// The pipeline script JCasC defines for `job` (e.g. `micro-gw/petstore-image`), in a file that
/// lives as long as the test process; `None` (skip) without groovy.
pub fn job_script(job: &str) -> Option<PathBuf> {
    static DIR: OnceLock<tempfile::TempDir> = OnceLock::new();
    let tree = job_dsl_tree()?;
    let node = top(&tree, "pipelineJob", job);
    let text = dsl_path(node, &["definition", "cps", "script"])
        .and_then(|s| s["args"][0].as_str())
        .unwrap_or_else(|| panic!("{job} has no definition.cps.script in the Job DSL: {node:#}"));
    let dir = DIR.get_or_init(|| tempfile::tempdir().expect("tempdir"));
    let path = dir
        .path()
        .join(format!("{}.Jenkinsfile", job.replace('/', "_")));
    std::fs::write(&path, text).expect("write job script");
    Some(path)
}

/// Runs the pipeline of `job` under the stub with the fixture `fx`.
pub fn run_job(fx: &Value, job: &str) -> Option<Value> {
    let jenkinsfile = job_script(job)?;
    let dir = tempfile::tempdir().expect("tempdir");
    let path = dir.path().join("fixture.json");
    std::fs::write(&path, fx.to_string()).expect("write fixture");
    stub_run(&path, &jenkinsfile)
}

/// A fixture under `tests/fixtures/` as JSON.
pub fn fixture_json(name: &str) -> Value {
    let path = fixture(name);
    let text = std::fs::read_to_string(&path)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", path.display()));
    serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// The recorded steps, in execution order.
pub fn steps(report: &Value) -> &[Value] {
    report["steps"].as_array().expect("report has steps")
}

/// Index of the first step of `kind` whose script/message contains `needle`.
pub fn find(report: &Value, kind: &str, needle: &str) -> usize {
    steps(report)
        .iter()
        .position(|s| {
            s["step"] == kind
                && ["script", "message", "file", "scm", "text"]
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

/// Index of the `sh` step of `batonPost` that sends to baton's API `path`.
pub fn baton_post(report: &Value, path: &str) -> usize {
    steps(report)
        .iter()
        .position(|s| s["step"] == "sh" && s["env"]["BATON_PATH"] == path)
        .unwrap_or_else(|| panic!("no call of {path} in:\n{:#}", report["steps"]))
}

/// The strings of a JSON array (empty for anything else).
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

#[test]
fn stub_write_json_refuses_what_json_lib_would_convert() {
    let dir = tempfile::tempdir().expect("tempdir");
    let cases = [
        (
            "[body: '{\"a\":1}']",
            "writeJSON: json.body = '{\"a\":1}' would be parsed as JSON by json-lib",
        ),
        (
            "[n: 'null']",
            "writeJSON: json.n = 'null' would be parsed as JSON by json-lib",
        ),
        (
            "[g: \"${env.BUILD_NUMBER}\"]",
            "writeJSON: json.g is a GString",
        ),
        ("[ok: 'plain', n: 1, list: ['a', true]]", ""),
    ];
    for (i, (json, error)) in cases.into_iter().enumerate() {
        let path = dir.path().join(format!("json{i}.Jenkinsfile"));
        let text = format!(
            "pipeline {{\n  agent any\n  stages {{\n    stage('j') {{\n      steps {{\n        script {{\n          writeJSON file: 'out.json', json: {json}\n        }}\n      }}\n    }}\n  }}\n}}\n"
        );
        std::fs::write(&path, text).expect("write");
        let Some(report) = stub_run(&fixture("jenkins-fixture-chart-sync.json"), &path) else {
            return;
        };
        if error.is_empty() {
            assert_eq!(report["result"], "SUCCESS", "{json}: {report:#}");
            let written = &steps(&report)[find(&report, "writeJSON", "plain")];
            assert_eq!(written["text"], r#"{"ok":"plain","n":1,"list":["a",true]}"#);
        } else {
            assert_eq!(report["result"], "FAILURE", "{json} was accepted");
            let got = report["error"].as_str().unwrap_or_default();
            assert!(got.starts_with(error), "{json}: {got}");
        }
    }
}
