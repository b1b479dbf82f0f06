//! Delivery verified, and apply-then-wait (issue 16 item 3).
//!
//! Echo answers every webhook with `200 {"eventId": …}`, whether a pipeline matched or not, and
//! it matches against a pipeline cache it refreshes every 30 s. So:
//!
//! - [`DeliveryChecks::wait_for_echo`]: when `baton pipelines apply` saved a pipeline of the
//!   application less than `spinnaker.echo_cache_wait` ago (the time is in the store, so every
//!   replica sees it), the webhook is not sent yet: the record becomes due when Echo's cache can
//!   have the saved version (`outbox list` and `explain` say why it waits).
//! - [`DeliveryChecks::start`]: after the webhook was delivered, the pipelines it targets (one
//!   `<app>-deploy-<env>` per named environment of a chart event, `<app>-image-<image>` for an
//!   image event, as far as the config renders them) are recorded with a deadline
//!   (`spinnaker.verify_deadline`).
//! - [`Verifier`]: follows each pending verification through Gate
//!   (`executions/search?eventId=`) until every expected pipeline started (`verified`) or the
//!   deadline passed (`unmatched`: noted on the event, counted in
//!   `baton_verifications_total`, notified as `event_unmatched`). Like the build follower it
//!   reads its work from the store (a restart resumes it) and holds the lease `verify:<event>`
//!   while it follows one, so each runs on one replica.

use std::collections::{BTreeSet, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use spinnaker_client::Client;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::DeliveryError;
use super::notify::{Notice, Notifier};
use crate::config::model::Config;
use crate::pipelines::render::{deploy_id, image_id};
use crate::store::Store;
use crate::store::verify::Verification;

mod run;

/// How long Gate may keep failing past a deadline before a verification is given up
/// (`unverified`) instead of judged.
const GATE_GRACE: Duration = Duration::from_secs(600);

/// The checks around one Spinnaker webhook delivery, made from the config.
#[derive(Debug)]
pub struct DeliveryChecks {
    verify_deadline: Duration,
    echo_cache_wait: Duration,
    chart_source: String,
    image_source: String,
    rendered: HashSet<String>,
    wake: Arc<Notify>,
}

impl DeliveryChecks {
    /// The checks for `config` (which has a `spinnaker:` section); `wake` is signalled after a
    /// verification was recorded.
    pub fn from_config(config: &Config, wake: Arc<Notify>) -> Option<Self> {
        let s = config.spinnaker.as_ref()?;
        let rendered = crate::pipelines::render(config)
            .map(|apps| {
                apps.iter()
                    .flat_map(|a| a.pipelines.iter().map(|p| p.name.clone()))
                    .collect()
            })
            .unwrap_or_default();
        Some(Self {
            verify_deadline: s.verify_deadline,
            echo_cache_wait: s.echo_cache_wait,
            chart_source: s.webhook_source.clone(),
            image_source: s.image_webhook_source.clone(),
            rendered,
            wake,
        })
    }

    /// The pipelines a webhook of `source` with `body` should start, as rendered.
    pub fn expected(&self, source: &str, body: &Value) -> Vec<String> {
        let app = body["application"].as_str().unwrap_or_default();
        let names: Vec<String> = if source == self.chart_source {
            body["parameters"]["environments"]
                .as_str()
                .unwrap_or_default()
                .split(',')
                .filter(|e| !e.is_empty())
                .map(|env| deploy_id(app, env))
                .collect()
        } else if source == self.image_source {
            body["parameters"]["image"]
                .as_str()
                .map(|image| vec![image_id(app, image)])
                .unwrap_or_default()
        } else {
            Vec::new()
        };
        names
            .into_iter()
            .filter(|n| self.rendered.contains(n))
            .collect()
    }

    /// Fails with "wait until" while Echo's cache may not have the pipelines `baton pipelines
    /// apply` saved for the body's application.
    pub async fn wait_for_echo(&self, store: &Store, body: &Value) -> Result<(), DeliveryError> {
        if self.echo_cache_wait.is_zero() {
            return Ok(());
        }
        let app = body["application"].as_str().unwrap_or_default();
        let saved = store.pipeline_saved_at(app).await.map_err(|e| {
            DeliveryError::transient(format!("cannot read when pipelines were applied: {e}"))
        })?;
        let Some(saved) = saved else { return Ok(()) };
        let until = saved + self.echo_cache_wait;
        if OffsetDateTime::now_utc() >= until {
            return Ok(());
        }
        Err(DeliveryError::wait_until(
            until,
            format!(
                "`baton pipelines apply` saved pipelines of {app} at {saved}; Echo's pipeline \
                 cache may not have them before {until} (spinnaker.echo_cache_wait {})",
                humantime::format_duration(self.echo_cache_wait)
            ),
        ))
    }

    /// Records what the delivered webhook must start, unless verification is off or nothing
    /// rendered is targeted. Failures are logged: the webhook is delivered.
    pub async fn start(&self, store: &Store, event: &str, source: &str, body: &Value, echo: &str) {
        let expected = self.expected(source, body);
        if self.verify_deadline.is_zero() || expected.is_empty() {
            return;
        }
        let v = Verification {
            event_id: event.to_owned(),
            application: body["application"].as_str().unwrap_or_default().to_owned(),
            echo_event_id: echo.to_owned(),
            expected,
            deadline: OffsetDateTime::now_utc() + self.verify_deadline,
            state: "pending".into(),
            missing: None,
        };
        match store.start_verification(&v).await {
            Ok(()) => self.wake.notify_one(),
            Err(e) => {
                tracing::warn!(%event, error = %e, "cannot record the delivery verification")
            }
        }
    }
}

/// Follows pending verifications to `verified` or `unmatched`.
pub struct Verifier {
    pub(super) gate: Client,
    pub(super) store: Store,
    pub(super) wake: Arc<Notify>,
    pub(super) owner: String,
    pub(super) lease: Duration,
    pub(super) metrics: Option<Arc<crate::metrics::Metrics>>,
    pub(super) notifier: Option<Notifier>,
}

/// What one look at Gate found.
enum Look {
    Verified(Vec<(String, String, String)>),
    Missing(Vec<String>),
    GateFailed(String),
}

impl Verifier {
    /// A verifier asking `gate`, with the store's work, woken by `wake`
    /// ([`DeliveryChecks::from_config`]'s signal).
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
            Err(e) => Look::GateFailed(e.to_string()),
        }
    }

    /// Follows `v` until it is settled, the lease is lost or `stop`.
    pub(super) async fn follow(&self, v: Verification, stop: &CancellationToken) {
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
}
