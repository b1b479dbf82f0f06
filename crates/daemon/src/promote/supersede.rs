//! A newer chart event for an environment supersedes an older execution still waiting for its
//! manual judgment: the older one is cancelled, so a forgotten judgment never blocks the next
//! release (with `limitConcurrent` the new execution queues behind the waiting one).

use super::find::trigger_parameter;
use super::{PromoteError, Promoter, pipeline_name};
use crate::store::events::Correlation;

/// The chart event that was just delivered for an environment.
#[derive(Debug, Clone, Copy)]
pub struct NewEvent<'a> {
    /// baton's event id (`batonEvent` in the payload).
    pub baton_event: &'a str,
    /// Echo's event id from the webhook answer, when known.
    pub echo_event: Option<&'a str>,
}

/// An execution cancelled because a newer event superseded it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Superseded {
    /// The cancelled execution.
    pub execution_id: String,
    /// The baton event that had started it, when known.
    pub old_event: Option<String>,
    /// The `supersede` event recorded for it.
    pub event_id: String,
}

impl Promoter {
    /// Call after a chart event for `environment` of `product` was delivered: cancels every
    /// execution of `<product>-deploy-<environment>` that waits for a manual judgment and was
    /// not started by `new`, and records a `supersede` event for each. Does nothing when
    /// `spinnaker.supersede_waiting` is false.
    pub async fn supersede_stale(
        &self,
        product: &str,
        environment: &str,
        new: NewEvent<'_>,
    ) -> Result<Vec<Superseded>, PromoteError> {
        if !self.supersede_waiting() {
            return Ok(Vec::new());
        }
        let pipeline = pipeline_name(product, environment);
        let waiting = self
            .gate
            .pending_judgments(product, Some(&pipeline))
            .await?;
        let mut done = Vec::new();
        for x in waiting {
            let old_event = trigger_parameter(&x, "batonEvent").map(str::to_owned);
            let same_echo = new.echo_event.is_some() && x.event_id() == new.echo_event;
            if same_echo || old_event.as_deref() == Some(new.baton_event) {
                continue;
            }
            let reason = format!(
                "superseded by baton event {} (a newer chart event for {environment})",
                new.baton_event
            );
            self.gate.cancel_execution(&x.id, Some(&reason)).await?;
            let detail = match &old_event {
                Some(old) => format!("{environment}: execution of {old} cancelled, {reason}"),
                None => format!("{environment}: cancelled, {reason}"),
            };
            let event_id = self
                .record(
                    product,
                    "supersede",
                    Correlation {
                        spinnaker_event_id: x.event_id().map(str::to_owned),
                        execution_id: Some(x.id.clone()),
                        execution_status: Some("CANCELED".into()),
                        detail: Some(detail),
                        ..Default::default()
                    },
                )
                .await?;
            tracing::info!(%product, %environment, execution = %x.id, new = new.baton_event,
                "cancelled a judgment a newer chart event superseded");
            done.push(Superseded {
                execution_id: x.id,
                old_event,
                event_id,
            });
        }
        Ok(done)
    }

    /// [`Promoter::supersede_stale`] for every environment a chart event names (the
    /// deliverer's entry point): environments whose pipeline has no judgment cost one Gate
    /// query and cancel nothing.
    pub async fn supersede_for_event(
        &self,
        product: &str,
        environments: &[&str],
        new: NewEvent<'_>,
    ) -> Result<Vec<Superseded>, PromoteError> {
        let mut all = Vec::new();
        for env in environments {
            all.extend(self.supersede_stale(product, env, new).await?);
        }
        Ok(all)
    }
}
