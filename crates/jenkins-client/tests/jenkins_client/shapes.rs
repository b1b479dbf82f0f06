//! The stand-in's JSON has the shape of recorded Jenkins JSON: every key of a fixture is present
//! in the stand-in's answer for the same kind of document, with the same JSON type (nested
//! objects and the first element of arrays compared too). This keeps the stand-in from drifting
//! into a shape only our own client accepts.

use crate::common;

use std::time::Duration;

use common::*;
use jenkins_client::ParamsIn;
use serde_json::Value;
use testkit::jenkins::{BuildScript, JobSpec, ParamSpec};

fn fixture(rel: &str) -> Value {
    let path = format!("{}/tests/fixtures/{rel}", env!("CARGO_MANIFEST_DIR"));
    serde_json::from_slice(&std::fs::read(&path).unwrap()).unwrap()
}

fn kind(v: &Value) -> &'static str {
    match v {
        Value::Null => "null",
        Value::Bool(_) => "bool",
        Value::Number(_) => "number",
        Value::String(_) => "string",
        Value::Array(_) => "array",
        Value::Object(_) => "object",
    }
}

/// Collects differences between a real document and the stand-in's.
fn compare(path: &str, real: &Value, fake: &Value, out: &mut Vec<String>) {
    match (real, fake) {
        (Value::Null, _) | (_, Value::Null) => {}
        (Value::Object(r), Value::Object(f)) => {
            for (k, rv) in r {
                match f.get(k) {
                    None => out.push(format!("{path}.{k} missing")),
                    Some(fv) => compare(&format!("{path}.{k}"), rv, fv, out),
                }
            }
        }
        (Value::Array(r), Value::Array(f)) => {
            // Actions are a list of unrelated objects; compare those with the same `_class`.
            for (i, rv) in r.iter().enumerate() {
                let class = rv.get("_class");
                let twin = match class {
                    Some(c) => f.iter().find(|fv| fv.get("_class") == Some(c)),
                    None if i == 0 => f.first(),
                    None => None,
                };
                if let Some(fv) = twin {
                    compare(&format!("{path}[{i}]"), rv, fv, out);
                }
            }
        }
        (r, f) if kind(r) != kind(f) => out.push(format!("{path}: {} vs {}", kind(r), kind(f))),
        _ => {}
    }
}

async fn get(url: &str) -> Value {
    jenkins_client::install_crypto_provider();
    reqwest::Client::new()
        .get(url)
        .basic_auth("baton", Some(TOKEN))
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap()
}

fn assert_shape(name: &str, real: &Value, fake: &Value, unmodelled: &[&str]) {
    let mut diffs = Vec::new();
    compare("", real, fake, &mut diffs);
    diffs.retain(|d| !unmodelled.iter().any(|u| d.starts_with(u)));
    assert!(
        diffs.is_empty(),
        "{name}: stand-in differs from recorded Jenkins JSON: {diffs:#?}"
    );
}

#[tokio::test]
async fn stand_in_documents_have_recorded_jenkins_shapes() {
    let j = start(standard().executors(1)).await;
    let c = client(&j);
    let u = j.url();
    let p = params(&[("BASE_DIGEST", "a")]);
    let running = trigger(&c, &p).await;
    let p2 = params(&[("BASE_DIGEST", "b")]);
    let blocked = trigger(&c, &p2).await;
    j.advance(Duration::from_secs(5));
    let buildable = c.build(&job("plain")).await.unwrap();
    let p3 = params(&[("BASE_DIGEST", "c")]);
    let cancelled = trigger(&c, &p3).await;
    c.cancel_queue_item(cancelled.queue_id).await.unwrap();

    let item = |id: u64| format!("{u}queue/item/{id}/api/json");
    let left = get(&item(running.queue_id)).await;
    for f in ["queueItemRunning.json", "queueItemMultipleParameters.json"] {
        assert_shape(f, &fixture(&format!("cdancy-jenkins-rest/{f}")), &left, &[]);
    }
    assert_shape(
        "python queue-item",
        &fixture("python-jenkins/queue-item.json"),
        &left,
        &[],
    );
    let c_item = get(&item(cancelled.queue_id)).await;
    assert_shape(
        "queueItemCancelled",
        &fixture("cdancy-jenkins-rest/queueItemCancelled.json"),
        &c_item,
        &[],
    );
    let b_item = get(&item(blocked.queue_id)).await;
    assert_shape(
        "queueItemPending",
        &fixture("cdancy-jenkins-rest/queueItemPending.json"),
        &b_item,
        &[],
    );
    let bl_item = get(&item(buildable.queue_id)).await;
    assert_shape(
        "queueItemMissingTaskUrl",
        &fixture("cdancy-jenkins-rest/queueItemMissingTaskUrl.json"),
        &bl_item,
        &[],
    );
    let queue = get(&format!("{u}queue/api/json")).await;
    // Items were compared one by one above; the recorded list's first item is in another state.
    assert_shape(
        "queue",
        &fixture("cdancy-jenkins-rest/queue.json"),
        &queue,
        &[".items[0]"],
    );

    // The recorded build and job have a boolean `bear` and a string `fish` parameter.
    let fish = JobSpec::new("fish")
        .param(ParamSpec::boolean("bear", true))
        .param(ParamSpec::string("fish", "salmon"));
    let j = start(standard().job(fish)).await;
    let u = j.url();
    client(&j)
        .build_with_parameters(&job("fish"), &[], ParamsIn::Form)
        .await
        .unwrap();
    j.advance(Duration::from_secs(60));
    let build = get(&format!("{u}job/fish/1/api/json")).await;
    // Recorded builds list artifacts and culprits; the stand-in has none (empty arrays).
    // (build-info-empty-and-null-params.json is the same job with `bear` as a string parameter.)
    for f in ["build-info.json", "build-info-no-params.json"] {
        assert_shape(
            f,
            &fixture(&format!("cdancy-jenkins-rest/{f}")),
            &build,
            &[".artifacts[0]", ".culprits[0]"],
        );
    }
    let job_json = get(&format!("{u}job/fish/api/json")).await;
    // healthReport is not modelled (empty); queueItem is null once nothing is queued.
    assert_shape(
        "job-info",
        &fixture("cdancy-jenkins-rest/job-info.json"),
        &job_json,
        &[".healthReport[0]"],
    );
    let folder = get(&format!("{u}job/micro-gw/api/json")).await;
    assert_shape(
        "jobsInJenkinsFolder",
        &fixture("cdancy-jenkins-rest/jobsInJenkinsFolder.json"),
        &folder,
        &[],
    );
    let root = get(&format!("{u}api/json")).await;
    assert_shape(
        "root",
        &fixture("written-from-source/root-api-json.json"),
        &root,
        &[],
    );
    assert_shape(
        "jobsInRootFolder",
        &fixture("cdancy-jenkins-rest/jobsInRootFolder.json"),
        &root,
        &[],
    );
    let who = get(&format!("{u}whoAmI/api/json")).await;
    assert_shape(
        "whoAmI",
        &fixture("written-from-source/whoAmI-api-json.json"),
        &who,
        &[],
    );
    let me = get(&format!("{u}me/api/json")).await;
    assert_shape("user", &fixture("cdancy-jenkins-rest/user.json"), &me, &[]);
    assert_shape(
        "python whoami",
        &fixture("python-jenkins/whoami-user.json"),
        &me,
        &[".property["],
    );
    let crumb = get(&format!("{u}crumbIssuer/api/json")).await;
    assert_shape(
        "crumb",
        &fixture("written-from-source/crumbIssuer-api-json.json"),
        &crumb,
        &[],
    );
}

#[tokio::test]
async fn stand_in_stage_view_and_token_answers_have_recorded_shapes() {
    let staged = JobSpec::new("pipe").script(
        BuildScript::new(Duration::from_secs(9), "SUCCESS").stages(&[
            ("Build", Duration::from_secs(3)),
            ("Test", Duration::from_secs(3)),
            ("Deploy", Duration::from_secs(3)),
        ]),
    );
    let j = start(standard().job(staged)).await;
    let u = j.url();
    client(&j).build(&job("pipe")).await.unwrap();
    j.advance(Duration::from_secs(10));
    let run = get(&format!("{u}job/pipe/1/wfapi/describe")).await;
    // The recorded run waits for input; the stand-in has no input steps.
    assert_shape(
        "workflow",
        &fixture("cdancy-jenkins-rest/workflow.json"),
        &run,
        &["._links.pendingInputActions"],
    );
    assert_eq!(run["stages"].as_array().map(Vec::len), Some(3));

    let token: Value = reqwest::Client::new()
        .post(format!(
            "{u}me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken"
        ))
        .basic_auth("baton", Some(TOKEN))
        .form(&[("newTokenName", "kb-token")])
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_shape(
        "api-token",
        &fixture("cdancy-jenkins-rest/api-token.json"),
        &token,
        &[],
    );
}
