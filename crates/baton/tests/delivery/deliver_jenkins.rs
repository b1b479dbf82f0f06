//! The Jenkins deliverer against the Jenkins stand-in on a real socket: one trigger per record,
//! the queue id on the event, 303 coalescing counted as delivered, 503 + Retry-After retried no
//! sooner than asked, a disabled job dead with a message naming the job and the fix.

use baton_harness::deliver;

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use baton_daemon::outbox::Effect;
use baton_daemon::outbox::deliverers::Deliverers;
use baton_daemon::outbox::jenkins::JenkinsDeliverer;
use baton_daemon::store::outbox::State;
use deliver::{Running, enqueue_for_event, jenkins_client, running, settled};
use testkit::jenkins::{BuildScript, FakeJenkins, Fault, FaultKind, JobSpec, ParamSpec};

const JOB: &str = "micro-gw/petstore-image";

async fn jenkins(quiet: Duration) -> FakeJenkins {
    let job = JobSpec::new(JOB)
        .param(ParamSpec::string("BASE_DIGEST", ""))
        .param(ParamSpec::string("BATON_EVENT", ""))
        .quiet_period(quiet)
        .script(BuildScript::new(Duration::from_millis(200), "SUCCESS"));
    deliver::jenkins([job, JobSpec::new("micro-gw/old-image").disabled()]).await
}

/// A Jenkins-only outbox worker delivering to `j`, on a fresh store.
async fn worker(j: &FakeJenkins) -> Running {
    running(|store| Deliverers {
        spinnaker: None,
        jenkins: Some(JenkinsDeliverer::new(jenkins_client(j), store.clone())),
        notify: None,
    })
    .await
}

fn build(job: &str, digest: &str) -> Effect {
    Effect::JenkinsBuild {
        job: job.into(),
        params: BTreeMap::from([("BASE_DIGEST".to_owned(), digest.to_owned())]),
    }
}

fn triggers(j: &FakeJenkins) -> Vec<testkit::jenkins::RecordedRequest> {
    j.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path.ends_with("/buildWithParameters"))
        .collect()
}

#[tokio::test]
async fn triggers_once_and_records_the_queue_id() {
    let j = jenkins(Duration::ZERO).await;
    let w = worker(&j).await;
    let effect = build(JOB, "sha256:aa");
    let (event, r) = w
        .send("rebuild", "rb-1", &effect, Duration::from_secs(10))
        .await;
    assert_eq!(r.state, State::Delivered, "{r:?}");
    let response = r.response.unwrap();
    assert_eq!(response["coalesced"], false);
    let queue_id = response["queueId"].as_u64().unwrap();
    let ev = w.store.event(&event).await.unwrap().unwrap();
    assert_eq!(ev.correlation.jenkins_queue_id, Some(queue_id as i64));
    deliver::assert_nothing_left_to_send(&w.store).await;
    let sent = triggers(&j);
    assert_eq!(sent.len(), 1, "{sent:?}");
    assert_eq!(sent[0].param("BASE_DIGEST"), Some("sha256:aa"));
    assert_eq!(sent[0].user.as_deref(), Some("baton"));
    let builds = j.builds_of(JOB);
    assert_eq!(builds.len(), 1);
    assert_eq!(builds[0].queue_id, queue_id);
}

#[tokio::test]
async fn same_parameters_already_queued_count_as_delivered_and_coalesced() {
    // A long quiet period keeps the first item in the queue.
    let j = jenkins(Duration::from_secs(60)).await;
    let w = worker(&j).await;
    let (store, outbox) = (&w.store, &w.outbox);
    let (first, a) = enqueue_for_event(outbox, "rebuild", "rb-a", &build(JOB, "sha256:bb")).await;
    let (second, b) = enqueue_for_event(outbox, "rebuild", "rb-b", &build(JOB, "sha256:bb")).await;

    let ra = settled(store, a, Duration::from_secs(10)).await;
    let rb = settled(store, b, Duration::from_secs(10)).await;
    assert_eq!((ra.state, rb.state), (State::Delivered, State::Delivered));
    let (qa, qb) = (
        ra.response.unwrap()["queueId"].as_u64().unwrap(),
        rb.response.clone().unwrap()["queueId"].as_u64().unwrap(),
    );
    assert_eq!(qa, qb, "Jenkins coalesced the second into the first item");
    assert_eq!(rb.response.unwrap()["coalesced"], true);
    let e2 = store.event(&second).await.unwrap().unwrap();
    assert_eq!(e2.correlation.jenkins_queue_id, Some(qa as i64));
    assert!(e2.correlation.detail.unwrap().contains("coalesced"));
    let e1 = store.event(&first).await.unwrap().unwrap();
    assert_eq!(e1.correlation.detail, None);
    assert_eq!(j.queued_ids(), vec![qa]);
    assert_eq!(triggers(&j).len(), 2);
}

#[tokio::test]
async fn unavailable_jenkins_is_retried_after_retry_after() {
    let j = jenkins(Duration::ZERO).await;
    j.set_fault(
        Fault::new(FaultKind::Unavailable {
            retry_after_secs: 1,
        })
        .path_contains("buildWithParameters")
        .times(1),
    );
    let w = worker(&j).await;
    let started = Instant::now();
    let effect = build(JOB, "sha256:cc");
    let (_, r) = w
        .send("rebuild", "rb-3", &effect, Duration::from_secs(10))
        .await;
    assert_eq!(r.state, State::Delivered, "{r:?}");
    assert_eq!(r.attempts, 2);
    // The policy alone would retry after 100 ms; Retry-After: 1 wins.
    assert!(
        started.elapsed() >= Duration::from_secs(1),
        "{:?}",
        started.elapsed()
    );
    let statuses: Vec<u16> = triggers(&j).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 201]);
}

#[tokio::test]
async fn disabled_job_is_dead_with_the_job_and_the_fix() {
    let j = jenkins(Duration::ZERO).await;
    let w = worker(&j).await;
    let effect = build("micro-gw/old-image", "x");
    let (_, r) = w
        .send("rebuild", "rb-4", &effect, Duration::from_secs(10))
        .await;
    assert_eq!(r.state, State::Dead, "{r:?}");
    assert_eq!(r.attempts, 1);
    let err = r.last_error.unwrap();
    assert!(err.contains("\"micro-gw/old-image\" is disabled"), "{err}");
    assert!(
        err.contains(&format!("baton outbox retry {}", r.id)),
        "{err}"
    );
    assert_eq!(triggers(&j).len(), 1);
}
