//! Outbox records in the store: enqueue (idempotent by key), per-target heads, leases and
//! their renewal, outcomes, latest-wins superseding, manual retry/drop and retention. Policy
//! lives in [`crate::outbox`].

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::rows::RecordRow;
use super::{Store, StoreError, from_millis, millis};

/// Where a record is in its life.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum State {
    /// Waiting for (another) delivery attempt.
    Pending,
    /// Delivered; kept for history until retention removes it.
    Delivered,
    /// Gave up after the last attempt or a permanent failure; retryable by hand.
    Dead,
    /// Never sent: a newer record of the same group (product + environments, image + tag)
    /// replaced it while it waited.
    Superseded,
}

impl State {
    /// The name stored and shown (`pending`, `delivered`, `dead`, `superseded`).
    pub fn as_str(self) -> &'static str {
        match self {
            State::Pending => "pending",
            State::Delivered => "delivered",
            State::Dead => "dead",
            State::Superseded => "superseded",
        }
    }

    pub(super) fn parse(s: &str) -> Self {
        match s {
            "delivered" => State::Delivered,
            "dead" => State::Dead,
            "superseded" => State::Superseded,
            _ => State::Pending,
        }
    }
}

/// A record to add to the outbox.
#[derive(Debug, Clone)]
pub struct NewRecord {
    /// Effect kind, e.g. `spinnaker.webhook`.
    pub kind: String,
    /// Ordering domain: records of one target are delivered one at a time, in id order.
    pub target: String,
    /// What to send (the kind's payload).
    pub payload: serde_json::Value,
    /// Idempotency key: at most one record per key, ever.
    pub key: String,
    /// The event this effect belongs to.
    pub event_id: Option<String>,
    /// Latest wins: a waiting record of the same group whose scope is within this record's
    /// scope is superseded by it.
    pub supersede: Option<Supersede>,
}

/// A record's latest-wins group.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Supersede {
    /// The group, e.g. `chart:micro-gw` or `image:micro-gw:petstore:latest`.
    pub group: String,
    /// What the record covers within its group (e.g. environments); an older record is
    /// superseded only by a newer one covering all of it.
    pub scope: Vec<String>,
}

/// A stored outbox record.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Record {
    /// Id (increasing).
    pub id: i64,
    /// Effect kind.
    pub kind: String,
    /// Ordering domain.
    pub target: String,
    /// What to send.
    #[schema(value_type = Object)]
    pub payload: serde_json::Value,
    /// Idempotency key.
    pub key: String,
    /// The event this effect belongs to.
    pub event_id: Option<String>,
    /// Life state.
    pub state: State,
    /// Attempts started so far.
    pub attempts: u32,
    /// When the next attempt may start.
    #[serde(with = "time::serde::rfc3339")]
    pub next_attempt_at: OffsetDateTime,
    /// Why the last attempt failed.
    pub last_error: Option<String>,
    /// Until when a worker holds it.
    #[serde(with = "time::serde::rfc3339::option")]
    pub lease_until: Option<OffsetDateTime>,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// When it was delivered.
    #[serde(with = "time::serde::rfc3339::option")]
    pub delivered_at: Option<OffsetDateTime>,
    /// What the receiver answered (kind-specific).
    #[schema(value_type = Option<Object>)]
    pub response: Option<serde_json::Value>,
    /// The newer record that replaced this one (state `superseded`).
    pub superseded_by: Option<i64>,
}

/// Record counts by state, for status and metrics.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Counts {
    /// Pending records.
    pub pending: u64,
    /// Delivered records still kept.
    pub delivered: u64,
    /// Dead records.
    pub dead: u64,
    /// Records a newer one replaced before they were sent.
    pub superseded: u64,
    /// Creation time of the oldest pending record.
    #[serde(with = "time::serde::rfc3339::option")]
    pub oldest_pending: Option<OffsetDateTime>,
}

const COLUMNS: &str = "id, kind, target, payload, idem_key, event_id, state, attempts, \
    next_attempt_at, last_error, lease_until, created_at, delivered_at, response, superseded_by";

fn decode(row: &AnyRow) -> Result<Record, StoreError> {
    RecordRow::from_row(row)?.try_into()
}

impl Store {
    /// Records `new` unless a record with its key exists. Returns the record and whether it
    /// was created now.
    pub async fn enqueue(
        &self,
        new: &NewRecord,
        now: OffsetDateTime,
    ) -> Result<(Record, bool), StoreError> {
        let q = sqlx::query(
            "INSERT INTO outbox (kind, target, payload, idem_key, event_id, state, attempts, \
             next_attempt_at, created_at, supersede_group, supersede_scope) \
             VALUES ($1, $2, $3, $4, $5, 'pending', 0, $6, $6, $7, $8) \
             ON CONFLICT (idem_key) DO NOTHING",
        )
        .bind(&new.kind)
        .bind(&new.target)
        .bind(new.payload.to_string())
        .bind(&new.key)
        .bind(&new.event_id)
        .bind(millis(now))
        .bind(new.supersede.as_ref().map(|s| s.group.clone()))
        .bind(new.supersede.as_ref().map(|s| scope_text(&s.scope)));
        let inserted = self.changed_one(q).await?;
        let record = self
            .record_by_key(&new.key)
            .await?
            .ok_or_else(|| StoreError::NotFound {
                what: "outbox record with key",
                id: new.key.clone(),
            })?;
        Ok((record, inserted))
    }

    /// The record with idempotency key `key`.
    pub async fn record_by_key(&self, key: &str) -> Result<Option<Record>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE idem_key = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(key)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The record `id`.
    pub async fn record(&self, id: i64) -> Result<Option<Record>, StoreError> {
        let sql = format!("SELECT {COLUMNS} FROM outbox WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// The oldest pending record of each target whose kind is in `kinds`, leased or not.
    /// Later records of a target wait behind its head.
    pub async fn pending_heads(&self, kinds: &[&str]) -> Result<Vec<Record>, StoreError> {
        let sql = |list: &str| {
            format!(
                "SELECT {COLUMNS} FROM outbox o WHERE o.state = 'pending' AND o.id = \
                 (SELECT MIN(i.id) FROM outbox i WHERE i.state = 'pending' AND i.target = o.target) \
                 AND o.kind IN ({list}) ORDER BY o.next_attempt_at, o.id"
            )
        };
        self.fetch_in(kinds, sql, decode).await
    }

    /// Leases record `id` to `owner` until `until`, counting an attempt. False if it is not
    /// pending or another worker holds an unexpired lease.
    pub async fn claim(
        &self,
        id: i64,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let q = sqlx::query(
            "UPDATE outbox SET lease_owner = $1, lease_until = $2, attempts = attempts + 1 \
             WHERE id = $3 AND state = 'pending' AND next_attempt_at <= $4 \
             AND (lease_until IS NULL OR lease_until <= $4)",
        )
        .bind(owner)
        .bind(millis(until))
        .bind(id)
        .bind(millis(now));
        self.changed_one(q).await
    }

    /// Marks a leased record delivered. False if `owner` no longer holds it.
    pub async fn mark_delivered(
        &self,
        id: i64,
        owner: &str,
        now: OffsetDateTime,
        response: Option<&serde_json::Value>,
    ) -> Result<bool, StoreError> {
        let q = sqlx::query(
            "UPDATE outbox SET state = 'delivered', delivered_at = $1, response = $2, \
             last_error = NULL, lease_owner = NULL, lease_until = NULL \
             WHERE id = $3 AND lease_owner = $4 AND state = 'pending'",
        )
        .bind(millis(now))
        .bind(response.map(|r| r.to_string()))
        .bind(id)
        .bind(owner);
        self.changed_one(q).await
    }

    /// Records a failed attempt: pending again at `retry_at`, or dead when `None`.
    pub async fn mark_failed(
        &self,
        id: i64,
        owner: &str,
        error: &str,
        retry_at: Option<OffsetDateTime>,
    ) -> Result<bool, StoreError> {
        let (state, at) = match retry_at {
            Some(at) => (State::Pending, Some(millis(at))),
            None => (State::Dead, None),
        };
        let q = sqlx::query(
            "UPDATE outbox SET state = $1, next_attempt_at = COALESCE($2, next_attempt_at), \
             last_error = $3, lease_owner = NULL, lease_until = NULL \
             WHERE id = $4 AND lease_owner = $5 AND state = 'pending'",
        )
        .bind(state.as_str())
        .bind(at)
        .bind(error)
        .bind(id)
        .bind(owner);
        self.changed_one(q).await
    }

    /// Gives up a lease without an outcome (shutdown); the record is due again at once.
    pub async fn release(&self, id: i64, owner: &str) -> Result<bool, StoreError> {
        let q = sqlx::query(
            "UPDATE outbox SET lease_owner = NULL, lease_until = NULL \
             WHERE id = $1 AND lease_owner = $2 AND state = 'pending'",
        )
        .bind(id)
        .bind(owner);
        self.changed_one(q).await
    }

    /// Makes a dead (or waiting) record due now with a fresh attempt budget.
    pub async fn retry_record(&self, id: i64, now: OffsetDateTime) -> Result<Record, StoreError> {
        let n = sqlx::query(
            "UPDATE outbox SET state = 'pending', attempts = 0, next_attempt_at = $1 \
             WHERE id = $2 AND (state = 'dead' OR (state = 'pending' AND \
             (lease_until IS NULL OR lease_until <= $1)))",
        )
        .bind(millis(now))
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        let record = self.record(id).await?.ok_or_else(|| not_found(id))?;
        if n == 0 {
            return Err(unchanged(&record, "was already delivered"));
        }
        Ok(record)
    }

    /// Deletes a pending or dead record that no worker holds.
    pub async fn drop_record(&self, id: i64, now: OffsetDateTime) -> Result<Record, StoreError> {
        let record = self.record(id).await?.ok_or_else(|| not_found(id))?;
        let n = sqlx::query(
            "DELETE FROM outbox WHERE id = $1 AND state IN ('pending', 'dead') \
             AND (lease_until IS NULL OR lease_until <= $2)",
        )
        .bind(id)
        .bind(millis(now))
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(unchanged(&record, "was delivered; it is history"));
        }
        Ok(record)
    }

    /// Records, newest first, optionally of one state.
    pub async fn list_records(
        &self,
        state: Option<State>,
        limit: u32,
    ) -> Result<Vec<Record>, StoreError> {
        let sql = format!(
            "SELECT {COLUMNS} FROM outbox WHERE ($1 = '' OR state = $1) ORDER BY id DESC LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(state.map(State::as_str).unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(decode)
            .collect()
    }

    /// Counts by state.
    pub async fn outbox_counts(&self) -> Result<Counts, StoreError> {
        let rows: Vec<(String, i64)> =
            sqlx::query_as("SELECT state, COUNT(*) AS n FROM outbox GROUP BY state")
                .fetch_all(self.pool())
                .await?;
        let mut c = Counts::default();
        for (state, n) in rows {
            let n = u64::try_from(n).unwrap_or(0);
            match State::parse(&state) {
                State::Pending => c.pending = n,
                State::Delivered => c.delivered = n,
                State::Dead => c.dead = n,
                State::Superseded => c.superseded = n,
            }
        }
        let oldest: Option<i64> =
            sqlx::query_scalar("SELECT MIN(created_at) FROM outbox WHERE state = 'pending'")
                .fetch_one(self.pool())
                .await?;
        c.oldest_pending = oldest.map(from_millis);
        Ok(c)
    }

    /// Deletes delivered records delivered before `before`; returns how many.
    pub async fn purge_delivered(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(
            sqlx::query("DELETE FROM outbox WHERE state = 'delivered' AND delivered_at < $1")
                .bind(millis(before))
                .execute(self.pool())
                .await?
                .rows_affected(),
        )
    }
}

/// Why a retry or a drop changed nothing, from the record's state; `delivered` finishes the
/// sentence for a delivered record.
fn unchanged(record: &Record, delivered: &str) -> StoreError {
    let id = record.id;
    StoreError::Conflict(match record.state {
        State::Delivered => format!("outbox record {id} {delivered}"),
        State::Superseded => superseded_message(record),
        _ => format!("outbox record {id} is being delivered right now"),
    })
}

fn superseded_message(r: &Record) -> String {
    match r.superseded_by {
        Some(by) => format!(
            "outbox record {} was superseded by record {by}, which carries the newer change",
            r.id
        ),
        None => format!("outbox record {} was superseded", r.id),
    }
}

fn scope_text(scope: &[String]) -> String {
    let mut s = scope.to_vec();
    s.sort();
    s.dedup();
    s.join(",")
}

fn not_found(id: i64) -> StoreError {
    StoreError::NotFound {
        what: "outbox record",
        id: id.to_string(),
    }
}
