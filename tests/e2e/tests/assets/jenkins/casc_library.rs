//! The global shared library JCasC configures is this repository's `jenkins/`, every job is one
//! call of it, and the verify job is the one the rendered deploy pipelines run.

use super::casc::{dsl_children, dsl_path, jcasc, job_dsl_tree, top};
use super::stub::{fixture_json, run_job};
use super::{IMAGE_JOB, SYNC_JOB, VERIFY_JOB};

#[test]
fn jcasc_loads_the_library_from_this_repository() {
    let (_, scripts) = jcasc();
    let lib = &scripts
        .iter()
        .find(|(n, _)| n == "baton-library")
        .expect("baton-library")
        .1;
    let libs = lib["unclassified"]["globalLibraries"]["libraries"]
        .as_array()
        .expect("globalLibraries.libraries");
    let baton = libs
        .iter()
        .find(|l| l["name"] == "baton")
        .expect("a library named baton (the job scripts say @Library('baton'))");
    let retriever = &baton["retriever"]["modernSCM"];
    // vars/ and src/ live under jenkins/ of this repository.
    assert_eq!(retriever["libraryPath"], "jenkins/");
    for dir in ["vars", "src"] {
        assert!(
            crate::support::repo_root()
                .join("jenkins")
                .join(dir)
                .is_dir()
        );
    }
    assert_eq!(
        retriever["scm"]["git"]["credentialsId"],
        "baton-jenkinsfiles-git"
    );
    assert_eq!(baton["allowVersionOverride"], false);
}

#[test]
fn jobs_call_the_library_and_verify_takes_what_the_spinnaker_stage_sends() {
    let Some(tree) = job_dsl_tree() else { return };
    // The verification job is the one baton's rendered pipelines run (default <product>/verify),
    // with the parameters the Spinnaker stage sends.
    let verify = top(&tree, "pipelineJob", VERIFY_JOB);
    let verify_params: Vec<&str> = dsl_path(verify, &["parameters"])
        .map(|p| dsl_children(p, "stringParam"))
        .unwrap_or_default()
        .iter()
        .filter_map(|p| p["args"][0].as_str())
        .collect();
    assert_eq!(verify_params, ["ENVIRONMENT", "NAMESPACE", "SMOKE_TEST"]);
    let verify_run = run_job(&fixture_json("jenkins-fixture-verify.json"), VERIFY_JOB)
        .expect("groovy is present");
    let declared: Vec<&str> = verify_run["parameters"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|p| p["name"].as_str())
        .collect();
    assert_eq!(declared, verify_params);

    // Every job is one sandboxed call of the global library "baton": no Jenkinsfile per product.
    let job = top(&tree, "pipelineJob", IMAGE_JOB);
    let sync = top(&tree, "pipelineJob", SYNC_JOB);
    for (j, step) in [
        (job, "batonImageBuild("),
        (sync, "batonChartSync("),
        (verify, "batonVerify("),
    ] {
        let cps = dsl_path(j, &["definition", "cps"]).expect("definition.cps");
        let text = dsl_path(cps, &["script"]).expect("cps.script")["args"][0]
            .as_str()
            .expect("script text");
        assert!(text.starts_with("@Library('baton') _\n"), "{text}");
        assert!(text.contains(step), "{text}");
        assert_eq!(
            dsl_path(cps, &["sandbox"]).expect("sandbox")["args"][0],
            true
        );
        assert!(dsl_path(j, &["definition", "cpsScm"]).is_none());
    }
}
