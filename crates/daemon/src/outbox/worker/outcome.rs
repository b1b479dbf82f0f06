//! Recording what a delivery task ended with: delivered, waiting (not an attempt), failed with
//! a retry time from the policy, or dead (with its `delivery_dead` notice); each counted in
//! `baton_deliveries_total`. The write needs the claim's lease: a worker that lost it records
//! nothing, since the worker that holds the record now delivers it.

use super::Running;
use super::Worker;
use crate::outbox::policy::retry_at;
use crate::outbox::{Deliver, DeliveryError};
use crate::store::outbox::Record;

/// What one delivery task hands back to the loop, which records it.
pub(super) struct Outcome {
    pub(super) record: Record,
    pub(super) result: Result<crate::outbox::Delivered, DeliveryError>,
}

impl<D: Deliver> Worker<D> {
    fn count(&self, target: &str, outcome: &str) {
        if let Some(m) = &self.metrics {
            m.delivery(target, outcome);
        }
    }

    /// Records the outcome of a finished delivery task.
    pub(super) async fn finish(
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
                let Some((record, _)) = running.remove(&e.id()) else {
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
            Err(e) if e.wait_until.is_some() => {
                let until = e.wait_until.unwrap_or(now);
                self.count(&record.target, "waiting");
                tracing::info!(record = record.id, target = %record.target, until = %until, why = %e.message, "delivery waits");
                self.store
                    .defer(record.id, &self.owner, until, &e.message)
                    .await
            }
            Err(e) => {
                let retry_at = retry_at(
                    &self.settings.policy,
                    attempt_no,
                    &e,
                    now,
                    record.created_at,
                );
                self.count(
                    &record.target,
                    if retry_at.is_some() { "retry" } else { "dead" },
                );
                match retry_at {
                    Some(at) => {
                        tracing::warn!(record = record.id, target = %record.target, attempt = attempt_no, error = %e.message, retry_at = %at, "delivery failed; will retry")
                    }
                    None => {
                        tracing::error!(record = record.id, target = %record.target, attempt = attempt_no, error = %e.message, "delivery failed; record is dead");
                        if let (Some(n), Some(notice)) = (
                            &self.notifier,
                            crate::outbox::notify::dead_notice(&record, &e.message),
                        ) {
                            n.send(&notice).await;
                        }
                    }
                }
                let marked = self
                    .store
                    .mark_failed(record.id, &self.owner, &e.message, retry_at)
                    .await;
                // A newer record of its group may have arrived while this one was on the wire.
                if retry_at.is_some()
                    && matches!(marked, Ok(true))
                    && let Err(e) = self.store.supersede_stale(record.id, now).await
                {
                    tracing::warn!(record = record.id, error = %e, "cannot check for a newer record");
                }
                marked
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
