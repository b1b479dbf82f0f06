//! The durable outbox: every effect on Jenkins or Spinnaker is recorded first
//! ([`Outbox::enqueue`], idempotent by key) and delivered later by the [`worker`], with
//! per-target ordering, short leases renewed while a delivery runs (a crashed owner's record is
//! due again within one lease), latest-wins superseding, and the retry [`policy`].
//!
//! Record kinds ([`Effect`]) are pure data; the code that performs them implements [`Deliver`].
//! After delivery, the build follower ([`follow`]) and the delivery verifier ([`verify`]) follow
//! up each item on one replica through the lease loop in [`leased`]; [`notify`] and [`notices`]
//! turn what happened into notifications, delivered as outbox records too.

pub mod deliverers;
pub mod follow;
pub mod jenkins;
pub mod keys;
pub mod leased;
pub mod notices;
pub mod notify;
pub mod policy;
pub mod spinnaker;
pub mod verify;
pub mod worker;

use std::collections::BTreeMap;
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use serde::{Deserialize, Serialize};
use tokio::sync::Notify;

use crate::clock::Clock;
use crate::store::outbox::{NewRecord, Record, Supersede};
use crate::store::{Store, StoreError};

/// Kind of a Spinnaker Echo webhook effect.
pub const SPINNAKER_WEBHOOK: &str = "spinnaker.webhook";
/// Kind of a Jenkins `buildWithParameters` effect.
pub const JENKINS_BUILD: &str = "jenkins.build";
/// Kind of a notification ([`notify`]).
pub const NOTIFY: &str = "notify.webhook";

/// An effect to perform, stored as a record's kind + payload.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(untagged)]
pub enum Effect {
    /// `POST {gate}/webhooks/webhook/{source}` with `body`.
    SpinnakerWebhook {
        /// Echo webhook source (`chart`, `image`).
        source: String,
        /// The JSON body, exactly as sent.
        body: serde_json::Value,
    },
    /// `POST {jenkins}/job/../buildWithParameters` with `params`.
    JenkinsBuild {
        /// Job path, `folder/job`.
        job: String,
        /// Build parameters.
        params: BTreeMap<String, String>,
    },
    /// `POST` of `body` to the receiver of `notifications.targets[]` named `notify`.
    Notification {
        /// The target's name (its URL stays in the secrets, never in the store).
        notify: String,
        /// The body, already in the target's format.
        body: serde_json::Value,
    },
}

impl Effect {
    /// The record kind.
    pub fn kind(&self) -> &'static str {
        match self {
            Effect::SpinnakerWebhook { .. } => SPINNAKER_WEBHOOK,
            Effect::JenkinsBuild { .. } => JENKINS_BUILD,
            Effect::Notification { .. } => NOTIFY,
        }
    }

    /// The ordering domain: one Echo source per application, one Jenkins job, or one
    /// notification target.
    pub fn target(&self, application: &str) -> String {
        match self {
            Effect::SpinnakerWebhook { source, .. } => {
                format!("{SPINNAKER_WEBHOOK}:{source}:{application}")
            }
            Effect::JenkinsBuild { job, .. } => format!("{JENKINS_BUILD}:{job}"),
            Effect::Notification { notify, .. } => format!("{NOTIFY}:{notify}"),
        }
    }

    /// Decodes a record's payload by its kind.
    pub fn from_record(record: &Record) -> Result<Self, String> {
        let decoded = match record.kind.as_str() {
            SPINNAKER_WEBHOOK | JENKINS_BUILD | NOTIFY => {
                serde_path_to_error::deserialize::<_, Effect>(&record.payload).map_err(|e| {
                    format!(
                        "outbox record {}: payload at {}: {}",
                        record.id,
                        e.path(),
                        e.inner()
                    )
                })?
            }
            other => {
                return Err(format!(
                    "outbox record {}: unknown kind {other:?}",
                    record.id
                ));
            }
        };
        if decoded.kind() != record.kind {
            return Err(format!(
                "outbox record {}: payload is a {} but the kind says {}",
                record.id,
                decoded.kind(),
                record.kind
            ));
        }
        Ok(decoded)
    }

    /// What a deliverer of `what` (e.g. "a Jenkins build") performs for `record`: the part
    /// `pick` takes out of its effect. A payload that does not decode, or an effect `pick`
    /// does not take, is a permanent [`DeliveryError`].
    pub fn for_delivery<T>(
        record: &Record,
        what: &str,
        pick: impl FnOnce(Effect) -> Option<T>,
    ) -> Result<T, DeliveryError> {
        let effect = Self::from_record(record).map_err(DeliveryError::permanent)?;
        pick(effect).ok_or_else(|| {
            DeliveryError::permanent(format!("outbox record {} is not {what}", record.id))
        })
    }
}

/// A successful delivery.
#[derive(Debug, Clone, Default, PartialEq)]
pub struct Delivered {
    /// What the receiver answered that is worth keeping (ids, locations).
    pub response: Option<serde_json::Value>,
}

/// A failed delivery.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct DeliveryError {
    /// The receiver's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The receiver answered 429.
    pub throttled: bool,
    /// Retrying cannot help (4xx other than 408/429, bad payload): dead at once.
    pub permanent: bool,
    /// What went wrong, safe to store and show (no secrets).
    pub message: String,
    /// Not a failure: the record must wait until then (not counted as an attempt);
    /// `message` says why.
    pub wait_until: Option<time::OffsetDateTime>,
}

impl DeliveryError {
    /// A failure worth retrying.
    pub fn transient(message: impl Into<String>) -> Self {
        Self {
            retry_after: None,
            throttled: false,
            permanent: false,
            message: message.into(),
            wait_until: None,
        }
    }

    /// Not sent yet on purpose: due again at `at`, the attempt not counted.
    pub fn wait_until(at: time::OffsetDateTime, why: impl Into<String>) -> Self {
        Self {
            wait_until: Some(at),
            ..Self::transient(why)
        }
    }

    /// A failure retrying cannot fix.
    pub fn permanent(message: impl Into<String>) -> Self {
        Self {
            permanent: true,
            ..Self::transient(message)
        }
    }

    /// A non-2xx answer: 408, 425, 429 and 5xx are worth retrying (429 is throttling); any
    /// other status is permanent, since sending the same request again gets the same answer.
    pub fn from_status(
        status: u16,
        retry_after: Option<Duration>,
        message: impl Into<String>,
    ) -> Self {
        let transient = matches!(status, 408 | 425 | 429) || (500..=599).contains(&status);
        Self {
            retry_after,
            throttled: status == 429,
            permanent: !transient,
            message: message.into(),
            wait_until: None,
        }
    }
}

/// Performs effects of some kinds. Implemented by the Jenkins and Spinnaker deliverers.
pub trait Deliver: Send + Sync + 'static {
    /// The record kinds this deliverer handles; records of other kinds are left pending.
    fn kinds(&self) -> Vec<&'static str>;

    /// Performs `record`'s effect once. Each call must carry the record's key or event id so
    /// the receiver (or a human) can recognise a redelivery.
    fn deliver(
        &self,
        record: &Record,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send;
}

/// The enqueue side of the outbox, shared by the API and the jobs; wakes the worker.
#[derive(Debug, Clone)]
pub struct Outbox {
    store: Store,
    wake: Arc<Notify>,
    clock: Clock,
}

impl Outbox {
    /// An outbox over `store` timed by `clock`.
    pub fn new(store: Store, clock: Clock) -> Self {
        Self {
            store,
            wake: Arc::new(Notify::new()),
            clock,
        }
    }

    /// Records `effect` for `application` under idempotency `key`. Returns the record and
    /// whether it is new; an existing key returns the existing record and changes nothing.
    pub async fn enqueue(
        &self,
        effect: &Effect,
        application: &str,
        key: &str,
        event_id: Option<&str>,
    ) -> Result<(Record, bool), StoreError> {
        self.enqueue_latest(effect, application, key, event_id, None)
            .await
    }

    /// Like [`Outbox::enqueue`]; with `supersede`, older records of its group still waiting
    /// (and covered by its scope) are marked superseded and never sent: latest wins.
    pub async fn enqueue_latest(
        &self,
        effect: &Effect,
        application: &str,
        key: &str,
        event_id: Option<&str>,
        supersede: Option<Supersede>,
    ) -> Result<(Record, bool), StoreError> {
        let payload = serde_json::to_value(effect).map_err(|cause| StoreError::Corrupt {
            column: "payload",
            cause,
        })?;
        let new = NewRecord {
            kind: effect.kind().to_owned(),
            target: effect.target(application),
            payload,
            key: key.to_owned(),
            event_id: event_id.map(str::to_owned),
            supersede,
        };
        let now = self.clock.now();
        let (record, created) = self.store.enqueue(&new, now).await?;
        if created {
            if new.supersede.is_some() {
                self.store.supersede_stale(record.id, now).await?;
            }
            self.wake.notify_one();
            self.store.notify_outbox().await;
        }
        Ok((record, created))
    }

    /// Wakes the worker (after a manual retry).
    pub fn wake(&self) {
        self.wake.notify_one();
    }

    /// The store behind it.
    pub fn store(&self) -> &Store {
        &self.store
    }

    /// The clock it stamps records with.
    pub fn clock(&self) -> Clock {
        self.clock.clone()
    }

    pub(crate) fn notifier(&self) -> Arc<Notify> {
        self.wake.clone()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn effects_round_trip_through_records_by_kind() {
        let e = Effect::JenkinsBuild {
            job: "micro-gw/petstore-image".into(),
            params: BTreeMap::from([("CAUSE".into(), "manual".into())]),
        };
        assert_eq!(
            e.target("micro-gw"),
            "jenkins.build:micro-gw/petstore-image"
        );
        let record = Record {
            id: 1,
            kind: e.kind().into(),
            target: e.target("micro-gw"),
            payload: serde_json::to_value(&e).unwrap(),
            key: "k".into(),
            event_id: None,
            state: crate::store::outbox::State::Pending,
            attempts: 0,
            next_attempt_at: time::OffsetDateTime::UNIX_EPOCH,
            last_error: None,
            lease_until: None,
            created_at: time::OffsetDateTime::UNIX_EPOCH,
            delivered_at: None,
            response: None,
            superseded_by: None,
        };
        assert_eq!(Effect::from_record(&record).unwrap(), e);
        let mut wrong = record.clone();
        wrong.kind = SPINNAKER_WEBHOOK.into();
        assert!(
            Effect::from_record(&wrong)
                .unwrap_err()
                .contains("kind says")
        );
        wrong.kind = "smtp.mail".into();
        assert!(
            Effect::from_record(&wrong)
                .unwrap_err()
                .contains("unknown kind")
        );
    }

    #[test]
    fn statuses_are_classified() {
        let e = DeliveryError::from_status(429, Some(Duration::from_secs(9)), "slow down");
        assert!(e.throttled && !e.permanent && e.retry_after == Some(Duration::from_secs(9)));
        for s in [408, 425, 500, 502, 503, 504] {
            assert!(!DeliveryError::from_status(s, None, "x").permanent, "{s}");
        }
        for s in [301, 400, 401, 403, 404, 409, 422] {
            assert!(DeliveryError::from_status(s, None, "x").permanent, "{s}");
        }
    }
}
