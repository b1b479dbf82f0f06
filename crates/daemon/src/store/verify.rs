//! Delivery verification and apply-then-wait in the store (issue 16 items 3, 4).
//!
//! Echo answers 200 with an event id whether or not a pipeline matched, so a delivered webhook
//! is followed until the pipelines it targets started: a [`Verification`] row per delivered
//! chart/image event, `pending` until the verifier (`crate::outbox::verify`) records
//! `verified` or `unmatched`. The rows are the owned work that survives a restart; the named
//! lease `verify:<event>` makes each one a single replica's.
//!
//! `pipeline_saves` holds when `baton pipelines apply` last saved a pipeline of each
//! application, so every replica's Spinnaker deliverer can hold that application's webhooks
//! back until Echo's pipeline cache can have seen the save ([`Store::defer`]).

use serde::Serialize;
use sqlx::FromRow;
use sqlx::any::AnyRow;
use time::OffsetDateTime;

use super::{Store, StoreError, from_millis, millis};

/// Prefix of `last_error` on a record that waits on purpose (not a failure): `outbox list`
/// shows it and `explain` reports the record as waiting.
pub const WAITING: &str = "waiting: ";

/// One delivered webhook whose pipelines baton expects to start.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Verification {
    /// The baton event.
    pub event_id: String,
    /// Spinnaker application.
    pub application: String,
    /// Echo's event id (`executions/search?eventId=`).
    pub echo_event_id: String,
    /// Pipeline names that must start.
    pub expected: Vec<String>,
    /// Until when they may start.
    #[serde(with = "time::serde::rfc3339")]
    pub deadline: OffsetDateTime,
    /// `pending`, `verified`, `unmatched` or `unverified` (Gate could not be asked).
    pub state: String,
    /// Expected pipelines that did not start (`unmatched`), or why it could not be checked.
    pub missing: Option<String>,
}

fn decode(r: &AnyRow) -> Result<Verification, StoreError> {
    Ok(super::rows::VerificationRow::from_row(r)?.into())
}

const COLUMNS: &str = "event_id, application, echo_event_id, expected, deadline, state, missing";

impl Store {
    /// Starts following `v` (state `pending`); a redelivery of the same event replaces the
    /// earlier row, since the new Echo event id is what counts.
    pub async fn start_verification(&self, v: &Verification) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO verifications (event_id, application, echo_event_id, expected, deadline, \
             state) VALUES ($1, $2, $3, $4, $5, 'pending') ON CONFLICT (event_id) DO UPDATE SET \
             echo_event_id = excluded.echo_event_id, expected = excluded.expected, \
             deadline = excluded.deadline, state = 'pending', missing = NULL, finished_at = NULL",
        )
        .bind(&v.event_id)
        .bind(&v.application)
        .bind(&v.echo_event_id)
        .bind(v.expected.join(","))
        .bind(millis(v.deadline))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Up to `limit` verifications still pending, oldest deadline first.
    pub async fn pending_verifications(&self, limit: u32) -> Result<Vec<Verification>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM verifications WHERE state = 'pending' \
             ORDER BY deadline, event_id LIMIT $1"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// Records the outcome of a pending verification and appends `note` to its event's detail,
    /// in one transaction: a reader sees the outcome with its note or neither. False (and no
    /// note) if it was no longer pending.
    pub async fn finish_verification(
        &self,
        event_id: &str,
        state: &str,
        missing: Option<&str>,
        note: &str,
        now: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let mut tx = self.pool().begin().await?;
        let n = sqlx::query(
            "UPDATE verifications SET state = $1, missing = $2, finished_at = $3 \
             WHERE event_id = $4 AND state = 'pending'",
        )
        .bind(state)
        .bind(missing)
        .bind(millis(now))
        .bind(event_id)
        .execute(&mut *tx)
        .await?
        .rows_affected();
        if n != 1 {
            tx.rollback().await?;
            return Ok(false);
        }
        sqlx::query(super::events::NOTE_EVENT)
            .bind(note)
            .bind(event_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(true)
    }

    /// The verifications of `events` (any state).
    pub async fn verifications_of(&self, events: &[&str]) -> Result<Vec<Verification>, StoreError> {
        let sql =
            |list: &str| format!("SELECT {COLUMNS} FROM verifications WHERE event_id IN ({list})");
        self.fetch_in(events, sql, decode).await
    }

    /// The body of the Spinnaker webhook that event `event` sent (its newest record).
    pub async fn webhook_of_event(
        &self,
        event: &str,
    ) -> Result<Option<serde_json::Value>, StoreError> {
        let payload: Option<String> = sqlx::query_scalar(
            "SELECT payload FROM outbox WHERE event_id = $1 AND kind = 'spinnaker.webhook' \
             ORDER BY id DESC LIMIT 1",
        )
        .bind(event)
        .fetch_optional(self.pool())
        .await?;
        payload
            .map(|p| {
                serde_json::from_str::<serde_json::Value>(&p)
                    .map(|v| v["body"].clone())
                    .map_err(|cause| StoreError::Corrupt {
                        column: "payload",
                        cause,
                    })
            })
            .transpose()
    }

    /// Records that a pipeline of `application` was saved at `at`.
    pub async fn record_pipeline_save(
        &self,
        application: &str,
        at: OffsetDateTime,
    ) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO pipeline_saves (application, saved_at) VALUES ($1, $2) \
             ON CONFLICT (application) DO UPDATE SET saved_at = excluded.saved_at",
        )
        .bind(application)
        .bind(millis(at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// When a pipeline of `application` was last saved by `baton pipelines apply`.
    pub async fn pipeline_saved_at(
        &self,
        application: &str,
    ) -> Result<Option<OffsetDateTime>, StoreError> {
        let at: Option<i64> =
            sqlx::query_scalar("SELECT saved_at FROM pipeline_saves WHERE application = $1")
                .bind(application)
                .fetch_optional(self.pool())
                .await?;
        Ok(at.map(from_millis))
    }

    /// Puts a leased record back to wait until `until` without counting the attempt (it
    /// was not tried), noting why in `last_error` behind [`WAITING`]. False if `owner` no
    /// longer holds it.
    pub async fn defer(
        &self,
        id: i64,
        owner: &str,
        until: OffsetDateTime,
        why: &str,
    ) -> Result<bool, StoreError> {
        let q = sqlx::query(
            "UPDATE outbox SET next_attempt_at = $1, last_error = $2, \
             attempts = CASE WHEN attempts > 0 THEN attempts - 1 ELSE 0 END, \
             lease_owner = NULL, lease_until = NULL \
             WHERE id = $3 AND lease_owner = $4 AND state = 'pending'",
        )
        .bind(millis(until))
        .bind(format!("{WAITING}{why}"))
        .bind(id)
        .bind(owner);
        self.changed_one(q).await
    }
}
