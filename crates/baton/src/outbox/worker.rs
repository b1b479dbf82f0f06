//! The delivery loop. Each turn it reads the head (oldest pending record) of every target,
//! leases the due ones and delivers them concurrently — one at a time per target, so a failing
//! head holds back its own target only. Outcomes go through the retry policy; a lease that
//! outlives a crashed worker makes the record due again ("at most one duplicate per crash").

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::SeedableRng;
use rand::rngs::StdRng;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::policy::{Failure, RetryPolicy, next_delay};
use super::{Deliver, DeliveryError, Outbox};
use crate::clock::Clock;
use crate::config::model::OutboxSettings;
use crate::store::Store;
use crate::store::outbox::Record;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Retry schedule.
    pub policy: RetryPolicy,
    /// How long a claim holds a record; a delivery is cut off before it runs out.
    pub lease: Duration,
    /// How long delivered records are kept.
    pub retention: Duration,
    /// Longest sleep between looks at the store (other daemons may enqueue).
    pub idle_poll: Duration,
    /// How long shutdown waits for in-flight deliveries before releasing them.
    pub drain: Duration,
}

impl From<&OutboxSettings> for WorkerSettings {
    fn from(s: &OutboxSettings) -> Self {
        Self {
            policy: RetryPolicy::from(s),
            lease: s.lease,
            retention: s.retention,
            idle_poll: Duration::from_secs(5),
            drain: Duration::from_secs(20),
        }
    }
}

/// Delivers outbox records with `D`.
pub struct Worker<D> {
    store: Store,
    deliver: Arc<D>,
    settings: WorkerSettings,
    clock: Clock,
    wake: Arc<Notify>,
    owner: String,
    metrics: Option<Arc<crate::metrics::Metrics>>,
}

/// What one delivery task hands back to the loop, which records it.
struct Outcome {
    record: Record,
    result: Result<super::Delivered, DeliveryError>,
}

type Running = HashMap<tokio::task::Id, Record>;

impl<D: Deliver> Worker<D> {
    /// A worker for `outbox` (sharing its wake-up signal) delivering with `deliver`.
    pub fn new(outbox: &Outbox, deliver: D, settings: WorkerSettings) -> Self {
        Self {
            store: outbox.store().clone(),
            deliver: Arc::new(deliver),
            settings,
            clock: outbox.clock(),
            wake: outbox.notifier(),
            owner: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            metrics: None,
        }
    }

    /// Counts delivery outcomes in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// This worker's lease owner id.
    pub fn owner(&self) -> &str {
        &self.owner
    }

    /// Runs until `shutdown`; then stops claiming, waits up to the drain deadline for
    /// in-flight deliveries, records their outcomes and releases the leases of those still
    /// running (they will be delivered again: at most one duplicate).
    ///
    /// Outbox writes (claims, outcomes) happen in this loop; delivery tasks talk to the
    /// receiver and may record correlation ids on the record's event.
    pub async fn run(self, shutdown: CancellationToken) {
        let kinds = self.deliver.kinds();
        let cutoff = self.settings.lease.mul_f64(0.8);
        let mut inflight: JoinSet<Outcome> = JoinSet::new();
        let mut running: Running = HashMap::new();
        let mut next_purge = self.clock.now();
        let mut store_failures = 0u32;
        tracing::info!(owner = %self.owner, ?kinds, "outbox worker started");

        while !shutdown.is_cancelled() {
            let now = self.clock.now();
            let mut wake_at = now + self.settings.idle_poll;
            if now >= next_purge {
                next_purge = now + Duration::from_secs(3600);
                self.purge(now).await;
            }
            match self.store.pending_heads(&kinds).await {
                Ok(heads) => {
                    store_failures = 0;
                    let busy: HashSet<String> =
                        running.values().map(|r| r.target.clone()).collect();
                    for head in heads {
                        if busy.contains(&head.target) {
                            continue;
                        }
                        let due = head
                            .lease_until
                            .map_or(head.next_attempt_at, |l| l.max(head.next_attempt_at));
                        if due > now {
                            wake_at = wake_at.min(due);
                            continue;
                        }
                        let until = now + self.settings.lease;
                        match self.store.claim(head.id, &self.owner, now, until).await {
                            Ok(true) => {
                                let deliver = self.deliver.clone();
                                let record = head.clone();
                                let clock = self.clock.clone();
                                let task = inflight.spawn(async move {
                                    let result =
                                        match clock.timeout(cutoff, deliver.deliver(&record)).await
                                        {
                                            Ok(r) => r,
                                            Err(_) => Err(DeliveryError::transient(format!(
                                                "no answer within {}",
                                                humantime::format_duration(cutoff)
                                            ))),
                                        };
                                    Outcome { record, result }
                                });
                                running.insert(task.id(), head);
                            }
                            Ok(false) => {}
                            Err(e) => tracing::warn!(record = head.id, error = %e, "claim failed"),
                        }
                    }
                }
                Err(e) => {
                    store_failures += 1;
                    let cap = Duration::from_secs(1 << store_failures.min(5));
                    let back = cap / 2 + (cap / 2).mul_f64(rand::random::<f64>());
                    tracing::warn!(error = %e, retry_in = ?back, "outbox worker cannot read the store");
                    wake_at = now + back;
                }
            }

            let sleep = self.clock.sleep_until(wake_at);
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = self.wake.notified() => {}
                Some(done) = inflight.join_next_with_id(), if !inflight.is_empty() => {
                    self.finish(done, &mut running).await;
                }
                _ = sleep => {}
            }
            while let Some(done) = inflight.try_join_next_with_id() {
                self.finish(done, &mut running).await;
            }
        }
        self.drain(inflight, running).await;
        tracing::info!("outbox worker stopped");
    }

    async fn drain(&self, mut inflight: JoinSet<Outcome>, mut running: Running) {
        if inflight.is_empty() {
            return;
        }
        tracing::info!(in_flight = inflight.len(), "outbox worker draining");
        let mut done = Vec::new();
        let _ = self
            .clock
            .timeout(self.settings.drain, async {
                while let Some(d) = inflight.join_next_with_id().await {
                    done.push(d);
                }
            })
            .await;
        for d in done {
            self.finish(d, &mut running).await;
        }
        inflight.abort_all();
        for (_, record) in running.drain() {
            tracing::warn!(record = record.id, target = %record.target, "delivery still running at the drain deadline; releasing it");
            if let Err(e) = self.store.release(record.id, &self.owner).await {
                tracing::warn!(record = record.id, error = %e, "release failed; the lease will expire");
            }
        }
    }

    async fn purge(&self, now: OffsetDateTime) {
        match self
            .store
            .purge_delivered(now - self.settings.retention)
            .await
        {
            Ok(0) => {}
            Ok(n) => tracing::info!(
                removed = n,
                "purged delivered outbox records past retention"
            ),
            Err(e) => tracing::warn!(error = %e, "outbox retention purge failed"),
        }
    }

    fn count(&self, target: &str, outcome: &str) {
        if let Some(m) = &self.metrics {
            m.delivery(target, outcome);
        }
    }

    /// Records the outcome of a finished delivery task.
    async fn finish(
        &self,
        done: Result<(tokio::task::Id, Outcome), tokio::task::JoinError>,
        running: &mut Running,
    ) {
        let (record, result) = match done {
            Ok((id, outcome)) => {
                running.remove(&id);
                (outcome.record, outcome.result)
            }
            Err(e) => {
                let Some(record) = running.remove(&e.id()) else {
                    return;
                };
                let message = if e.is_panic() {
                    "the deliverer panicked"
                } else {
                    "delivery was cancelled"
                };
                (record, Err(DeliveryError::transient(message)))
            }
        };
        let attempt_no = record.attempts + 1;
        let now = self.clock.now();
        let recorded = match result {
            Ok(delivered) => {
                self.count(&record.target, "delivered");
                if let Some(m) = &self.metrics {
                    m.change_delivered((now - record.created_at).as_seconds_f64());
                }
                tracing::info!(record = record.id, target = %record.target, attempt = attempt_no, "delivered");
                self.store
                    .mark_delivered(record.id, &self.owner, now, delivered.response.as_ref())
                    .await
            }
            Err(e) => {
                let retry_at = retry_at(&self.settings.policy, attempt_no, &e, now);
                self.count(
                    &record.target,
                    if retry_at.is_some() { "retry" } else { "dead" },
                );
                match retry_at {
                    Some(at) => {
                        tracing::warn!(record = record.id, target = %record.target, attempt = attempt_no, error = %e.message, retry_at = %at, "delivery failed; will retry")
                    }
                    None => {
                        tracing::error!(record = record.id, target = %record.target, attempt = attempt_no, error = %e.message, "delivery failed; record is dead")
                    }
                }
                self.store
                    .mark_failed(record.id, &self.owner, &e.message, retry_at)
                    .await
            }
        };
        match recorded {
            Ok(true) => {}
            Ok(false) => tracing::warn!(
                record = record.id,
                "lease was lost before the outcome was recorded"
            ),
            Err(e) => {
                tracing::error!(record = record.id, error = %e, "cannot record the delivery outcome; the lease will expire and it will be retried")
            }
        }
    }
}

/// When to try again after attempt `attempt_no` failed with `e`, or `None` to give up.
fn retry_at(
    policy: &RetryPolicy,
    attempt_no: u32,
    e: &DeliveryError,
    now: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if e.permanent || attempt_no >= policy.max_attempts {
        return None;
    }
    let mut rng = StdRng::from_os_rng();
    let failure = Failure {
        retry_after: e.retry_after,
        throttled: e.throttled,
    };
    Some(now + next_delay(attempt_no, failure, policy, &mut rng))
}
