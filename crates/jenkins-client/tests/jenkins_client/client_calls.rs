//! Every client call against the Jenkins stand-in (testkit) on 127.0.0.1:0.

use crate::common;

use std::time::Duration;

use common::*;
use jenkins_client::model::{BuildResult, QueueState};
use jenkins_client::{Error, JenkinsClient, ParamsIn};
use testkit::jenkins::{BuildScript, JobSpec, LEFT_ITEM_TTL};

#[tokio::test]
async fn trigger_returns_queue_id_and_identical_parameters_coalesce_with_303() {
    let j = start(standard()).await;
    let c = client(&j);
    let p = params(&[("BASE_DIGEST", "sha256:aa"), ("CAUSE", "base-image")]);
    let first = trigger(&c, &p).await;
    assert!(!first.coalesced);
    assert!(first.location.starts_with(&j.url()), "{}", first.location);
    let again = c
        .build_with_parameters(&job(PETSTORE), &p, ParamsIn::Query)
        .await
        .unwrap();
    assert_eq!((again.queue_id, again.coalesced), (first.queue_id, true));
    let other = params(&[("BASE_DIGEST", "sha256:bb")]);
    let third = trigger(&c, &other).await;
    assert_ne!(third.queue_id, first.queue_id);

    let reqs = j.requests();
    assert_eq!(
        reqs[0].path,
        "/job/micro-gw/job/petstore-image/buildWithParameters"
    );
    assert_eq!(reqs[0].form, p);
    assert_eq!(reqs[1].query, p);
    assert_eq!(reqs[1].status, 303);
    assert!(
        reqs.iter().all(|r| r.path != "/crumbIssuer/api/json"),
        "API tokens need no crumb"
    );

    j.advance(Duration::from_secs(5));
    assert_eq!(j.builds_of(PETSTORE).len(), 1, "the job is not concurrent");
    assert_eq!(j.queued_ids(), [third.queue_id]);
    j.advance(Duration::from_secs(60));
    let builds = j.builds_of(PETSTORE);
    assert_eq!(
        builds.len(),
        2,
        "one build per distinct parameter set: {builds:?}"
    );
    assert_eq!(builds[0].params["BASE_DIGEST"], "sha256:aa");
    assert_eq!(
        builds[1].params["CAUSE"], "manual",
        "choice default is the first choice"
    );
    assert!(j.unmodelled_requests().is_empty());
}

#[tokio::test]
async fn unparameterized_build_and_encoded_folder_paths() {
    let j = start(standard()).await;
    let c = client(&j);
    let t = c.build(&job("plain")).await.unwrap();
    assert!(!t.coalesced);
    let p = params(&[("BASE_IMAGE", "debian:trixie")]);
    c.build_with_parameters(&job("images/base image (rebuild)"), &p, ParamsIn::Form)
        .await
        .unwrap();
    let paths: Vec<String> = j.requests().into_iter().map(|r| r.path).collect();
    assert_eq!(
        paths,
        [
            "/job/plain/build",
            "/job/images/job/base%20image%20(rebuild)/buildWithParameters"
        ]
    );
    assert_eq!(
        j.builds_of("images/base image (rebuild)")[0].params["BASE_IMAGE"],
        "debian:trixie"
    );
}

#[tokio::test]
async fn context_path_base_urls_work_with_and_without_slash() {
    let j = start(standard().context_path("/jenkins")).await;
    let base = j.url().trim_end_matches('/').to_owned();
    assert!(base.ends_with("/jenkins"));
    let c = JenkinsClient::builder(base)
        .credentials("baton", secrecy::SecretString::from(TOKEN.to_owned()))
        .build()
        .unwrap();
    let t = c.build(&job("plain")).await.unwrap();
    assert!(
        t.location.contains("/jenkins/queue/item/"),
        "{}",
        t.location
    );
    let item = c.queue_item(t.queue_id).await.unwrap();
    assert_eq!(item.id, Some(t.queue_id));
    assert_eq!(c.who_am_i().await.unwrap().name, "baton");
}

#[tokio::test]
async fn queue_items_go_waiting_blocked_buildable_left() {
    let j = start(standard().executors(1)).await;
    let c = client(&j);
    let a = trigger(&c, &params(&[("BASE_DIGEST", "a")])).await;
    let waiting = c.queue_item(a.queue_id).await.unwrap();
    assert_eq!(waiting.state(), QueueState::Waiting);
    assert!(waiting.why.unwrap().contains("quiet period"));

    let b = trigger(&c, &params(&[("BASE_DIGEST", "b")])).await;
    j.advance(Duration::from_secs(5));
    let p = c.build(&job("plain")).await.unwrap();
    let left = c.queue_item(a.queue_id).await.unwrap();
    assert_eq!(left.state(), QueueState::Left);
    assert_eq!(left.executable.map(|e| e.number), Some(1));
    let blocked = c.queue_item(b.queue_id).await.unwrap();
    assert_eq!(blocked.state(), QueueState::Blocked);
    assert!(
        blocked
            .why
            .unwrap()
            .contains("Build #1 is already in progress")
    );
    let buildable = c.queue_item(p.queue_id).await.unwrap();
    assert_eq!(buildable.state(), QueueState::Buildable);
    assert_eq!(
        buildable.why.as_deref(),
        Some("Waiting for next available executor")
    );
}

#[tokio::test]
async fn left_items_vanish_after_five_minutes() {
    let j = start(standard()).await;
    let c = client(&j);
    let t = c.build(&job("plain")).await.unwrap();
    j.advance(Duration::from_secs(1));
    assert_eq!(
        c.queue_item(t.queue_id).await.unwrap().state(),
        QueueState::Left
    );
    j.advance(LEFT_ITEM_TTL);
    let err = c.queue_item(t.queue_id).await.unwrap_err();
    assert!(matches!(err, Error::QueueItemNotFound { id } if id == t.queue_id));
    assert!(err.to_string().contains("5 minutes"), "{err}");
}

#[tokio::test]
async fn cancel_queue_item_then_it_is_left_and_cancelled() {
    let j = start(standard()).await;
    let c = client(&j);
    let t = trigger(&c, &[]).await;
    c.cancel_queue_item(t.queue_id).await.unwrap();
    let item = c.queue_item(t.queue_id).await.unwrap();
    assert_eq!(
        (item.state(), item.cancelled),
        (QueueState::Left, Some(true))
    );
    let again = c.cancel_queue_item(t.queue_id).await.unwrap_err();
    assert!(
        matches!(again, Error::QueueItemAlreadyLeft { .. }),
        "{again}"
    );
    assert_eq!(
        j.requests()[3].status,
        500,
        "Jenkins' answer for a left item"
    );
    j.advance(LEFT_ITEM_TTL);
    let forgotten = c.cancel_queue_item(t.queue_id).await.unwrap_err();
    assert!(
        matches!(forgotten, Error::QueueItemNotFound { .. }),
        "{forgotten}"
    );
    assert!(j.builds_of(PETSTORE).is_empty());
    assert_eq!(j.requests()[1].status, 204);
}

#[tokio::test]
async fn build_info_job_info_server_info_and_whoami() {
    let j = start(standard().version("2.500.1")).await;
    let c = client(&j);
    let p = params(&[("BASE_DIGEST", "sha256:cc")]);
    trigger(&c, &p).await;
    let info = c.job_info(&job(PETSTORE)).await.unwrap();
    assert!(info.buildable && info.in_queue && info.last_build.is_none());
    let defs = info.parameter_definitions();
    assert_eq!(
        defs[1].choices.as_deref(),
        Some(
            &[
                "manual".to_owned(),
                "base-image".into(),
                "artifact-source".into()
            ][..]
        )
    );

    j.advance(Duration::from_secs(6));
    let running = c.build_info(&job(PETSTORE), 1).await.unwrap();
    assert!(running.building);
    assert_eq!(running.result, None);
    assert_eq!(
        running.parameter("BASE_DIGEST").as_deref(),
        Some("sha256:cc")
    );
    assert_eq!(running.causes()[0].user_id.as_deref(), Some("baton"));
    j.advance(Duration::from_secs(60));
    let done = c.build_info(&job(PETSTORE), 1).await.unwrap();
    assert_eq!(
        (done.building, done.result),
        (false, Some(BuildResult::Success))
    );
    assert_eq!(done.duration, 60_000);
    assert!(c.build_info_opt(&job(PETSTORE), 9).await.unwrap().is_none());
    assert_eq!(
        c.job_info(&job(PETSTORE))
            .await
            .unwrap()
            .last_build
            .map(|b| b.number),
        Some(1)
    );
    let build_get = j
        .requests()
        .into_iter()
        .find(|r| r.path.ends_with("/1/api/json"))
        .unwrap();
    assert!(
        build_get.param("tree").unwrap().starts_with("number,"),
        "tree= keeps answers small"
    );

    let server = c.server_info().await.unwrap();
    assert_eq!(server.version, "2.500.1");
    assert!(server.root.use_crumbs && server.root.use_security);
    assert_eq!(c.version().await.unwrap(), "2.500.1");
    let who = c.who_am_i().await.unwrap();
    assert_eq!((who.name.as_str(), who.anonymous), ("baton", false));
}

#[tokio::test]
async fn console_grows_and_more_data_stops_at_the_end() {
    let j = start(standard()).await;
    let c = client(&j);
    trigger(&c, &[]).await;
    j.advance(Duration::from_secs(5));
    let first = c.console_chunk(&job(PETSTORE), 1, 0).await.unwrap();
    assert!(first.more && first.text.starts_with("Started by user baton"));
    assert!(!first.text.contains("Pulling base"));
    j.advance(Duration::from_secs(16));
    let second = c
        .console_chunk(&job(PETSTORE), 1, first.next_start)
        .await
        .unwrap();
    assert_eq!(second.text, "Pulling base\n");
    j.advance(Duration::from_secs(60));
    let last = c
        .console_chunk(&job(PETSTORE), 1, second.next_start)
        .await
        .unwrap();
    assert_eq!(last.text, "Building\nPushing\nFinished: SUCCESS\n");
    assert!(!last.more, "X-More-Data is absent once the build is done");
    let whole = c.console_chunk(&job(PETSTORE), 1, 0).await.unwrap();
    assert_eq!(whole.next_start, last.next_start);
}

#[tokio::test]
async fn stop_aborts_a_running_build() {
    let j = start(standard()).await;
    let c = client(&j);
    c.build(&job("plain")).await.unwrap();
    j.advance(Duration::from_secs(1));
    c.stop_build(&job("plain"), 1).await.unwrap();
    assert_eq!(j.requests().last().unwrap().status, 302);
    let b = c.build_info(&job("plain"), 1).await.unwrap();
    assert_eq!(b.result, Some(BuildResult::Aborted));
    let text = c.console_chunk(&job("plain"), 1, 0).await.unwrap().text;
    assert!(
        text.ends_with("Aborted by baton\nFinished: ABORTED\n"),
        "{text}"
    );
    let missing = c.stop_build(&job("plain"), 7).await.unwrap_err();
    assert!(
        matches!(missing, Error::BuildNotFound { number: 7, .. }),
        "{missing}"
    );
}

#[tokio::test]
async fn scripted_results_reach_the_client() {
    let j = start(standard()).await;
    j.push_script(
        "plain",
        BuildScript::new(Duration::from_secs(2), "UNSTABLE"),
    );
    j.add_job(JobSpec::new("added"));
    let c = client(&j);
    c.build(&job("plain")).await.unwrap();
    j.advance(Duration::from_secs(3));
    c.build(&job("plain")).await.unwrap();
    j.advance(Duration::from_secs(11));
    let first = c.build_info(&job("plain"), 1).await.unwrap();
    let second = c.build_info(&job("plain"), 2).await.unwrap();
    assert_eq!(first.result, Some(BuildResult::Unstable));
    assert_eq!(second.result, Some(BuildResult::Failure));
    assert!(c.build(&job("added")).await.is_ok());
}
