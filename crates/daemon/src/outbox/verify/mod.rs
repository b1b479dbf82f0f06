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
//! - [`Verifier`] (`run`): follows each pending verification through Gate
//!   (`executions/search?eventId=`) until every expected pipeline started (`verified`) or the
//!   deadline passed (`unmatched`: noted on the event, counted in
//!   `baton_verifications_total`, notified as `event_unmatched`). Like the build follower it
//!   reads its work from the store (a restart resumes it) and holds the lease `verify:<event>`
//!   while it follows one ([`super::leased`]), so each runs on one replica.

use std::collections::HashSet;
use std::sync::Arc;
use std::time::Duration;

use serde_json::Value;
use time::OffsetDateTime;
use tokio::sync::Notify;

use super::DeliveryError;
use crate::store::Store;
use crate::store::verify::Verification;
use baton_core::config::model::Config;
use baton_core::pipelines::render::{deploy_id, image_id};

mod run;

pub use run::Verifier;

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
        let rendered = baton_core::pipelines::render::names(config);
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
