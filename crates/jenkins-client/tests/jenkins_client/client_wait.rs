//! `wait_for_build` and `console_stream` against the Jenkins stand-in, in paused tokio time:
//! the stand-in's clock follows tokio time, so builds finish as the client sleeps between polls.

use crate::common;

use std::time::Duration;

use common::*;
use futures::StreamExt;
use jenkins_client::model::BuildResult;
use jenkins_client::{Error, FinishedBuild, JenkinsClient, WaitOptions};
use testkit::jenkins::{Fault, FaultKind};
use tokio_util::sync::CancellationToken;

fn opts(timeout_secs: u64) -> WaitOptions {
    WaitOptions::new(Duration::from_secs(timeout_secs), Duration::from_secs(1))
}

/// Waits (at most `timeout_secs`, uncancelled) for the build of queue item `queue_id`.
async fn wait(c: &JenkinsClient, queue_id: u64, timeout_secs: u64) -> Result<FinishedBuild, Error> {
    c.wait_for_build(queue_id, &opts(timeout_secs), &CancellationToken::new())
        .await
}

#[tokio::test(start_paused = true)]
async fn wait_follows_queue_item_to_result() {
    let j = start(standard()).await;
    let c = client(&j);
    let p = params(&[("BASE_DIGEST", "sha256:dd")]);
    let t = trigger(&c, &p).await;
    let done = wait(&c, t.queue_id, 600).await.unwrap();
    assert_eq!(done.result, BuildResult::Success);
    assert_eq!(done.build.number, 1);
    assert_eq!(
        done.build.parameter("BASE_DIGEST").as_deref(),
        Some("sha256:dd")
    );
    let polls = j
        .requests()
        .iter()
        .filter(|r| r.path.ends_with("/1/api/json"))
        .count();
    assert!(
        (2..30).contains(&polls),
        "backoff keeps polls bounded: {polls}"
    );

    let t = c.build(&job("plain")).await.unwrap();
    let failed = wait(&c, t.queue_id, 600).await.unwrap();
    assert_eq!(
        failed.result,
        BuildResult::Failure,
        "a failed build is a result, not an error"
    );
}

#[tokio::test(start_paused = true)]
async fn wait_tolerates_a_few_transient_failures() {
    let j = start(standard()).await;
    let c = client(&j);
    let t = c.build(&job("plain")).await.unwrap();
    j.set_fault(
        Fault::new(FaultKind::Unavailable {
            retry_after_secs: 1,
        })
        .path_contains("/queue/item/")
        .times(2),
    );
    let done = wait(&c, t.queue_id, 600).await.unwrap();
    assert_eq!(done.result, BuildResult::Failure);

    let t = c.build(&job("plain")).await.unwrap();
    j.set_fault(Fault::new(FaultKind::Status(500)).path_contains("/queue/item/"));
    let e = wait(&c, t.queue_id, 600).await.unwrap_err();
    assert!(matches!(e, Error::Api { status: 500, .. }), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn wait_reports_cancelled_items_deadlines_and_cancellation() {
    let j = start(standard()).await;
    let c = client(&j);
    let t = trigger(&c, &[]).await;
    c.cancel_queue_item(t.queue_id).await.unwrap();
    let e = wait(&c, t.queue_id, 600).await.unwrap_err();
    assert!(matches!(e, Error::QueueItemCancelled { .. }), "{e:?}");

    let p = params(&[("BASE_DIGEST", "slow")]);
    let t = trigger(&c, &p).await;
    let e = wait(&c, t.queue_id, 20).await.unwrap_err();
    match &e {
        Error::DeadlineExceeded { stage, .. } => {
            assert!(stage.contains("build #1 running"), "{stage}")
        }
        other => panic!("expected DeadlineExceeded, got {other:?}"),
    }

    let cancel = CancellationToken::new();
    let trigger = cancel.clone();
    tokio::spawn(async move {
        tokio::time::sleep(Duration::from_secs(3)).await;
        trigger.cancel();
    });
    let e = c
        .wait_for_build(t.queue_id, &opts(600), &cancel)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::Cancelled { .. }), "{e:?}");
}

#[tokio::test(start_paused = true)]
async fn console_stream_yields_the_whole_log_then_ends() {
    let j = start(standard()).await;
    let c = client(&j);
    trigger(&c, &[]).await;
    j.advance(Duration::from_secs(5));
    let stream = c.console_stream(
        job(PETSTORE),
        1,
        0,
        Duration::from_secs(2),
        CancellationToken::new(),
    );
    let chunks: Vec<_> = stream.collect().await;
    let text: String = chunks
        .iter()
        .map(|c| c.as_ref().unwrap().text.clone())
        .collect();
    assert!(text.starts_with("Started by user baton\n"), "{text}");
    assert!(
        text.ends_with("Pulling base\nBuilding\nPushing\nFinished: SUCCESS\n"),
        "{text}"
    );
    assert!(
        chunks.len() >= 3,
        "text arrived progressively: {}",
        chunks.len()
    );
    assert!(!chunks.last().unwrap().as_ref().unwrap().more);
}
