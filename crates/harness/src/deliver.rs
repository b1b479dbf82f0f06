//! Helpers for the deliverer tests: a SQLite store, a worker with a fast retry policy, and
//! bounded waits on the store.

use std::time::Duration;

use baton_core::config::model::{Jitter, OutboxSettings};
use baton_daemon::clock::Clock;
use baton_daemon::outbox::deliverers::Deliverers;
use baton_daemon::outbox::policy::RetryPolicy;
use baton_daemon::outbox::worker::{Worker, WorkerSettings};
use baton_daemon::outbox::{Effect, Outbox};
use baton_daemon::store::Store;
use baton_daemon::store::events::{Correlation, Event, new_event_id};
use baton_daemon::store::outbox::{Record, State};
use testkit::jenkins::{FakeJenkins, JobSpec, UserSpec};
use tokio_util::sync::CancellationToken;

/// Retry quickly: 100 ms, 200 ms, 400 ms… capped at 1 s, no jitter, 5 attempts.
pub fn fast_policy() -> RetryPolicy {
    RetryPolicy {
        initial: Duration::from_millis(100),
        max: Duration::from_secs(1),
        max_attempts: 5,
        give_up_after: Duration::from_secs(3600),
        jitter: Jitter::None,
        throttle_floor: Duration::from_millis(300),
    }
}

/// Starts a worker with `deliverers` on `outbox`; cancel the token to stop it.
pub fn start_worker(outbox: &Outbox, deliverers: Deliverers) -> CancellationToken {
    let mut settings = WorkerSettings::from(&OutboxSettings::default());
    settings.policy = fast_policy();
    settings.idle_poll = Duration::from_millis(50);
    settings.lease = Duration::from_secs(20);
    let shutdown = CancellationToken::new();
    tokio::spawn(Worker::new(outbox, deliverers, settings).run(shutdown.clone()));
    shutdown
}

/// An outbox worker on a fresh SQLite store; it stops when this drops.
pub struct Running {
    /// The store.
    pub store: Store,
    /// The outbox the worker drains.
    pub outbox: Outbox,
    stop: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.stop.cancel();
    }
}

/// Starts a worker on a fresh SQLite store with the deliverers `deliverers` builds for it.
pub async fn running(deliverers: impl FnOnce(&Store) -> Deliverers) -> Running {
    let (store, dir) = crate::common::sqlite().await;
    let outbox = outbox(&store);
    let stop = start_worker(&outbox, deliverers(&store));
    Running {
        store,
        outbox,
        stop,
        _dir: dir,
    }
}

impl Running {
    /// Enqueues `effect` under `key` for a new event of `kind` and waits (at most `limit`) until
    /// its record settles: the event id and the record.
    pub async fn send(
        &self,
        kind: &str,
        key: &str,
        effect: &Effect,
        limit: Duration,
    ) -> (String, Record) {
        let (event, id) = enqueue_for_event(&self.outbox, kind, key, effect).await;
        (event, settled(&self.store, id, limit).await)
    }
}

/// A system-clock outbox on `store`.
pub fn outbox(store: &Store) -> Outbox {
    Outbox::new(store.clone(), Clock::system())
}

/// Records an event and enqueues `effect` for it; returns (event id, record id).
pub async fn enqueue_for_event(
    outbox: &Outbox,
    kind: &str,
    key: &str,
    effect: &Effect,
) -> (String, i64) {
    let now = time::OffsetDateTime::now_utc();
    let id = new_event_id(now);
    outbox
        .store()
        .insert_event(&Event {
            id: id.clone(),
            product: "micro-gw".into(),
            kind: kind.into(),
            image: None,
            created_at: now,
            correlation: Correlation::default(),
        })
        .await
        .unwrap();
    let (record, created) = outbox
        .enqueue(effect, "micro-gw", key, Some(&id))
        .await
        .unwrap();
    assert!(created);
    (id, record.id)
}

/// Waits (at most `limit`) until record `id` is no longer pending; returns it.
pub async fn settled(store: &Store, id: i64, limit: Duration) -> Record {
    let deadline = tokio::time::Instant::now() + limit;
    loop {
        let r = store.record(id).await.unwrap().expect("record exists");
        if r.state != State::Pending {
            return r;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "record {id} still pending after {limit:?}: {r:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Waits (at most `limit`) until `check` holds.
pub async fn until(limit: Duration, what: &str, mut check: impl AsyncFnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + limit;
    while !check().await {
        assert!(
            tokio::time::Instant::now() < deadline,
            "{what}: not true after {limit:?}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

/// Asserts that no record of `store`'s outbox is pending: each was delivered, superseded or
/// gave up. A worker sends only pending records and records what a peer answered before it
/// marks a record delivered, so from here on nothing more can reach a stand-in: what it
/// recorded is final, with no sleep to wait out a send that cannot come.
pub async fn assert_nothing_left_to_send(store: &Store) {
    let counts = store.outbox_counts().await.unwrap();
    assert_eq!(counts.pending, 0, "records still to send: {counts:?}");
}

/// The Gate stand-in for application `micro-gw`, on 127.0.0.1.
pub async fn gate() -> testkit::spinnaker::FakeSpinnaker {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    testkit::spinnaker::FakeSpinnaker::builder()
        .application("micro-gw")
        .start(listener)
        .await
        .unwrap()
}

/// A Jenkins stand-in on 127.0.0.1 with `jobs` and the user `baton` (API token `token-1`).
pub async fn jenkins(jobs: impl IntoIterator<Item = JobSpec>) -> FakeJenkins {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut builder = FakeJenkins::builder().user(UserSpec::new("baton", "token-1"));
    for job in jobs {
        builder = builder.job(job);
    }
    builder.start(listener).await.unwrap()
}

/// A client of the stand-in `j` as user `baton`, each request bounded by 5 s.
pub fn jenkins_client(j: &FakeJenkins) -> jenkins_client::JenkinsClient {
    jenkins_client::JenkinsClient::builder(j.url())
        .credentials("baton", secrecy::SecretString::from("token-1"))
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}
