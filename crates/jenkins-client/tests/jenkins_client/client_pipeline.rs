//! Pipeline stage view (`wfapi/describe`) and API token generation against the Jenkins stand-in.

use crate::common;

use std::time::Duration;

use common::*;
use jenkins_client::model::StageStatus;
use jenkins_client::{Error, JenkinsClient, JobPath};
use secrecy::ExposeSecret;
use testkit::jenkins::{BuildScript, FakeJenkins, JobSpec};

const SECS: Duration = Duration::from_secs(1);

fn staged() -> JobSpec {
    JobSpec::new("images/base").script(BuildScript::new(35 * SECS, "FAILURE").stages(&[
        ("Build", 10 * SECS),
        ("Push", 20 * SECS),
        ("Notify", 5 * SECS),
    ]))
}

/// The stand-in serving [`staged`], a client, and the job, whose build #1 the client started.
async fn staged_build_started() -> (FakeJenkins, JenkinsClient, JobPath) {
    let j = start(standard().job(staged())).await;
    let c = client(&j);
    let image = job("images/base");
    c.build(&image).await.unwrap();
    (j, c, image)
}

fn stages(run: &jenkins_client::model::WorkflowRun) -> Vec<(String, StageStatus)> {
    run.stages
        .iter()
        .map(|s| (s.name.clone(), s.status.clone()))
        .collect()
}

#[tokio::test]
async fn stage_view_follows_a_pipeline_build_through_its_stages() {
    let (j, c, image) = staged_build_started().await;
    j.advance(SECS / 10);
    assert_eq!(j.builds_of("images/base").len(), 1);

    j.advance(12 * SECS);
    let run = c
        .workflow_run(&image, 1)
        .await
        .unwrap()
        .expect("stage view");
    assert_eq!(run.status, StageStatus::InProgress);
    assert_eq!(run.name.as_deref(), Some("#1"));
    assert_eq!(
        stages(&run),
        [
            ("Build".to_owned(), StageStatus::Success),
            ("Push".to_owned(), StageStatus::InProgress)
        ],
        "stages not reached yet are not listed"
    );
    assert_eq!(run.stages[0].duration_millis, 10_000);
    let push = run.stage("Push").unwrap();
    assert_eq!(push.start_time_millis, run.start_time_millis + 10_000);
    assert!(
        (2_000..4_000).contains(&push.duration_millis),
        "{}",
        push.duration_millis
    );

    j.advance(30 * SECS);
    let run = c.workflow_run(&image, 1).await.unwrap().unwrap();
    assert_eq!(run.status, StageStatus::Failed);
    assert_eq!(
        stages(&run),
        [
            ("Build".to_owned(), StageStatus::Success),
            ("Push".to_owned(), StageStatus::Success),
            ("Notify".to_owned(), StageStatus::Failed)
        ],
        "the last stage takes the run's status"
    );
    let durations: Vec<_> = run.stages.iter().map(|s| s.duration_millis).collect();
    assert_eq!(durations, [10_000, 20_000, 5_000]);
    assert_eq!(run.duration_millis, 35_000);
    assert_eq!(run.end_time_millis, run.start_time_millis + 35_000);
    let href = &run.links.as_ref().unwrap().self_link.as_ref().unwrap().href;
    assert_eq!(href, "/job/images/job/base/1/wfapi/describe");

    assert!(c.workflow_run(&image, 2).await.unwrap().is_none(), "404");
    assert!(
        j.requests()
            .iter()
            .any(|r| r.path == "/job/images/job/base/1/wfapi/describe" && r.status == 200)
    );
}

#[tokio::test]
async fn stopped_build_shows_aborted_stage_and_unscripted_jobs_one_build_stage() {
    let (j, c, image) = staged_build_started().await;
    j.advance(15 * SECS);
    c.stop_build(&image, 1).await.unwrap();
    j.advance(SECS);
    let run = c.workflow_run(&image, 1).await.unwrap().unwrap();
    assert_eq!(run.status, StageStatus::Aborted);
    assert_eq!(
        stages(&run),
        [
            ("Build".to_owned(), StageStatus::Success),
            ("Push".to_owned(), StageStatus::Aborted)
        ]
    );

    c.build(&job("plain")).await.unwrap();
    j.advance(11 * SECS);
    let plain = c.workflow_run(&job("plain"), 1).await.unwrap().unwrap();
    assert_eq!(stages(&plain), [("Build".to_owned(), StageStatus::Failed)]);
    assert_eq!(plain.stages[0].duration_millis, 10_000);
}

#[tokio::test]
async fn generated_api_token_authenticates_and_is_redacted() {
    let j = start(standard()).await;
    let c = client(&j);
    let token = c.generate_api_token("baton-ci").await.unwrap();
    assert_eq!(token.token_name, "baton-ci");
    assert_eq!(token.token_uuid.len(), 36);
    let value = token.token_value.expose_secret().to_owned();
    assert_eq!(value.len(), 34);
    assert!(!format!("{token:?}").contains(&value));
    let req = j.requests().pop().unwrap();
    assert_eq!(
        req.path,
        "/me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken"
    );
    assert_eq!(req.method, "POST");
    assert_eq!(
        req.form,
        [("newTokenName".to_owned(), "baton-ci".to_owned())]
    );

    let with_new = client_as(&j, "baton", &value);
    assert_eq!(with_new.who_am_i().await.unwrap().name, "baton");
    let other_user = client_as(&j, "viewer", &value);
    assert!(matches!(
        other_user.who_am_i().await,
        Err(Error::Unauthorized { .. })
    ));

    // A password user with CSRF on: the client fetches a crumb after the 403 and retries.
    let human = client_as(&j, "human", "human-password");
    let unnamed = human.generate_api_token(" ").await.unwrap();
    assert!(
        unnamed.token_name.starts_with("Token created on "),
        "{}",
        unnamed.token_name
    );
    assert!(
        j.requests()
            .iter()
            .any(|r| r.path == "/crumbIssuer/api/json")
    );

    let anonymous = JenkinsClient::builder(j.url()).build().unwrap();
    let err = anonymous.generate_api_token("x").await.unwrap_err();
    assert!(matches!(err, Error::Forbidden { .. }), "{err}");
}
