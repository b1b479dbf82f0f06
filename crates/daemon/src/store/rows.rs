//! The store's rows as `sqlx::FromRow` types, column for column (times are Unix milliseconds,
//! JSON is text), and their conversion into the domain types the rest of baton uses. Decoding
//! by derive instead of a `try_get` per column keeps names and types in one place; the same
//! derive decodes SQLite and PostgreSQL rows through `AnyPool`.

use sqlx::FromRow;

use super::events::{Correlation, Delivered, Event, Observation};
use super::followups::PendingBuild;
use super::leases::Lease;
use super::outbox::{Record, State};
use super::replicas::Replica;
use super::verify::Verification;
use super::{StoreError, from_millis};

/// `events` (with [`Correlation`] decoded from the same row).
#[derive(FromRow)]
pub(super) struct EventRow {
    id: String,
    product: String,
    kind: String,
    image: Option<String>,
    created_at: i64,
    #[sqlx(flatten)]
    correlation: Correlation,
}

impl From<EventRow> for Event {
    fn from(r: EventRow) -> Self {
        Event {
            id: r.id,
            product: r.product,
            kind: r.kind,
            image: r.image,
            created_at: from_millis(r.created_at),
            correlation: r.correlation,
        }
    }
}

/// `observations`.
#[derive(FromRow)]
pub(super) struct ObservationRow {
    source: String,
    value: String,
    observed_at: i64,
}

impl From<ObservationRow> for Observation {
    fn from(r: ObservationRow) -> Self {
        Observation {
            source: r.source,
            value: r.value,
            observed_at: from_millis(r.observed_at),
        }
    }
}

/// `deliveries`.
#[derive(FromRow)]
pub(super) struct DeliveredRow {
    product: String,
    environment: String,
    chart_version: String,
    chart_digest: String,
    values_digest: String,
    event_id: Option<String>,
    delivered_at: i64,
}

impl From<DeliveredRow> for Delivered {
    fn from(r: DeliveredRow) -> Self {
        Delivered {
            product: r.product,
            environment: r.environment,
            chart_version: r.chart_version,
            chart_digest: r.chart_digest,
            values_digest: r.values_digest,
            event_id: r.event_id,
            delivered_at: from_millis(r.delivered_at),
        }
    }
}

/// `outbox`.
#[derive(FromRow)]
pub(super) struct RecordRow {
    id: i64,
    kind: String,
    target: String,
    payload: String,
    idem_key: String,
    event_id: Option<String>,
    state: String,
    attempts: i64,
    next_attempt_at: i64,
    last_error: Option<String>,
    lease_until: Option<i64>,
    created_at: i64,
    delivered_at: Option<i64>,
    response: Option<String>,
    superseded_by: Option<i64>,
}

fn json(column: &'static str, text: &str) -> Result<serde_json::Value, StoreError> {
    serde_json::from_str(text).map_err(|cause| StoreError::Corrupt { column, cause })
}

impl TryFrom<RecordRow> for Record {
    type Error = StoreError;

    fn try_from(r: RecordRow) -> Result<Self, StoreError> {
        Ok(Record {
            id: r.id,
            kind: r.kind,
            target: r.target,
            payload: json("payload", &r.payload)?,
            key: r.idem_key,
            event_id: r.event_id,
            state: State::parse(&r.state),
            attempts: u32::try_from(r.attempts).unwrap_or(u32::MAX),
            next_attempt_at: from_millis(r.next_attempt_at),
            last_error: r.last_error,
            lease_until: r.lease_until.map(from_millis),
            created_at: from_millis(r.created_at),
            delivered_at: r.delivered_at.map(from_millis),
            response: r.response.map(|t| json("response", &t)).transpose()?,
            superseded_by: r.superseded_by,
        })
    }
}

/// `replicas`.
#[derive(FromRow)]
pub(super) struct ReplicaRow {
    id: String,
    host: String,
    pid: i64,
    version: String,
    started_at: i64,
    heartbeat_at: i64,
    stopped_at: Option<i64>,
}

impl From<ReplicaRow> for Replica {
    fn from(r: ReplicaRow) -> Self {
        Replica {
            id: r.id,
            host: r.host,
            pid: r.pid,
            version: r.version,
            started_at: from_millis(r.started_at),
            heartbeat_at: from_millis(r.heartbeat_at),
            stopped_at: r.stopped_at.map(from_millis),
        }
    }
}

/// `leases`.
#[derive(FromRow)]
pub(super) struct LeaseRow {
    name: String,
    owner: Option<String>,
    lease_until: i64,
}

impl From<LeaseRow> for Lease {
    fn from(r: LeaseRow) -> Self {
        Lease {
            name: r.name,
            owner: r.owner,
            until: from_millis(r.lease_until),
        }
    }
}

/// `verifications`; `expected` is a comma-separated list of pipeline names.
#[derive(FromRow)]
pub(super) struct VerificationRow {
    event_id: String,
    application: String,
    echo_event_id: String,
    expected: String,
    deadline: i64,
    state: String,
    missing: Option<String>,
}

impl From<VerificationRow> for Verification {
    fn from(r: VerificationRow) -> Self {
        Verification {
            event_id: r.event_id,
            application: r.application,
            echo_event_id: r.echo_event_id,
            expected: r
                .expected
                .split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect(),
            deadline: from_millis(r.deadline),
            state: r.state,
            missing: r.missing,
        }
    }
}

/// An event waiting for its Jenkins build, with the payload of the record that triggered it.
#[derive(FromRow)]
pub(super) struct PendingBuildRow {
    id: String,
    payload: String,
    jenkins_queue_id: i64,
    build_number: Option<i64>,
}

impl PendingBuildRow {
    /// The pending build, or `None` when the record names no job.
    pub(super) fn into_pending(self) -> Result<Option<PendingBuild>, StoreError> {
        let value = json("payload", &self.payload)?;
        let Some(job) = value.get("job").and_then(|j| j.as_str()) else {
            return Ok(None);
        };
        Ok(Some(PendingBuild {
            event_id: self.id,
            job: job.to_owned(),
            queue_id: self.jenkins_queue_id,
            build_number: self.build_number,
        }))
    }
}
