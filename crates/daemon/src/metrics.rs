//! Prometheus metrics (prefix `baton_`, docs/operations.md "Metrics and alerts"): the ones this build produces.
//! Outbox gauges are read from the store at scrape time, so every daemon sharing a store
//! reports the same numbers.

use prometheus_client::encoding::EncodeLabelSet;
use prometheus_client::metrics::counter::Counter;
use prometheus_client::metrics::family::Family;
use prometheus_client::metrics::gauge::Gauge;
use prometheus_client::metrics::histogram::{Histogram, exponential_buckets};
use prometheus_client::registry::Registry;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use time::OffsetDateTime;

use crate::store::Store;

/// Labels of `baton_events_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EventLabels {
    /// Product name.
    pub product: String,
    /// Event kind.
    pub kind: String,
}

/// Labels of `baton_deliveries_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct DeliveryLabels {
    /// Outbox target.
    pub target: String,
    /// `delivered`, `retry` or `dead`.
    pub outcome: String,
}

/// Labels of `baton_pending_judgments`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct EnvironmentLabels {
    /// Product name.
    pub product: String,
    /// Environment name.
    pub environment: String,
}

/// Labels of `baton_source_checks_total`. The source id is the scheduler's own `Arc`, not a
/// copy: with 10,000 watched tags there are 20,000 of these series, and each check looks one
/// up without allocating.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceCheckLabels {
    /// Source id (`chart-source:<product>`, `base-image:<product>/<image>`, ...).
    pub source: Arc<str>,
    /// `baseline`, `unchanged`, `changed`, `rejected` or `error`.
    pub outcome: &'static str,
}

/// Labels of `baton_source_last_success_timestamp_seconds`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct SourceLabels {
    /// Source id.
    pub source: Arc<str>,
}

/// Labels of `baton_webhook_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct WebhookLabels {
    /// `github`, `gitlab`, `gitea` or `bitbucket`.
    pub provider: String,
    /// What the request led to (`triggered`, `ignored`, `unauthorized`, ...).
    pub outcome: String,
}

/// Labels of `baton_registry_requests_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct RegistryRequestLabels {
    /// Registry host as written in image references.
    pub registry: String,
    /// HTTP method (`HEAD`, `GET`).
    pub method: String,
    /// HTTP status answered.
    pub status: String,
}

/// Labels of `baton_verifications_total`.
#[derive(Debug, Clone, Hash, PartialEq, Eq, EncodeLabelSet)]
pub struct VerificationLabels {
    /// Product name.
    pub product: String,
    /// `verified`, `unmatched` or `unverified`.
    pub outcome: String,
}

/// The metrics of one process.
#[derive(Debug)]
pub struct Metrics {
    registry: Registry,
    events: Family<EventLabels, Counter>,
    deliveries: Family<DeliveryLabels, Counter>,
    outbox_pending: Gauge,
    outbox_dead: Gauge,
    outbox_oldest_seconds: Gauge<f64, AtomicU64>,
    pending_judgments: Family<EnvironmentLabels, Gauge>,
    source_checks: Family<SourceCheckLabels, Counter>,
    source_last_success: Family<SourceLabels, Gauge<f64, AtomicU64>>,
    webhooks: Family<WebhookLabels, Counter>,
    change_to_delivery: Histogram,
    registry_requests: Family<RegistryRequestLabels, Counter>,
    verifications: Family<VerificationLabels, Counter>,
    registries: std::sync::Mutex<Option<std::sync::Arc<baton_sources::registry::Registries>>>,
    hook_counters: std::sync::Mutex<Option<std::sync::Arc<crate::hooks::HookCounters>>>,
}

impl Default for Metrics {
    fn default() -> Self {
        let mut registry = Registry::with_prefix("baton");
        let events = Family::<EventLabels, Counter>::default();
        let deliveries = Family::<DeliveryLabels, Counter>::default();
        let outbox_pending = Gauge::default();
        let outbox_dead = Gauge::default();
        let outbox_oldest_seconds = Gauge::<f64, AtomicU64>::default();
        registry.register(
            "events",
            "Events recorded, by product and kind",
            events.clone(),
        );
        registry.register(
            "deliveries",
            "Outbox delivery attempts, by target and outcome",
            deliveries.clone(),
        );
        registry.register(
            "outbox_pending",
            "Outbox records waiting for delivery",
            outbox_pending.clone(),
        );
        registry.register(
            "outbox_dead",
            "Outbox records given up on (retryable by hand)",
            outbox_dead.clone(),
        );
        registry.register(
            "outbox_oldest_seconds",
            "Age of the oldest pending outbox record",
            outbox_oldest_seconds.clone(),
        );
        let pending_judgments = Family::<EnvironmentLabels, Gauge>::default();
        registry.register(
            "pending_judgments",
            "Executions waiting for a manual judgment, by product and environment (from Gate)",
            pending_judgments.clone(),
        );
        let source_checks = Family::<SourceCheckLabels, Counter>::default();
        let source_last_success = Family::<SourceLabels, Gauge<f64, AtomicU64>>::default();
        registry.register(
            "source_checks",
            "Checks of change sources, by source and outcome",
            source_checks.clone(),
        );
        registry.register(
            "source_last_success_timestamp_seconds",
            "Unix time of the last successful check of each source",
            source_last_success.clone(),
        );
        let webhooks = Family::<WebhookLabels, Counter>::default();
        // 50 ms .. ~27 min: a healthy delivery is sub-second, an outage stretches to minutes.
        let change_to_delivery = Histogram::new(exponential_buckets(0.05, 2.0, 16));
        let registry_requests = Family::<RegistryRequestLabels, Counter>::default();
        registry.register(
            "registry_requests",
            "Requests to container registries, by registry, method and status",
            registry_requests.clone(),
        );
        registry.register(
            "change_to_delivery_seconds",
            "Time from a change being recorded in the outbox to its delivery",
            change_to_delivery.clone(),
        );
        registry.register(
            "webhook_requests",
            "Push webhook requests, by provider and outcome",
            webhooks.clone(),
        );
        let verifications = Family::<VerificationLabels, Counter>::default();
        registry.register(
            "verifications",
            "Delivered webhooks checked for the pipelines they target, by product and outcome \
             (unmatched: a pipeline did not start within spinnaker.verify_deadline)",
            verifications.clone(),
        );
        Self {
            registry,
            verifications,
            pending_judgments,
            webhooks,
            change_to_delivery,
            registry_requests,
            registries: std::sync::Mutex::default(),
            hook_counters: std::sync::Mutex::default(),
            source_checks,
            source_last_success,
            events,
            deliveries,
            outbox_pending,
            outbox_dead,
            outbox_oldest_seconds,
        }
    }
}

impl Metrics {
    /// Counts a recorded event.
    pub fn event(&self, product: &str, kind: &str) {
        self.events
            .get_or_create(&EventLabels {
                product: product.into(),
                kind: kind.into(),
            })
            .inc();
    }

    /// Counts the outcome of one delivery verification.
    pub fn verification(&self, product: &str, outcome: &str) {
        self.verifications
            .get_or_create(&VerificationLabels {
                product: product.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Counts a delivery attempt's outcome.
    pub fn delivery(&self, target: &str, outcome: &str) {
        self.deliveries
            .get_or_create(&DeliveryLabels {
                target: target.into(),
                outcome: outcome.into(),
            })
            .inc();
    }

    /// Exports the registry clients' request counts as `baton_registry_requests_total`.
    pub fn watch_registries(
        &self,
        registries: std::sync::Arc<baton_sources::registry::Registries>,
    ) {
        *self.registries.lock().unwrap_or_else(|p| p.into_inner()) = Some(registries);
    }

    /// Observes one delivered change: `seconds` from its outbox record's creation to delivery.
    pub fn change_delivered(&self, seconds: f64) {
        self.change_to_delivery.observe(seconds.max(0.0));
    }

    /// Sets how many executions of an environment's pipeline wait for a judgment.
    pub fn set_pending_judgments(&self, product: &str, environment: &str, n: i64) {
        self.pending_judgments
            .get_or_create(&EnvironmentLabels {
                product: product.into(),
                environment: environment.into(),
            })
            .set(n);
    }

    /// Counts a source check's outcome; a success also stamps the source's last-success time.
    pub fn source_check(&self, source: &Arc<str>, outcome: &'static str, at: OffsetDateTime) {
        self.source_checks
            .get_or_create(&SourceCheckLabels {
                source: source.clone(),
                outcome,
            })
            .inc();
        if outcome != "error" {
            self.source_last_success
                .get_or_create(&SourceLabels {
                    source: source.clone(),
                })
                .set(at.unix_timestamp_nanos() as f64 / 1e9);
        }
    }

    /// Exports the push-webhook counters as `baton_webhook_requests_total`.
    pub fn watch_hooks(&self, counters: std::sync::Arc<crate::hooks::HookCounters>) {
        *self.hook_counters.lock().unwrap_or_else(|p| p.into_inner()) = Some(counters);
    }

    /// The text exposition, with outbox gauges read from `store` now.
    pub async fn render(&self, store: &Store, now: OffsetDateTime) -> anyhow::Result<String> {
        let counts = store.outbox_counts().await?;
        self.outbox_pending
            .set(i64::try_from(counts.pending).unwrap_or(i64::MAX));
        self.outbox_dead
            .set(i64::try_from(counts.dead).unwrap_or(i64::MAX));
        let oldest = counts
            .oldest_pending
            .map_or(0.0, |t| (now - t).as_seconds_f64().max(0.0));
        self.outbox_oldest_seconds.set(oldest);
        let hooks = self
            .hook_counters
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(hooks) = hooks {
            for (provider, outcome, n) in hooks.snapshot() {
                let c = self.webhooks.get_or_create(&WebhookLabels {
                    provider: provider.as_str().into(),
                    outcome: outcome.as_str().into(),
                });
                c.inc_by(n.saturating_sub(c.get()));
            }
        }
        let registries = self
            .registries
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .clone();
        if let Some(registries) = registries {
            for (registry, method, status, n) in registries.request_counts() {
                let c = self
                    .registry_requests
                    .get_or_create(&RegistryRequestLabels {
                        registry,
                        method,
                        status: status.to_string(),
                    });
                c.inc_by(n.saturating_sub(c.get()));
            }
        }
        let mut out = String::new();
        prometheus_client::encoding::text::encode(&mut out, &self.registry)?;
        Ok(out)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_sources_series_share_its_id_and_a_check_copies_nothing() {
        let m = Metrics::default();
        let id: Arc<str> = "base-image:p/i".into();
        let now = OffsetDateTime::now_utc();
        m.source_check(&id, "baseline", now);
        for _ in 0..3 {
            m.source_check(&id, "unchanged", now);
        }
        // The id, the two `source_checks` series and the last-success series: one string.
        assert_eq!(Arc::strong_count(&id), 4);
        let key = SourceCheckLabels {
            source: id.clone(),
            outcome: "unchanged",
        };
        assert_eq!(m.source_checks.get_or_create(&key).get(), 3);
    }
}
