//! The JCasC values for the official Jenkins chart: YAML and Groovy parse, the global library is
//! this repository's `jenkins/`, and the jobs agree with baton's example config and with the
//! library steps they call.

use std::path::{Path, PathBuf};

use serde_json::Value;

use super::stub::{fixture_json, run_job, script, steps, str_list};
use super::{BUILD_PARAMETERS, IMAGE_JOB, SYNC_JOB};
use crate::support::{groovy, read, run_ok, yaml};

/// The JCasC values: (values, configScripts parsed as YAML by name).
pub fn jcasc() -> (Value, Vec<(String, Value)>) {
    let values = yaml(
        &read("jenkins/casc/values.yaml"),
        "jenkins/casc/values.yaml",
    );
    let scripts = values["controller"]["JCasC"]["configScripts"]
        .as_object()
        .expect("controller.JCasC.configScripts is a map")
        .iter()
        .map(|(name, text)| {
            let text = text
                .as_str()
                .unwrap_or_else(|| panic!("configScripts.{name} is not a string"));
            (name.clone(), yaml(text, &format!("configScripts.{name}")))
        })
        .collect();
    (values, scripts)
}

/// Job DSL scripts of the JCasC `jobs:` entries, written to files in `dir`.
pub fn job_dsl_files(dir: &Path) -> Vec<PathBuf> {
    let (_, scripts) = jcasc();
    let mut files = Vec::new();
    for (name, doc) in scripts {
        for (i, job) in doc["jobs"].as_array().into_iter().flatten().enumerate() {
            let text = job["script"]
                .as_str()
                .unwrap_or_else(|| panic!("{name}.jobs[{i}] has no script"));
            let path = dir.join(format!("{}_{i}.groovy", name.replace('-', "_")));
            std::fs::write(&path, text).expect("write job dsl");
            files.push(path);
        }
    }
    files
}

pub fn dsl_children<'a>(node: &'a Value, call: &str) -> Vec<&'a Value> {
    node["body"]
        .as_array()
        .into_iter()
        .flatten()
        .filter(|n| n["call"] == call)
        .collect()
}

pub fn dsl_path<'a>(node: &'a Value, calls: &[&str]) -> Option<&'a Value> {
    calls
        .iter()
        .try_fold(node, |n, c| dsl_children(n, c).into_iter().next())
}

#[test]
fn jcasc_and_its_groovy_parse_with_jenkins_groovy() {
    let Some(mut cmd) = groovy() else { return };
    let (values, scripts) = jcasc();
    let names: Vec<&str> = scripts.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["baton-credentials", "baton-jobs", "baton-library"]);
    for key in ["securityRealm", "authorizationStrategy"] {
        let text = values["controller"]["JCasC"][key].as_str().expect(key);
        yaml(text, &format!("controller.JCasC.{key}"));
    }
    let dir = tempfile::tempdir().expect("tempdir");
    let mut files = job_dsl_files(dir.path());
    assert_eq!(files.len(), 1, "one Job DSL script expected");
    for (name, text) in values["controller"]["initScripts"]
        .as_object()
        .expect("initScripts")
    {
        let path = dir
            .path()
            .join(format!("init_{}.groovy", name.replace('-', "_")));
        std::fs::write(&path, text.as_str().expect("init script text")).unwrap();
        files.push(path);
    }
    let out = run_ok(cmd.arg(script("parse.groovy")).args(&files));
    assert_eq!(
        out.lines().filter(|l| l.starts_with("ok ")).count(),
        files.len(),
        "{out}"
    );
}

/// baton's shipped example config's first product and its first image.
fn example() -> (Value, Value) {
    let file = "crates/baton/examples/baton.yaml";
    let example = yaml(&read(file), file);
    let product = example["products"][0].clone();
    let image = product["images"][0].clone();
    (product, image)
}

/// The Job DSL call tree (from `jobdsl-stub.groovy`), or `None` (skip) without groovy. Kept for
/// the test process: each run is a JVM start.
pub fn job_dsl_tree() -> Option<Value> {
    static TREE: std::sync::OnceLock<Value> = std::sync::OnceLock::new();
    if let Some(t) = TREE.get() {
        return Some(t.clone());
    }
    let mut cmd = groovy()?;
    let dir = tempfile::tempdir().expect("tempdir");
    let files = job_dsl_files(dir.path());
    let out = run_ok(cmd.arg(script("jobdsl-stub.groovy")).arg(&files[0]));
    let tree: Value = serde_json::from_str(out.trim()).unwrap_or_else(|e| panic!("{e}: {out}"));
    Some(TREE.get_or_init(|| tree).clone())
}

pub fn top<'a>(tree: &'a Value, call: &str, name: &str) -> &'a Value {
    tree.as_array()
        .expect("top-level calls")
        .iter()
        .find(|n| n["call"] == call && n["args"][0] == name)
        .unwrap_or_else(|| panic!("no {call}('{name}') in the Job DSL: {tree:#}"))
}

fn image_report() -> Option<Value> {
    run_job(&fixture_json("jenkins-fixture-image.json"), IMAGE_JOB)
}

fn sync_report() -> Option<Value> {
    run_job(&fixture_json("jenkins-fixture-chart-sync.json"), SYNC_JOB)
}

#[test]
fn jcasc_jobs_agree_with_the_example_config_and_the_jenkinsfiles() {
    let Some(tree) = job_dsl_tree() else { return };
    let (product, image) = example();
    let product_name = product["name"].as_str().unwrap();
    top(&tree, "folder", product_name);

    // The image job: parameters exactly as baton sends them, defaults from the config.
    let job = top(&tree, "pipelineJob", image["jenkins_job"].as_str().unwrap());
    let params: Vec<&Value> = dsl_path(job, &["parameters"])
        .map(|p| dsl_children(p, "stringParam"))
        .unwrap_or_default();
    let names: Vec<&str> = params
        .iter()
        .filter_map(|p| p["args"][0].as_str())
        .collect();
    assert_eq!(names[..BUILD_PARAMETERS.len()], BUILD_PARAMETERS);
    assert_eq!(names[BUILD_PARAMETERS.len()..], ["SMOKE_TEST"]);
    let default =
        |name: &str| params.iter().find(|p| p["args"][0] == name).unwrap()["args"][1].clone();
    assert_eq!(default("BASE_IMAGE"), image["base"]);
    assert_eq!(default("TARGET_IMAGE"), image["target"]);

    // Same parameters and defaults in the library step (declarative parameters overwrite the
    // job's on every run).
    let run_report = image_report().expect("groovy is present");
    for p in run_report["parameters"].as_array().unwrap() {
        let name = p["name"].as_str().unwrap();
        assert_eq!(
            p["defaultValue"],
            default(name),
            "default of {name} differs between the Job DSL and batonImageBuild"
        );
    }
    let env = &run_report["environment"];
    assert_eq!(env["BATON_PRODUCT"], product["name"]);
    assert_eq!(env["BATON_IMAGE"], image["name"]);
    assert_eq!(env["ARTIFACT_SOURCE"], image["artifact_source"]["git"]);
    assert_eq!(env["ARTIFACT_BRANCH"], image["artifact_source"]["branch"]);
    let sync_env = &sync_report().expect("groovy is present")["environment"];
    assert_eq!(sync_env["BATON_PRODUCT"], product["name"]);
    assert_eq!(sync_env["CHART_SOURCE"], product["chart_source"]["git"]);
    assert_eq!(sync_env["CHART_BRANCH"], product["chart_source"]["branch"]);
}

#[test]
fn chart_sync_polls_through_pipeline_triggers() {
    let Some(tree) = job_dsl_tree() else { return };
    let sync = top(&tree, "pipelineJob", "micro-gw/chart-sync");
    let poll = dsl_path(
        sync,
        &[
            "properties",
            "pipelineTriggers",
            "triggers",
            "pollSCM",
            "scmpoll_spec",
        ],
    )
    .expect("chart-sync polls via properties.pipelineTriggers.triggers.pollSCM");
    assert!(
        poll["args"][0]
            .as_str()
            .is_some_and(|s| s.split_whitespace().count() == 5),
        "{poll}"
    );
    // Never the deprecated job-level triggers { scm() }, nor triggers in the library steps.
    for j in tree
        .as_array()
        .unwrap()
        .iter()
        .filter(|n| n["call"] == "pipelineJob")
    {
        assert!(
            dsl_children(j, "triggers").is_empty(),
            "job-level triggers {{ }} in {}",
            j["args"][0]
        );
    }
    for report in [image_report().unwrap(), sync_report().unwrap()] {
        assert_eq!(
            report["triggers"],
            serde_json::json!({}),
            "a library step declares triggers"
        );
    }
}

#[test]
fn jcasc_defines_every_credential_the_jenkinsfiles_use_from_secrets() {
    let (Some(run_report), Some(sync_report)) = (image_report(), sync_report()) else {
        return;
    };
    let (_, scripts) = jcasc();
    let creds = &scripts
        .iter()
        .find(|(n, _)| n == "baton-credentials")
        .expect("baton-credentials")
        .1;
    let defined: Vec<(String, String)> =
        creds["credentials"]["system"]["domainCredentials"][0]["credentials"]
            .as_array()
            .expect("a list of credentials")
            .iter()
            .flat_map(|c| c.as_object().unwrap().values())
            .map(|c| (c["id"].as_str().unwrap().to_owned(), c.to_string()))
            .collect();
    for (id, body) in &defined {
        assert!(
            body.contains("${baton-jenkins-"),
            "credential {id} does not come from the baton-jenkins secret: {body}"
        );
    }
    let mut used = vec!["baton-jenkinsfiles-git".to_owned()];
    for report in [&run_report, &sync_report] {
        for s in steps(report) {
            for b in s["bindings"].as_array().into_iter().flatten() {
                used.push(b["credentialsId"].as_str().unwrap().to_owned());
            }
            if let Some(scm) = s["scm"].as_str() {
                let scm: Value = serde_json::from_str(scm).unwrap();
                used.push(
                    scm["userRemoteConfigs"][0]["credentialsId"]
                        .as_str()
                        .unwrap()
                        .to_owned(),
                );
            }
        }
    }
    for id in &used {
        assert!(
            defined.iter().any(|(d, _)| d == id),
            "credential {id} is used but not defined by JCasC"
        );
    }
}

#[test]
fn baton_service_user_may_build_and_plugins_are_listed() {
    let (values, _) = jcasc();
    let casc = &values["controller"]["JCasC"];
    let realm = yaml(casc["securityRealm"].as_str().unwrap(), "securityRealm");
    assert!(
        realm["local"]["users"]
            .as_array()
            .unwrap()
            .iter()
            .any(|u| u["id"] == "baton")
    );
    let authz = yaml(
        casc["authorizationStrategy"].as_str().unwrap(),
        "authorizationStrategy",
    );
    let baton = authz["globalMatrix"]["entries"]
        .as_array()
        .unwrap()
        .iter()
        .find(|e| e["user"]["name"] == "baton")
        .expect("baton has a globalMatrix entry");
    let perms = str_list(&baton["user"]["permissions"]);
    assert!(
        perms.contains(&"Job/Build") && perms.contains(&"Job/Read"),
        "{perms:?}"
    );
    assert!(!perms.contains(&"Overall/Administer"));
    let init = values["controller"]["initScripts"]["baton-api-token"]
        .as_str()
        .expect("init script");
    assert!(init.contains("addFixedNewToken('baton', token)"));
    let plugins = str_list(&values["controller"]["additionalPlugins"]);
    for p in [
        "job-dsl",
        "matrix-auth",
        "credentials-binding",
        "kubernetes",
        "git",
        "pipeline-model-definition",
        "pipeline-groovy-lib",
        "pipeline-utility-steps",
    ] {
        assert!(
            plugins.iter().any(|x| x.split(':').next() == Some(p)),
            "plugin {p} missing"
        );
    }
}
