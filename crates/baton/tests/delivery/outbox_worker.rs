//! The delivery loop on a manual clock (see `baton_daemon::clock` for why not tokio's paused clock),
//! against a real SQLite store. The receiver is a test double of the network side: it records
//! when it was called and answers from a script. The test moves time only while the worker is
//! idle, to the deadline it sleeps until, so call times are exact.

use baton_harness::common;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_core::config::model::Jitter;
use baton_daemon::clock::{Clock, ManualClock};
use baton_daemon::outbox::policy::RetryPolicy;
use baton_daemon::outbox::worker::{Worker, WorkerSettings};
use baton_daemon::outbox::{Deliver, Delivered, DeliveryError, Effect, Outbox};
use baton_daemon::store::Store;
use baton_daemon::store::outbox::{Record, State};
use serde_json::json;
use time::OffsetDateTime;
use time::macros::datetime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

const T0: OffsetDateTime = datetime!(2026-11-29 12:00:00 UTC);

/// One scripted answer.
#[derive(Clone)]
enum Answer {
    Ok,
    Fail,
    RetryAfter(u64),
    Permanent,
    Hang,
}

#[derive(Clone, Default)]
struct Receiver {
    calls: Arc<Mutex<Vec<(String, u64)>>>,
    script: Arc<Mutex<HashMap<String, VecDeque<Answer>>>>,
    called: Arc<Notify>,
    clock: Arc<Mutex<Option<ManualClock>>>,
}

impl Receiver {
    fn script(&self, key: &str, answers: &[Answer]) {
        self.script
            .lock()
            .unwrap()
            .insert(key.into(), answers.iter().cloned().collect());
    }

    fn calls(&self) -> Vec<(String, u64)> {
        self.calls.lock().unwrap().clone()
    }

    fn count(&self) -> usize {
        self.calls.lock().unwrap().len()
    }

    async fn wait_calls(&self, n: usize) {
        let wait = async {
            loop {
                let notified = self.called.notified();
                if self.count() >= n {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(Duration::from_secs(30), wait)
            .await
            .unwrap_or_else(|_| panic!("{n} calls expected, got {:?}", self.calls()));
    }
}

impl Deliver for Receiver {
    fn kinds(&self) -> Vec<&'static str> {
        vec![baton_daemon::outbox::SPINNAKER_WEBHOOK]
    }

    fn deliver(
        &self,
        record: &Record,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send {
        let clock = self.clock.lock().unwrap().clone().unwrap();
        let at = (clock.now() - T0).whole_seconds() as u64;
        self.calls.lock().unwrap().push((record.key.clone(), at));
        let answer = self
            .script
            .lock()
            .unwrap()
            .get_mut(&record.key)
            .and_then(VecDeque::pop_front)
            .unwrap_or(Answer::Ok);
        self.called.notify_waiters();
        async move {
            match answer {
                Answer::Ok => Ok(Delivered {
                    response: Some(json!({"eventId": "e"})),
                }),
                Answer::Fail => Err(DeliveryError::transient("503 Service Unavailable")),
                Answer::RetryAfter(s) => Err(DeliveryError {
                    retry_after: Some(Duration::from_secs(s)),
                    throttled: true,
                    ..DeliveryError::transient("429 Too Many Requests")
                }),
                Answer::Permanent => Err(DeliveryError::permanent("400 Bad Request")),
                Answer::Hang => std::future::pending().await,
            }
        }
    }
}

fn settings(max_attempts: u32) -> WorkerSettings {
    WorkerSettings {
        policy: RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_attempts,
            give_up_after: Duration::from_secs(30 * 86_400),
            jitter: Jitter::None,
            throttle_floor: Duration::from_secs(30),
        },
        lease: Duration::from_secs(300),
        delivery_timeout: Duration::from_secs(240),
        retention: Duration::from_secs(86_400),
        idle_poll: Duration::from_secs(3600),
        drain: Duration::from_secs(5),
    }
}

fn webhook(n: &str) -> Effect {
    Effect::SpinnakerWebhook {
        source: "chart".into(),
        body: json!({"n": n}),
    }
}

fn at(secs: u64) -> OffsetDateTime {
    T0 + Duration::from_secs(secs)
}

struct Harness {
    metrics: Arc<baton_daemon::metrics::Metrics>,
    store: Store,
    outbox: Outbox,
    clock: ManualClock,
    receiver: Receiver,
    shutdown: CancellationToken,
    worker: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    async fn new() -> Self {
        let (store, dir) = common::sqlite().await;
        let (clock, hand) = Clock::manual(T0);
        let receiver = Receiver::default();
        *receiver.clock.lock().unwrap() = Some(hand.clone());
        Self {
            metrics: Default::default(),
            outbox: Outbox::new(store.clone(), clock),
            store,
            clock: hand,
            receiver,
            shutdown: CancellationToken::new(),
            worker: None,
            _dir: dir,
        }
    }

    fn start(&mut self, max_attempts: u32) {
        let worker = Worker::new(&self.outbox, self.receiver.clone(), settings(max_attempts))
            .with_metrics(self.metrics.clone());
        self.worker = Some(tokio::spawn(worker.run(self.shutdown.clone())));
    }

    async fn enqueue(&self, app: &str, key: &str) -> i64 {
        self.outbox
            .enqueue(&webhook(key), app, key, None)
            .await
            .unwrap()
            .0
            .id
    }

    async fn record(&self, id: i64) -> Record {
        self.store.record(id).await.unwrap().unwrap()
    }

    /// Lets time pass, one wake-up at a time, until the receiver saw `n` calls.
    async fn run_until_calls(&self, n: usize) {
        while self.receiver.count() < n {
            let next = self.clock.idle_deadline().await;
            if self.receiver.count() >= n {
                break;
            }
            self.clock.advance_to(next);
        }
    }

    /// Lets time pass, one wake-up at a time, up to `until`.
    async fn run_until(&self, until: OffsetDateTime) {
        loop {
            let next = self.clock.idle_deadline().await;
            if next > until {
                self.clock.advance_to(until);
                return;
            }
            self.clock.advance_to(next);
        }
    }

    async fn stop(&mut self) {
        self.shutdown.cancel();
        let worker = self.worker.take().unwrap();
        tokio::time::timeout(Duration::from_secs(30), worker)
            .await
            .expect("worker stops within 30s")
            .unwrap();
    }
}

#[tokio::test]
async fn failures_back_off_exponentially_until_delivered() {
    let mut h = Harness::new().await;
    h.receiver
        .script("k", &[Answer::Fail, Answer::Fail, Answer::Fail, Answer::Ok]);
    let id = h.enqueue("micro-gw", "k").await;
    h.start(10);
    h.run_until_calls(4).await;
    h.stop().await;
    let times: Vec<u64> = h.receiver.calls().iter().map(|c| c.1).collect();
    assert_eq!(times, [0, 1, 3, 7], "delays 1s, 2s, 4s");
    let r = h.record(id).await;
    assert_eq!((r.state, r.attempts), (State::Delivered, 4));
    assert_eq!(r.delivered_at, Some(at(7)));
    assert_eq!(r.response, Some(json!({"eventId": "e"})));
    let text = h.metrics.render(&h.store, at(8)).await.unwrap();
    let target = "target=\"spinnaker.webhook:chart:micro-gw\"";
    assert!(
        text.contains(&format!(
            "baton_deliveries_total{{{target},outcome=\"retry\"}} 3"
        )),
        "{text}"
    );
    assert!(
        text.contains(&format!(
            "baton_deliveries_total{{{target},outcome=\"delivered\"}} 1"
        )),
        "{text}"
    );
    // recorded at 0 s, delivered at 7 s: one observation of 7 s
    assert!(
        text.contains("baton_change_to_delivery_seconds_sum 7.0")
            && text.contains("baton_change_to_delivery_seconds_count 1"),
        "{text}"
    );
}

#[tokio::test]
async fn retry_after_is_honoured() {
    let mut h = Harness::new().await;
    h.receiver
        .script("k", &[Answer::RetryAfter(45), Answer::Ok]);
    h.enqueue("micro-gw", "k").await;
    h.start(10);
    h.run_until_calls(2).await;
    h.stop().await;
    assert_eq!(h.receiver.calls(), [("k".into(), 0), ("k".into(), 45)]);
}

#[tokio::test]
async fn gives_up_after_max_attempts_or_a_permanent_failure() {
    let mut h = Harness::new().await;
    h.receiver.script(
        "k",
        &[Answer::Fail, Answer::Fail, Answer::Fail, Answer::Fail],
    );
    h.receiver.script("p", &[Answer::Permanent]);
    let k = h.enqueue("a", "k").await;
    let p = h.enqueue("b", "p").await;
    h.start(3);
    h.run_until(at(7200)).await;
    h.stop().await;
    let calls = h.receiver.calls();
    assert_eq!(
        calls
            .iter()
            .filter(|c| c.0 == "k")
            .map(|c| c.1)
            .collect::<Vec<_>>(),
        [0, 1, 3]
    );
    assert_eq!(calls.iter().filter(|c| c.0 == "p").count(), 1);
    let (k, p) = (h.record(k).await, h.record(p).await);
    assert_eq!(
        (k.state, k.attempts, k.last_error.as_deref()),
        (State::Dead, 3, Some("503 Service Unavailable"))
    );
    assert_eq!(
        (p.state, p.attempts, p.last_error.as_deref()),
        (State::Dead, 1, Some("400 Bad Request"))
    );
    let text = h.metrics.render(&h.store, at(7200)).await.unwrap();
    assert!(text.contains("outcome=\"dead\"} 1"), "{text}");
    assert!(text.contains("baton_outbox_dead 2"), "{text}");
}

#[tokio::test]
async fn a_failing_head_blocks_its_target_only() {
    let mut h = Harness::new().await;
    h.receiver
        .script("a1", &[Answer::Fail, Answer::Fail, Answer::Ok]);
    h.enqueue("a", "a1").await;
    h.enqueue("a", "a2").await;
    h.enqueue("b", "b1").await;
    h.start(10);
    h.run_until_calls(5).await;
    h.stop().await;
    let calls = h.receiver.calls();
    let of = |k: &str| {
        calls
            .iter()
            .filter(|c| c.0 == k)
            .map(|c| c.1)
            .collect::<Vec<_>>()
    };
    assert_eq!(of("b1"), [0], "b is not held back by a's failures");
    assert_eq!(of("a1"), [0, 1, 3]);
    assert_eq!(of("a2"), [3], "a2 waits for a1");
    let order: Vec<&str> = calls
        .iter()
        .filter(|c| c.0.starts_with('a'))
        .map(|c| c.0.as_str())
        .collect();
    assert_eq!(order, ["a1", "a1", "a1", "a2"]);
}

#[tokio::test]
async fn a_crashed_workers_lease_expires_and_the_record_is_delivered_once_more() {
    let mut h = Harness::new().await;
    let id = h.enqueue("a", "k").await;
    // Another worker claimed it and died mid-delivery.
    assert!(h.store.claim(id, "crashed", T0, at(300)).await.unwrap());
    h.start(10);
    h.run_until_calls(1).await;
    h.stop().await;
    assert_eq!(h.receiver.calls(), [("k".into(), 300)]);
    let r = h.record(id).await;
    assert_eq!((r.state, r.attempts), (State::Delivered, 2));
}

#[tokio::test]
async fn enqueue_wakes_a_sleeping_worker_and_duplicates_are_not_sent() {
    let mut h = Harness::new().await;
    h.start(10);
    assert_eq!(
        h.clock.idle_deadline().await,
        at(3600),
        "idle until the next poll"
    );
    h.clock.advance_to(at(10));
    h.enqueue("a", "k").await;
    h.receiver.wait_calls(1).await;
    let (_, created) = h
        .outbox
        .enqueue(&webhook("k"), "a", "k", None)
        .await
        .unwrap();
    assert!(!created);
    h.run_until(at(600)).await;
    h.stop().await;
    assert_eq!(h.receiver.calls(), [("k".into(), 10)]);
}

#[tokio::test]
async fn delivered_records_are_purged_after_the_retention() {
    let mut h = Harness::new().await;
    let id = h.enqueue("a", "k").await;
    h.start(10);
    h.receiver.wait_calls(1).await;
    h.run_until(at(86_400)).await;
    assert!(
        h.store.record(id).await.unwrap().is_some(),
        "kept for a day"
    );
    h.run_until(at(86_400 + 2 * 3600)).await;
    h.stop().await;
    assert!(
        h.store.record(id).await.unwrap().is_none(),
        "purged after the retention"
    );
}

#[tokio::test]
async fn shutdown_releases_a_hung_delivery_after_the_drain_deadline() {
    let mut h = Harness::new().await;
    h.receiver.script("k", &[Answer::Hang]);
    let id = h.enqueue("a", "k").await;
    h.start(10);
    h.receiver.wait_calls(1).await;
    h.shutdown.cancel();
    // The hung delivery's own cutoff (240s) sleeps too; wait for the drain deadline to appear.
    let give_up = std::time::Instant::now() + Duration::from_secs(30);
    while h.clock.idle_deadline().await != at(5) {
        assert!(
            std::time::Instant::now() < give_up,
            "the worker never started draining"
        );
    }
    h.clock.advance_to(at(5));
    h.stop().await;
    let r = h.record(id).await;
    assert_eq!(
        (r.state, r.lease_until, r.attempts),
        (State::Pending, None, 1)
    );
}

#[tokio::test]
async fn records_of_kinds_without_a_deliverer_stay_pending() {
    let mut h = Harness::new().await;
    let job = Effect::JenkinsBuild {
        job: "f/j".into(),
        params: Default::default(),
    };
    let (r, _) = h.outbox.enqueue(&job, "a", "j", None).await.unwrap();
    h.enqueue("a", "k").await;
    h.start(10);
    h.receiver.wait_calls(1).await;
    h.stop().await;
    assert_eq!(h.receiver.calls(), [("k".into(), 0)]);
    assert_eq!(h.record(r.id).await.state, State::Pending);
}
