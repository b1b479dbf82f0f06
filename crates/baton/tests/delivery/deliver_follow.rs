//! Following delivered Jenkins triggers on the Jenkins stand-in: queue id -> build number ->
//! scripted result on the event; a follower stopped mid-build and a new one started (a restart)
//! finds the follow-up in the store and finishes it; a cancelled queue item ends as CANCELLED.

use baton_harness::common;
use baton_harness::deliver;

use std::collections::BTreeMap;
use std::time::Duration;

use baton_daemon::outbox::Effect;
use baton_daemon::outbox::deliverers::Deliverers;
use baton_daemon::outbox::follow::{BuildFollower, FollowSettings};
use baton_daemon::outbox::jenkins::JenkinsDeliverer;
use baton_daemon::store::Store;
use baton_daemon::store::outbox::Record;
use deliver::{enqueue_for_event, jenkins_client, outbox, settled, start_worker, until};
use testkit::jenkins::{BuildScript, FakeJenkins, JobSpec, ParamSpec};
use tokio_util::sync::CancellationToken;

const JOB: &str = "micro-gw/petstore-image";

async fn jenkins(quiet: Duration, script: BuildScript) -> FakeJenkins {
    let job = JobSpec::new(JOB)
        .param(ParamSpec::string("BASE_DIGEST", ""))
        .quiet_period(quiet)
        .script(script);
    deliver::jenkins([job]).await
}

fn fast() -> FollowSettings {
    FollowSettings {
        initial_interval: Duration::from_millis(50),
        max_interval: Duration::from_millis(200),
        give_up_after: Duration::from_secs(30),
        rescan: Duration::from_millis(300),
        ..FollowSettings::default()
    }
}

fn start_follower(
    j: &FakeJenkins,
    store: &Store,
    d: &JenkinsDeliverer,
    settings: FollowSettings,
) -> CancellationToken {
    let stop = CancellationToken::new();
    let f = BuildFollower::new(
        jenkins_client(j),
        store.clone(),
        d.delivered_signal(),
        settings,
    );
    tokio::spawn(f.run(stop.clone()));
    stop
}

/// The outbox worker with only the Jenkins deliverer.
fn start_jenkins_worker(
    outbox: &baton_daemon::outbox::Outbox,
    d: JenkinsDeliverer,
) -> CancellationToken {
    start_worker(
        outbox,
        Deliverers {
            spinnaker: None,
            jenkins: Some(d),
            notify: None,
        },
    )
}

/// Waits until `event` has a build result; returns its correlation.
async fn until_result(
    store: &Store,
    event: &str,
    secs: u64,
    what: &str,
) -> baton_daemon::store::events::Correlation {
    until(Duration::from_secs(secs), what, async || {
        let e = store.event(event).await.unwrap().unwrap();
        e.correlation.build_result.is_some()
    })
    .await;
    store.event(event).await.unwrap().unwrap().correlation
}

fn build(digest: &str) -> Effect {
    Effect::JenkinsBuild {
        job: JOB.into(),
        params: BTreeMap::from([("BASE_DIGEST".to_owned(), digest.to_owned())]),
    }
}

/// A build follower (with `settings`) and a Jenkins-only outbox worker on `store`, and the
/// trigger of `build(digest)` under `key` that they delivered.
struct Triggered {
    follow: CancellationToken,
    work: CancellationToken,
    /// The event the trigger was enqueued for.
    event: String,
    /// Its outbox record, delivered.
    record: Record,
}

async fn trigger(
    j: &FakeJenkins,
    store: &Store,
    settings: FollowSettings,
    key: &str,
    digest: &str,
) -> Triggered {
    let outbox = outbox(store);
    let d = JenkinsDeliverer::new(jenkins_client(j), store.clone());
    let follow = start_follower(j, store, &d, settings);
    let work = start_jenkins_worker(&outbox, d);
    let (event, id) = enqueue_for_event(&outbox, "rebuild", key, &build(digest)).await;
    let record = settled(store, id, Duration::from_secs(10)).await;
    Triggered {
        follow,
        work,
        event,
        record,
    }
}

#[tokio::test]
async fn queue_id_leads_to_build_number_and_scripted_result() {
    let (store, _dir) = common::sqlite().await;
    let j = jenkins(
        Duration::from_millis(200),
        BuildScript::new(Duration::from_millis(400), "UNSTABLE"),
    )
    .await;
    let t = trigger(&j, &store, fast(), "f-1", "sha256:01").await;

    let e = until_result(&store, &t.event, 15, "build result recorded").await;
    let builds = j.builds_of(JOB);
    assert_eq!(builds.len(), 1);
    assert_eq!(e.jenkins_queue_id, Some(builds[0].queue_id as i64));
    assert_eq!(e.build_number, Some(i64::from(builds[0].number)));
    assert_eq!(e.build_result.as_deref(), Some("UNSTABLE"));
    assert_eq!(builds[0].result.as_deref(), Some("UNSTABLE"));
    let url = e.build_url.unwrap();
    assert!(url.contains("/job/micro-gw/job/petstore-image/1/"), "{url}");
    t.follow.cancel();
    t.work.cancel();
}

#[tokio::test]
async fn a_restarted_follower_finds_the_build_in_the_store() {
    let (store, _dir) = common::sqlite().await;
    let j = jenkins(
        Duration::ZERO,
        BuildScript::new(Duration::from_millis(1500), "FAILURE"),
    )
    .await;
    let first = trigger(&j, &store, fast(), "f-2", "sha256:02").await;
    let event = first.event.clone();
    // The first follower sees the build start, then "the daemon stops".
    until(
        Duration::from_secs(10),
        "build number recorded",
        async || {
            let e = store.event(&event).await.unwrap().unwrap();
            e.correlation.build_number.is_some()
        },
    )
    .await;
    first.follow.cancel();
    first.work.cancel();
    let e = store.event(&event).await.unwrap().unwrap().correlation;
    assert_eq!(e.build_result, None, "still building when stopped");
    let pending = store.pending_builds(10).await.unwrap();
    assert_eq!(pending.len(), 1);
    assert_eq!(pending[0].event_id, event);
    assert_eq!(pending[0].job, JOB);

    // "Restart": a new follower with a fresh wake signal and nothing in memory.
    let d2 = JenkinsDeliverer::new(jenkins_client(&j), store.clone());
    let second = start_follower(&j, &store, &d2, fast());
    let e = until_result(&store, &event, 15, "result recorded after restart").await;
    assert_eq!(e.build_result.as_deref(), Some("FAILURE"));
    assert!(store.pending_builds(10).await.unwrap().is_empty());
    second.cancel();
}

#[tokio::test]
async fn a_cancelled_queue_item_ends_as_cancelled() {
    let (store, _dir) = common::sqlite().await;
    let j = jenkins(Duration::from_secs(60), BuildScript::default()).await;
    let t = trigger(&j, &store, fast(), "f-3", "sha256:03").await;
    let queue_id = t.record.response.as_ref().unwrap()["queueId"]
        .as_u64()
        .unwrap();
    jenkins_client(&j)
        .cancel_queue_item(queue_id)
        .await
        .unwrap();

    let e = until_result(&store, &t.event, 10, "cancellation recorded").await;
    assert_eq!(e.build_result.as_deref(), Some("CANCELLED"));
    assert!(
        e.detail
            .unwrap()
            .contains(&format!("queue item {queue_id} was cancelled"))
    );
    assert_eq!(e.build_number, None);
    assert!(j.builds_of(JOB).is_empty());
    t.follow.cancel();
    t.work.cancel();
}

#[tokio::test]
async fn a_follow_up_past_its_deadline_ends_as_unknown() {
    let (store, _dir) = common::sqlite().await;
    // The item waits out a 60 s quiet period; the follower gives up after 600 ms.
    let j = jenkins(Duration::from_secs(60), BuildScript::default()).await;
    let settings = FollowSettings {
        give_up_after: Duration::from_millis(600),
        ..fast()
    };
    let t = trigger(&j, &store, settings, "f-4", "sha256:04").await;
    let e = until_result(&store, &t.event, 10, "give-up recorded").await;
    assert_eq!(e.build_result.as_deref(), Some("UNKNOWN"));
    let detail = e.detail.unwrap();
    assert!(detail.contains("gave up on queue item"), "{detail}");
    assert!(store.pending_builds(10).await.unwrap().is_empty());
    t.follow.cancel();
    t.work.cancel();
}
