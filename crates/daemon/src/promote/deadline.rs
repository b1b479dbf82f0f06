//! Judgment deadlines (issue 16 item 5): `products[].judgments.<env>.judgment_deadline` bounds
//! how long a judgment may wait; past it baton stops the judgment (`on_deadline: stop`, as
//! `baton promote --stop` would) or leaves it waiting and records a reminder
//! (`on_deadline: remind`, once per execution). Either way it records a `judgment_deadline`
//! event naming the execution, how long it waited and what was done; notifications are sent
//! from events, so the reminder reaches people without this module knowing how.
//!
//! The wait is counted from the manualJudgment stage's `startTime` as Orca records it, so a
//! restart of baton does not reset it. The check runs as scheduled work with one owner
//! across replicas ([`crate::ha::turns`], turn `judgment-deadlines`), every half the shortest
//! configured deadline, at least every [`MAX_EVERY`] and at most every [`MIN_EVERY`]. An
//! execution that already has a `judgment_deadline` event is not acted on again.

use std::sync::Arc;
use std::time::Duration;

use spinnaker_client::Judgment;
use tokio_util::sync::CancellationToken;

use super::{PromoteError, Promoter};
use crate::ha::turns::{Turn, Turns};
use crate::store::events::Correlation;
use baton_core::config::model::{Config, OnDeadline};

/// The event kind recorded.
pub const KIND: &str = "judgment_deadline";
/// Longest time between two checks.
pub const MAX_EVERY: Duration = Duration::from_secs(30);
/// Shortest time between two checks.
pub const MIN_EVERY: Duration = Duration::from_secs(1);
/// Newest events of a product searched for an earlier `judgment_deadline` event.
const RECENT_EVENTS: u32 = 500;

/// How often deadlines are checked: half the shortest deadline, within
/// [`MIN_EVERY`]..=[`MAX_EVERY`]; `None` when no product configures one.
pub fn check_every(config: &Config) -> Option<Duration> {
    config
        .products
        .iter()
        .flat_map(|p| p.judgments.values())
        .map(|j| (j.judgment_deadline / 2).clamp(MIN_EVERY, MAX_EVERY))
        .min()
}

/// What was done with one judgment past its deadline.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadlineAction {
    /// Product name.
    pub product: String,
    /// Environment name.
    pub environment: String,
    /// The execution that waited.
    pub execution_id: String,
    /// Stopped (`true`) or reminded.
    pub stopped: bool,
    /// The `judgment_deadline` event recorded.
    pub event_id: String,
}

impl Promoter {
    /// Stops or reminds of every judgment waiting longer than its environment's deadline and
    /// records a `judgment_deadline` event for each.
    pub async fn enforce_deadlines(&self) -> Result<Vec<DeadlineAction>, PromoteError> {
        let mut done = Vec::new();
        let now = self.clock.now();
        for p in &self.config.config.products {
            if p.judgments.is_empty() {
                continue;
            }
            let mut handled = None;
            for w in self.pending_of(p).await? {
                let Some(policy) = p.judgments.get(&w.environment) else {
                    continue;
                };
                let Some(since) = super::matrix::from_ms(w.waiting_since_ms) else {
                    continue;
                };
                let waited = now - since;
                if waited < policy.judgment_deadline {
                    continue;
                }
                if handled.is_none() {
                    let events = self.store.events(Some(&p.name), RECENT_EVENTS).await?;
                    handled = Some(
                        events
                            .into_iter()
                            .filter(|e| e.kind == KIND)
                            .filter_map(|e| e.correlation.execution_id)
                            .collect::<Vec<_>>(),
                    );
                }
                if handled
                    .as_ref()
                    .is_some_and(|h| h.contains(&w.execution_id))
                {
                    continue;
                }
                let limit = humantime::format_duration(policy.judgment_deadline);
                let waited = humantime::format_duration(Duration::from_secs(
                    waited.whole_seconds().max(0).unsigned_abs(),
                ));
                let stop = policy.on_deadline == OnDeadline::Stop;
                let detail = if stop {
                    let input =
                        format!("stopped by baton: the judgment_deadline of {limit} passed");
                    self.gate
                        .judge_stage(&w.execution_id, &w.stage_id, Judgment::Stop, Some(&input))
                        .await?;
                    format!(
                        "stopped {}/{}: waited {waited}, past its judgment_deadline of {limit} \
                         (on_deadline: stop)",
                        p.name, w.environment
                    )
                } else {
                    format!(
                        "reminder: {}/{} waits for a judgment for {waited}, past its \
                         judgment_deadline of {limit} (on_deadline: remind); give it with \
                         `baton promote {} {}` (or --stop)",
                        p.name, w.environment, p.name, w.environment
                    )
                };
                let event_id = self
                    .record(
                        &p.name,
                        KIND,
                        Correlation {
                            execution_id: Some(w.execution_id.clone()),
                            detail: Some(detail),
                            ..Default::default()
                        },
                    )
                    .await?;
                self.forget_matrix(&p.name);
                tracing::info!(product = %p.name, environment = %w.environment,
                    execution = %w.execution_id, stop, "judgment deadline passed");
                done.push(DeadlineAction {
                    product: p.name.clone(),
                    environment: w.environment.clone(),
                    execution_id: w.execution_id.clone(),
                    stopped: stop,
                    event_id,
                });
            }
        }
        Ok(done)
    }

    /// Checks deadlines every `every` until `shutdown`; with `turns`, only the replica that
    /// wins a turn checks. Failures are logged and retried at the next check.
    pub async fn watch_deadlines(
        self: Arc<Self>,
        every: Duration,
        turns: Option<Turns>,
        shutdown: CancellationToken,
    ) {
        loop {
            let now = self.clock.now();
            let mine = match &turns {
                None => true,
                Some(t) => match t.take("judgment-deadlines", now, now + every).await {
                    Ok(Turn::Mine) => true,
                    Ok(Turn::Taken(until)) => {
                        tokio::select! {
                            _ = shutdown.cancelled() => return,
                            _ = self.clock.sleep_until(until) => {}
                        }
                        continue;
                    }
                    Err(e) => {
                        tracing::warn!(error = %e, "cannot take the judgment-deadlines turn; checking anyway");
                        true
                    }
                },
            };
            if mine && let Err(e) = self.enforce_deadlines().await {
                tracing::warn!(error = %baton_http::chain(&e), "judgment deadlines not checked");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = self.clock.sleep_until(now + every) => {}
            }
        }
    }
}
