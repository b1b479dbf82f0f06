//! The verification stage that ends each rendered deploy pipeline gates promotion: a failing
//! verification in dev ends dev's execution TERMINAL and `baton promote micro-gw staging` is
//! refused; a passing one lets it through. The environment matrix (API JSON and `baton status`
//! table) shows each environment's verification result. Pipelines are the ones `baton
//! pipelines render` writes; the stand-in runs their Jenkins stage with a scripted build result.

use reqwest::StatusCode;
use serde_json::Value;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use testkit::spinnaker::JenkinsRule;

use super::harness::{APP, Stand};

const VALUES: &str = "cmVwbGljYXM6IDMK";

fn stage_status(x: &Execution, ref_id: &str) -> ExecutionStatus {
    x.stages
        .iter()
        .find(|s| s.ref_id.as_deref() == Some(ref_id))
        .unwrap_or_else(|| panic!("no stage {ref_id} in {}", x.id))
        .status
        .clone()
}

/// The matrix rows (API JSON) and the `baton status` table, after the matrix cache ran out.
async fn matrix(s: &Stand) -> (Vec<Value>, String) {
    let m: Value = serde_json::from_str(&s.get("/v1/products/micro-gw/environments").await)
        .expect("the matrix is JSON");
    let table = s.cli_ok(&["status", APP]).await;
    let rows = m["environments"].as_array().cloned().unwrap_or_default();
    (rows, table)
}

#[tokio::test]
async fn failing_verification_in_dev_blocks_promoting_staging() {
    let s = Stand::start_rendered().await;
    s.fake
        .jenkins_result(JenkinsRule::new("micro-gw/verify", "FAILURE").when("ENVIRONMENT", "dev"));
    let (_, echo) = s.deliver(&["dev", "staging"], VALUES).await;
    let dev = s.execution_of(&echo, "dev").await;
    let dev = s.finished(&dev.id).await;
    assert_eq!(dev.status, ExecutionStatus::Terminal);
    assert_eq!(stage_status(&dev, "deploy"), ExecutionStatus::Succeeded);
    assert_eq!(stage_status(&dev, "verify"), ExecutionStatus::Terminal);
    let builds = s.fake.jenkins_builds();
    assert_eq!(builds.len(), 1, "{builds:?}");
    assert_eq!(builds[0].job, "micro-gw/verify");
    assert_eq!(builds[0].master, "jenkins");
    assert_eq!(builds[0].parameters["ENVIRONMENT"], "dev");
    assert_eq!(builds[0].parameters["NAMESPACE"], "micro-gw-dev");
    assert_eq!(builds[0].execution_id, dev.id);

    let staging = s.waiting_in(&echo, "staging").await;
    // The rule is by artifact: the refusal names the chart and the execution that ran it.
    let want = format!(
        "execution {} of {APP}-deploy-dev ran it and is TERMINAL",
        dev.id
    );
    let (code, body) = s.promote("staging", "{}").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    assert!(body["detail"].as_str().unwrap().contains(&want), "{body}");
    let err = s.cli_err(&["promote", APP, "staging"]).await;
    assert!(err.contains(&want), "{err}");
    // Nothing moved: staging still waits for its judgment.
    s.waiting(&staging.id).await;

    // The matrix says why: dev's verification failed, staging's has not run.
    let (rows, table) = matrix(&s).await;
    assert_eq!(rows[0]["state"], "failed", "{rows:?}");
    assert_eq!(rows[0]["newest"]["id"], dev.id.as_str());
    assert_eq!(rows[0]["newest"]["verification"], "TERMINAL");
    assert!(rows[0]["last_success"].is_null(), "{rows:?}");
    assert_eq!(rows[1]["newest"]["id"], staging.id.as_str());
    assert_eq!(rows[1]["newest"]["verification"], "NOT_RUN");
    assert!(rows[2]["newest"].is_null(), "{rows:?}");
    for line in [
        format!("dev        newest {}: TERMINAL; last success -\n", dev.id),
        format!(
            "staging    newest {}: not run; last success -\n",
            staging.id
        ),
        "prod       newest -; last success -\n".to_owned(),
    ] {
        assert!(table.contains(&line), "{line:?} missing in\n{table}");
    }
}

#[tokio::test]
async fn passing_verification_lets_staging_be_promoted_and_verifies_it_too() {
    let s = Stand::start_rendered().await;
    let (_, echo) = s.deliver(&["dev", "staging"], VALUES).await;
    let dev = s.execution_of(&echo, "dev").await;
    let dev = s.finished(&dev.id).await;
    assert_eq!(dev.status, ExecutionStatus::Succeeded);
    assert_eq!(stage_status(&dev, "verify"), ExecutionStatus::Succeeded);

    let staging = s.waiting_in(&echo, "staging").await;
    let (code, body) = s.promote("staging", "{}").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    let staging = s.finished(&staging.id).await;
    assert_eq!(staging.status, ExecutionStatus::Succeeded);
    let envs: Vec<String> = s
        .fake
        .jenkins_builds()
        .iter()
        .map(|b| b.parameters["ENVIRONMENT"].clone())
        .collect();
    assert_eq!(envs, ["dev", "staging"]);

    let (rows, table) = matrix(&s).await;
    for (row, id) in [(&rows[0], &dev.id), (&rows[1], &staging.id)] {
        assert_eq!(row["newest"]["verification"], "SUCCEEDED", "{row}");
        assert_eq!(row["last_success"]["execution_id"], id.as_str(), "{row}");
        assert_eq!(row["last_success"]["verification"], "SUCCEEDED", "{row}");
    }
    let line = format!(
        "staging    newest {0}: SUCCEEDED; last success {0}: SUCCEEDED\n",
        staging.id
    );
    assert!(table.contains(&line), "{line:?} missing in\n{table}");
}
