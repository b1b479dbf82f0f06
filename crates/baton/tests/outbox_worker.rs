//! The delivery loop under tokio's paused clock, against a real SQLite store. The receiver is a
//! test double of the network side: it records when it was called and answers from a script.

mod common;

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton::clock::Clock;
use baton::config::model::Jitter;
use baton::outbox::policy::RetryPolicy;
use baton::outbox::worker::{Worker, WorkerSettings};
use baton::outbox::{Deliver, Delivered, DeliveryError, Effect, Outbox};
use baton::store::outbox::{Record, State};
use baton::store::{PoolSettings, Store};
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
    clock: Arc<Mutex<Option<Clock>>>,
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

    async fn wait_calls(&self, n: usize) {
        loop {
            let notified = self.called.notified();
            if self.calls.lock().unwrap().len() >= n {
                return;
            }
            notified.await;
        }
    }
}

impl Deliver for Receiver {
    fn kinds(&self) -> Vec<&'static str> {
        vec![baton::outbox::SPINNAKER_WEBHOOK]
    }

    fn deliver(
        &self,
        record: &Record,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send {
        let clock = self.clock.lock().unwrap().unwrap();
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
            jitter: Jitter::None,
            throttle_floor: Duration::from_secs(30),
        },
        lease: Duration::from_secs(300),
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

struct Harness {
    store: Store,
    outbox: Outbox,
    receiver: Receiver,
    shutdown: CancellationToken,
    worker: Option<tokio::task::JoinHandle<()>>,
    _dir: tempfile::TempDir,
}

impl Harness {
    /// Opens the store with real time (connections are made before the clock stops), then
    /// pauses tokio's clock at T0.
    async fn new() -> Self {
        let settings = PoolSettings {
            max_connections: 4,
            min_connections: 4,
            acquire_timeout: Duration::from_secs(30),
            idle_timeout: None,
        };
        let (store, dir) = common::sqlite_with(settings).await;
        let deadline = std::time::Instant::now() + Duration::from_secs(10);
        while store.open_connections() < 4 {
            assert!(
                std::time::Instant::now() < deadline,
                "pool did not open its connections"
            );
            tokio::task::yield_now().await;
            std::thread::sleep(Duration::from_millis(5));
        }
        tokio::time::pause();
        let clock = Clock::starting_at(T0);
        let receiver = Receiver::default();
        *receiver.clock.lock().unwrap() = Some(clock);
        Self {
            outbox: Outbox::new(store.clone(), clock),
            store,
            receiver,
            shutdown: CancellationToken::new(),
            worker: None,
            _dir: dir,
        }
    }

    fn start(&mut self, max_attempts: u32) {
        let worker = Worker::new(&self.outbox, self.receiver.clone(), settings(max_attempts));
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

    async fn stop(&mut self) {
        self.shutdown.cancel();
        self.worker.take().unwrap().await.unwrap();
    }
}

/// Runs `body` on its own paused-clock runtime with a real-time bound, so a hang fails the test.
fn run<F, Fut>(body: F)
where
    F: FnOnce() -> Fut + Send + 'static,
    Fut: Future<Output = ()>,
{
    let (tx, rx) = std::sync::mpsc::channel();
    let handle = std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(body());
        let _ = tx.send(());
    });
    match rx.recv_timeout(Duration::from_secs(60)) {
        Ok(()) => handle.join().unwrap(),
        Err(std::sync::mpsc::RecvTimeoutError::Disconnected) => {
            std::panic::resume_unwind(handle.join().unwrap_err())
        }
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("worker test did not finish within 60s of real time")
        }
    }
}

/// Runs a store call from the test while the worker sleeps. The paused clock jumps to the next
/// timer whenever the runtime idles, and it idles while SQLite works on its own thread; keeping
/// the runtime busy meanwhile stops the clock from jumping to the worker's wake-up.
async fn busy<F: Future>(f: F) -> F::Output {
    let stop = Arc::new(std::sync::atomic::AtomicBool::new(false));
    let flag = stop.clone();
    let spinner = tokio::spawn(async move {
        while !flag.load(std::sync::atomic::Ordering::Relaxed) {
            tokio::task::yield_now().await;
        }
    });
    let out = f.await;
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    spinner.await.unwrap();
    out
}

#[test]
fn failures_back_off_exponentially_until_delivered() {
    run(|| async {
        let mut h = Harness::new().await;
        h.receiver
            .script("k", &[Answer::Fail, Answer::Fail, Answer::Fail, Answer::Ok]);
        let id = h.enqueue("micro-gw", "k").await;
        h.start(10);
        h.receiver.wait_calls(4).await;
        h.stop().await;
        let times: Vec<u64> = h.receiver.calls().iter().map(|c| c.1).collect();
        assert_eq!(times, [0, 1, 3, 7], "delays 1s, 2s, 4s");
        let r = h.record(id).await;
        assert_eq!((r.state, r.attempts), (State::Delivered, 4));
        // tokio's timer rounds each sleep up to the next millisecond.
        let late = r.delivered_at.unwrap() - (T0 + Duration::from_secs(7));
        assert!(
            late >= time::Duration::ZERO && late < time::Duration::milliseconds(50),
            "{late}"
        );
        assert_eq!(r.response, Some(json!({"eventId": "e"})));
    });
}

#[test]
fn retry_after_is_honoured() {
    run(|| async {
        let mut h = Harness::new().await;
        h.receiver
            .script("k", &[Answer::RetryAfter(45), Answer::Ok]);
        h.enqueue("micro-gw", "k").await;
        h.start(10);
        h.receiver.wait_calls(2).await;
        h.stop().await;
        assert_eq!(h.receiver.calls(), [("k".into(), 0), ("k".into(), 45)]);
    });
}

#[test]
fn gives_up_after_max_attempts_or_a_permanent_failure() {
    run(|| async {
        let mut h = Harness::new().await;
        h.receiver.script(
            "k",
            &[Answer::Fail, Answer::Fail, Answer::Fail, Answer::Fail],
        );
        h.receiver.script("p", &[Answer::Permanent]);
        let k = h.enqueue("a", "k").await;
        let p = h.enqueue("b", "p").await;
        h.start(3);
        h.receiver.wait_calls(4).await;
        tokio::time::sleep(Duration::from_secs(3600)).await;
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
    });
}

#[test]
fn a_failing_head_blocks_its_target_only() {
    run(|| async {
        let mut h = Harness::new().await;
        h.receiver
            .script("a1", &[Answer::Fail, Answer::Fail, Answer::Ok]);
        h.enqueue("a", "a1").await;
        h.enqueue("a", "a2").await;
        h.enqueue("b", "b1").await;
        h.start(10);
        h.receiver.wait_calls(5).await;
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
    });
}

#[test]
fn a_crashed_workers_lease_expires_and_the_record_is_delivered_once_more() {
    run(|| async {
        let mut h = Harness::new().await;
        let id = h.enqueue("a", "k").await;
        // Another worker claimed it and died mid-delivery.
        assert!(
            h.store
                .claim(id, "crashed", T0, T0 + Duration::from_secs(300))
                .await
                .unwrap()
        );
        h.start(10);
        h.receiver.wait_calls(1).await;
        h.stop().await;
        assert_eq!(h.receiver.calls(), [("k".into(), 300)]);
        let r = h.record(id).await;
        assert_eq!((r.state, r.attempts), (State::Delivered, 2));
    });
}

#[test]
fn enqueue_wakes_a_sleeping_worker_and_duplicates_are_not_sent() {
    run(|| async {
        let mut h = Harness::new().await;
        h.start(10);
        tokio::time::sleep(Duration::from_secs(10)).await;
        busy(h.enqueue("a", "k")).await;
        h.receiver.wait_calls(1).await;
        let (_, created) = h
            .outbox
            .enqueue(&webhook("k"), "a", "k", None)
            .await
            .unwrap();
        assert!(!created);
        tokio::time::sleep(Duration::from_secs(60)).await;
        h.stop().await;
        assert_eq!(h.receiver.calls(), [("k".into(), 10)]);
    });
}

#[test]
fn shutdown_releases_a_hung_delivery_after_the_drain_deadline() {
    run(|| async {
        let mut h = Harness::new().await;
        h.receiver.script("k", &[Answer::Hang]);
        h.start(10);
        tokio::time::sleep(Duration::from_secs(1)).await;
        let id = busy(h.enqueue("a", "k")).await;
        h.receiver.wait_calls(1).await;
        let before = tokio::time::Instant::now();
        h.stop().await;
        let waited = before.elapsed();
        assert!(
            waited >= Duration::from_secs(5) && waited < Duration::from_millis(5050),
            "waited the drain deadline, not {waited:?}"
        );
        let r = h.record(id).await;
        assert_eq!(
            (r.state, r.lease_until, r.attempts),
            (State::Pending, None, 1)
        );
    });
}

#[test]
fn records_of_kinds_without_a_deliverer_stay_pending() {
    run(|| async {
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
    });
}
