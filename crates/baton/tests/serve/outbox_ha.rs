//! Two workers on one store (two daemons on one PostgreSQL, or one SQLite file): every record is
//! delivered exactly once and in order within its target. Real time, bounded waits.

use baton_harness::on_both_backends;

use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use baton_core::config::model::OutboxSettings;
use baton_daemon::clock::Clock;
use baton_daemon::outbox::worker::{Worker, WorkerSettings};
use baton_daemon::outbox::{Deliver, Delivered, DeliveryError, Effect, Outbox};
use baton_daemon::store::Store;
use serde_json::json;
use tokio_util::sync::CancellationToken;

/// (target, record id, worker name) per delivery.
type Calls = Arc<Mutex<Vec<(String, i64, &'static str)>>>;

#[derive(Clone, Default)]
struct Receiver {
    calls: Calls,
    name: &'static str,
}

impl Deliver for Receiver {
    fn kinds(&self) -> Vec<&'static str> {
        vec![baton_daemon::outbox::SPINNAKER_WEBHOOK]
    }

    fn deliver(
        &self,
        record: &baton_daemon::store::outbox::Record,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send {
        let calls = self.calls.clone();
        let entry = (record.target.clone(), record.id, self.name);
        async move {
            // A little network time, so the two workers overlap.
            tokio::time::sleep(Duration::from_millis(2)).await;
            calls.lock().unwrap().push(entry);
            Ok(Delivered::default())
        }
    }
}

on_both_backends!(two_workers_deliver_each_record_once_in_target_order);

async fn two_workers_deliver_each_record_once_in_target_order(store: Store) {
    let clock = Clock::system();
    let mut settings = WorkerSettings::from(&OutboxSettings::default());
    settings.idle_poll = Duration::from_millis(20);
    let calls = Arc::new(Mutex::new(Vec::new()));
    let shutdown = CancellationToken::new();
    let mut workers = Vec::new();
    for name in ["a", "b"] {
        let outbox = Outbox::new(store.clone(), clock.clone());
        let receiver = Receiver {
            calls: calls.clone(),
            name,
        };
        let worker = Worker::new(&outbox, receiver, settings.clone());
        workers.push(tokio::spawn(worker.run(shutdown.clone())));
    }
    let producer = Outbox::new(store.clone(), clock.clone());
    let mut ids = Vec::new();
    for i in 0..60 {
        let app = format!("app{}", i % 5);
        let effect = Effect::SpinnakerWebhook {
            source: "chart".into(),
            body: json!({"i": i}),
        };
        ids.push(
            producer
                .enqueue(&effect, &app, &format!("k{i}"), None)
                .await
                .unwrap()
                .0
                .id,
        );
    }
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let c = store.outbox_counts().await.unwrap();
        if c.delivered == 60 {
            break;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "only {} of 60 delivered: {c:?}",
            c.delivered
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    shutdown.cancel();
    for w in workers {
        w.await.unwrap();
    }
    let calls = calls.lock().unwrap().clone();
    let mut seen: Vec<i64> = calls.iter().map(|c| c.1).collect();
    seen.sort();
    assert_eq!(seen, ids, "each record delivered exactly once");
    for t in 0..5 {
        let target = format!("spinnaker.webhook:chart:app{t}");
        let order: Vec<i64> = calls
            .iter()
            .filter(|c| c.0 == target)
            .map(|c| c.1)
            .collect();
        let mut sorted = order.clone();
        sorted.sort();
        assert_eq!(order, sorted, "{target} delivered out of order");
    }
    let by_a = calls.iter().filter(|c| c.2 == "a").count();
    eprintln!("worker a delivered {by_a}, worker b {}", calls.len() - by_a);
}
