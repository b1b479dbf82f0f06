//! The delivery loop. Each turn it reads the head (oldest pending record) of every target,
//! leases the due ones and delivers them concurrently — one at a time per target, so a failing
//! head holds back its own target only. Outcomes go through the retry policy.
//!
//! Outcomes (delivered, waiting, retry, dead, with their metrics and the `delivery_dead`
//! notice) are recorded in `outcome`.
//!
//! A claim is a short lease (default 10 s) that the loop renews every third of it while the
//! delivery runs, so a crashed worker's record is due again within one lease, on whichever
//! replica looks first ("at most one duplicate per crash"). A worker that fails to renew (its
//! lease ran out during a stall and another worker claimed the record) aborts the delivery and
//! records no outcome.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::{AbortHandle, JoinSet};
use tokio_util::sync::CancellationToken;

use super::policy::RetryPolicy;
use super::{Deliver, DeliveryError, Outbox};
use crate::clock::Clock;
use crate::store::Store;
use crate::store::outbox::Record;
use baton_core::config::model::OutboxSettings;

mod outcome;

use outcome::Outcome;

/// Worker settings.
#[derive(Debug, Clone)]
pub struct WorkerSettings {
    /// Retry schedule.
    pub policy: RetryPolicy,
    /// How long a claim holds a record without renewal; renewed every third of it.
    pub lease: Duration,
    /// A delivery is cut off after this long (the lease is renewed meanwhile).
    pub delivery_timeout: Duration,
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
            delivery_timeout: DELIVERY_TIMEOUT,
            retention: s.retention,
            idle_poll: Duration::from_secs(5),
            drain: Duration::from_secs(20),
        }
    }
}

/// Longest single delivery attempt by default.
pub const DELIVERY_TIMEOUT: Duration = Duration::from_secs(30);

/// The cluster-wide lease that makes retention run once an hour across replicas.
const RETENTION_LEASE: &str = "job:retention";

/// Delivers outbox records with `D`.
pub struct Worker<D> {
    store: Store,
    deliver: Arc<D>,
    settings: WorkerSettings,
    clock: Clock,
    wake: Arc<Notify>,
    owner: String,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    notifier: Option<super::notify::Notifier>,
}

type Running = HashMap<tokio::task::Id, (Record, AbortHandle)>;

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
            notifier: None,
        }
    }

    /// Raises a `delivery_dead` notice when a record (other than a notification) goes dead.
    pub fn with_notifier(mut self, notifier: super::notify::Notifier) -> Self {
        self.notifier = Some(notifier);
        self
    }

    /// Counts delivery outcomes in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// Claims records as `owner` (the replica id) instead of a random id.
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
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
        let cutoff = self.settings.delivery_timeout;
        let renew_every = self.settings.lease / 3;
        let mut renew_at = self.clock.now() + renew_every;
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
            if now >= renew_at {
                renew_at = now + renew_every;
                self.renew(&running, now).await;
            }
            if !running.is_empty() {
                wake_at = wake_at.min(renew_at);
            }
            match self.store.pending_heads(&kinds).await {
                Ok(heads) => {
                    store_failures = 0;
                    let busy: HashSet<String> =
                        running.values().map(|(r, _)| r.target.clone()).collect();
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
                                running.insert(task.id(), (head, task));
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
        for (_, (record, _)) in running.drain() {
            tracing::warn!(record = record.id, target = %record.target, "delivery still running at the drain deadline; releasing it");
            if let Err(e) = self.store.release(record.id, &self.owner).await {
                tracing::warn!(record = record.id, error = %e, "release failed; the lease will expire");
            }
        }
    }

    /// Renews the leases of the running deliveries; aborts those whose lease was lost (they
    /// record nothing: the new holder delivers). A store error renews nothing and aborts
    /// nothing: the outcome write checks the lease anyway.
    async fn renew(&self, running: &Running, now: OffsetDateTime) {
        if running.is_empty() {
            return;
        }
        let ids: Vec<i64> = running.values().map(|(r, _)| r.id).collect();
        match self
            .store
            .renew_records(&ids, &self.owner, now + self.settings.lease)
            .await
        {
            Ok(held) => {
                for (record, task) in running.values() {
                    if !held.contains(&record.id) {
                        tracing::warn!(record = record.id, target = %record.target, "lease lost (another worker holds the record); stopping this delivery");
                        task.abort();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew delivery leases"),
        }
    }

    async fn purge(&self, now: OffsetDateTime) {
        // Once an hour across all replicas: whoever takes the hour's lease purges.
        match self
            .store
            .try_lease(
                RETENTION_LEASE,
                &self.owner,
                now,
                now + Duration::from_secs(3600),
            )
            .await
        {
            Ok(true) => {}
            Ok(false) => return,
            Err(e) => {
                tracing::warn!(error = %e, "outbox retention skipped: the store is unreachable");
                return;
            }
        }
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
}
