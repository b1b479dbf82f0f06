//! Measures the outbox: sequential enqueue rate and delivery rate of one worker with an instant
//! receiver, on SQLite (a temp file) or on the PostgreSQL URL given as the first argument
//! (e.g. the rig's: `scripts/rig up`, then `scripts/rig env` prints RIG_POSTGRES_URL; use a
//! fresh database).
//!
//! `cargo run -p baton --example outbox_throughput [-- postgres://... [RECORDS [TARGETS]]]`

use std::future::Future;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use baton_core::config::model::OutboxSettings;
use baton_daemon::clock::Clock;
use baton_daemon::outbox::worker::{Worker, WorkerSettings};
use baton_daemon::outbox::{Deliver, Delivered, DeliveryError, Effect, Outbox};
use baton_daemon::store::Store;
use baton_daemon::store::outbox::Record;
use tokio_util::sync::CancellationToken;

struct Instant0(Arc<AtomicUsize>);

impl Deliver for Instant0 {
    fn kinds(&self) -> Vec<&'static str> {
        vec![baton_daemon::outbox::SPINNAKER_WEBHOOK]
    }

    fn deliver(&self, _: &Record) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send {
        self.0.fetch_add(1, Ordering::Relaxed);
        async { Ok(Delivered::default()) }
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let dir = tempfile::tempdir()?;
    let url = match args.first() {
        Some(u) if u != "sqlite" => u.clone(),
        _ => format!("sqlite://{}", dir.path().join("bench.db").display()),
    };
    let n: usize = args.get(1).map(|s| s.parse()).transpose()?.unwrap_or(2000);
    let targets: usize = args.get(2).map(|s| s.parse()).transpose()?.unwrap_or(10);
    let store = Store::open(&url).await?;
    let outbox = Outbox::new(store.clone(), Clock::system());
    let body = serde_json::json!({"application": "bench", "artifacts": [{"type": "docker/image"}]});

    let started = Instant::now();
    for i in 0..n {
        let effect = Effect::SpinnakerWebhook {
            source: "image".into(),
            body: body.clone(),
        };
        outbox
            .enqueue(
                &effect,
                &format!("app{}", i % targets),
                &format!("bench-{i}"),
                None,
            )
            .await?;
    }
    let enqueue = started.elapsed();

    let delivered = Arc::new(AtomicUsize::new(0));
    let shutdown = CancellationToken::new();
    let settings = WorkerSettings::from(&OutboxSettings::default());
    let worker = Worker::new(&outbox, Instant0(delivered.clone()), settings);
    let started = Instant::now();
    let task = tokio::spawn(worker.run(shutdown.clone()));
    while store.outbox_counts().await?.delivered < n as u64 {
        anyhow::ensure!(
            started.elapsed() < Duration::from_secs(600),
            "not delivered within 10 min"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let deliver = started.elapsed();
    shutdown.cancel();
    task.await?;

    println!(
        "backend: {:?}, records: {n}, targets: {targets}",
        store.backend()
    );
    println!(
        "enqueue: {:.0} records/s ({:?} total)",
        n as f64 / enqueue.as_secs_f64(),
        enqueue
    );
    println!(
        "deliver: {:.0} records/s ({:?} total, {} receiver calls)",
        n as f64 / deliver.as_secs_f64(),
        deliver,
        delivered.load(Ordering::Relaxed)
    );
    Ok(())
}
