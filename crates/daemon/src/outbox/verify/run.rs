//! The verifier: follows each pending verification through Gate
//! (`executions/search?eventId=`) until every expected pipeline started (`verified`) or the
//! deadline passed (`unmatched`: noted on the event in the same transaction as the outcome,
//! counted in `baton_verifications_total`, notified as `event_unmatched`). Each verification is
//! one replica's: [`LeasedWork`] holds the lease `verify:<event>` while it is followed, renews it
//! every third of the lease, stops a follow whose lease was lost before it records anything,
//! and gives the leases back at shutdown.

use std::collections::BTreeSet;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use spinnaker_client::Client;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::GATE_GRACE;
use crate::outbox::leased::{LeasedWork, Leases};
use crate::outbox::notify::{Notice, Notifier};
use crate::store::Store;
use crate::store::verify::Verification;

/// The lease of each verification: `verify:<event>`.
const LEASES: Leases = Leases {
    prefix: "verify:",
    what: "verification",
};

/// How often the store is read again for verifications recorded by other replicas.
const RESCAN: Duration = Duration::from_secs(5);

/// Follows pending verifications to `verified` or `unmatched`.
pub struct Verifier {
    gate: Client,
    store: Store,
    wake: Arc<Notify>,
    owner: String,
    lease: Duration,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    notifier: Option<Notifier>,
}

/// What one look at Gate found.
enum Look {
    Verified(Vec<(String, String, String)>),
    Missing(Vec<String>),
    GateFailed(String),
}

impl Verifier {
    /// A verifier asking `gate`, with the store's work, woken by `wake`
    /// ([`super::DeliveryChecks::from_config`]'s signal).
    pub fn new(gate: Client, store: Store, wake: Arc<Notify>) -> Self {
        Self {
            gate,
            store,
            wake,
            owner: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
            lease: Duration::from_secs(10),
            metrics: None,
            notifier: None,
        }
    }

    /// Leases verifications as `owner` (the replica id).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Counts outcomes in `baton_verifications_total`.
    pub fn with_metrics(mut self, m: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(m);
        self
    }

    /// Notifies `event_unmatched`.
    pub fn with_notifier(mut self, n: Notifier) -> Self {
        self.notifier = Some(n);
        self
    }

    async fn look(&self, v: &Verification) -> Look {
        match self
            .gate
            .find_executions_by_event(&v.application, &v.echo_event_id)
            .await
        {
            Ok(found) => {
                let started: BTreeSet<&str> =
                    found.iter().filter_map(|x| x.name.as_deref()).collect();
                let missing: Vec<String> = v
                    .expected
                    .iter()
                    .filter(|p| !started.contains(p.as_str()))
                    .cloned()
                    .collect();
                if !missing.is_empty() {
                    return Look::Missing(missing);
                }
                let ids = found
                    .iter()
                    .map(|x| {
                        let name = x.name.clone().unwrap_or_default();
                        (name, x.id.clone(), x.status.to_string())
                    })
                    .collect();
                Look::Verified(ids)
            }
            Err(e) => Look::GateFailed(baton_http::chain(&e)),
        }
    }

    /// Follows `v` until it is settled, the lease is lost or `stop`.
    async fn follow(&self, v: Verification, stop: &CancellationToken) {
        let mut interval = Duration::from_secs(1);
        loop {
            let now = OffsetDateTime::now_utc();
            match self.look(&v).await {
                Look::Verified(ids) => return self.verified(&v, &ids).await,
                Look::Missing(missing) if now >= v.deadline => {
                    return self.unmatched(&v, &missing).await;
                }
                Look::GateFailed(e) if now >= v.deadline + GATE_GRACE => {
                    let why = format!("Gate could not be asked: {e}");
                    return self.settle(&v, "unverified", Some(&why), &why).await;
                }
                Look::GateFailed(e) => {
                    tracing::warn!(event = %v.event_id, error = %e, "cannot look up the executions of a delivered event; retrying")
                }
                Look::Missing(_) => {}
            }
            let left = (v.deadline - OffsetDateTime::now_utc())
                .try_into()
                .unwrap_or(Duration::ZERO);
            let sleep = interval
                .mul_f64(rand::rng().random_range(0.9..1.1))
                .min(left.max(Duration::from_millis(200)));
            interval = interval.mul_f64(1.5).min(Duration::from_secs(10));
            tokio::select! {
                _ = stop.cancelled() => return,
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    async fn verified(&self, v: &Verification, ids: &[(String, String, String)]) {
        let list: Vec<String> = ids
            .iter()
            .map(|(name, id, status)| format!("{name} {id} ({status})"))
            .collect();
        let note = format!("verified: {} started", list.join(", "));
        if let Some((_, id, status)) = ids.iter().find(|(n, _, _)| v.expected.contains(n)) {
            let c = crate::store::events::Correlation {
                execution_id: Some(id.clone()),
                execution_status: Some(status.clone()),
                ..Default::default()
            };
            if let Err(e) = self.store.correlate(&v.event_id, &c).await {
                tracing::warn!(event = %v.event_id, error = %e, "cannot record the execution on the event");
            }
        }
        self.settle(v, "verified", None, &note).await;
    }

    async fn unmatched(&self, v: &Verification, missing: &[String]) {
        let missing_list = missing.join(", ");
        let note = format!(
            "unmatched: {missing_list} did not start by {} (Echo event {}); see `baton explain {}`",
            v.deadline, v.echo_event_id, v.application
        );
        if let Some(n) = &self.notifier {
            n.send(&Notice {
                kind: "event_unmatched".into(),
                product: v.application.clone(),
                event: Some(v.event_id.clone()),
                subject: v.event_id.clone(),
                summary: format!("event {} started no {missing_list}", v.event_id),
                fields: [
                    ("missing".to_owned(), missing_list.clone()),
                    ("echo_event".to_owned(), v.echo_event_id.clone()),
                    (
                        "explain".to_owned(),
                        format!("baton explain {}", v.application),
                    ),
                ]
                .into(),
            })
            .await;
        }
        self.settle(v, "unmatched", Some(&missing_list), &note)
            .await;
    }

    /// Records the outcome with its note on the event (one transaction, so the event never
    /// shows the outcome without the note), then counts it.
    async fn settle(&self, v: &Verification, state: &str, missing: Option<&str>, note: &str) {
        let now = OffsetDateTime::now_utc();
        match self
            .store
            .finish_verification(&v.event_id, state, missing, note, now)
            .await
        {
            Ok(true) => {
                if state == "verified" {
                    tracing::info!(event = %v.event_id, "{note}");
                } else {
                    tracing::warn!(event = %v.event_id, "{note}");
                }
                if let Some(m) = &self.metrics {
                    m.verification(&v.application, state);
                }
            }
            Ok(false) => {}
            Err(e) => {
                tracing::warn!(event = %v.event_id, error = %e, "cannot record the verification; it is checked again")
            }
        }
    }

    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let leased = LeasedWork::new(this.store.clone(), &this.owner, LEASES, this.lease);
        let pending = |store: Store| async move { store.pending_verifications(200).await };
        let work = |v: Verification, stop: CancellationToken| {
            let me = this.clone();
            async move { me.follow(v, &stop).await }
        };
        leased
            .run(RESCAN, this.wake.clone(), pending, work, shutdown)
            .await;
    }
}
