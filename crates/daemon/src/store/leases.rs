//! Named leases: who owns a piece of work shared by the replicas (a source's scheduled checks,
//! a Jenkins build follow-up) and until when. A lease is taken with one compare-and-set
//! `INSERT … ON CONFLICT DO UPDATE … WHERE` (expired or already ours), so two replicas never
//! both win, on SQLite or PostgreSQL. The owner renews it while it works (a build follow-up)
//! or lets it run until the next run is due (a scheduled turn, [`crate::ha::turns`]); a
//! killed owner's lease simply runs out.

use std::collections::HashSet;

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, StoreError, millis};

/// Most leases taken by one statement of [`Store::try_leases`] (two parameters each; SQLite
/// allows 32,766 and PostgreSQL 65,535).
pub const LEASE_BATCH: usize = 500;

/// One lease as stored.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct Lease {
    /// What is leased, e.g. `source:chart-source:micro-gw`.
    pub name: String,
    /// The replica holding it (`None` once released).
    pub owner: Option<String>,
    /// Until when it is held.
    #[serde(with = "time::serde::rfc3339")]
    pub until: OffsetDateTime,
}

impl Store {
    /// Takes `name` for `owner` until `until` if it is free, expired or already `owner`'s.
    pub async fn try_lease(
        &self,
        name: &str,
        owner: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<bool, StoreError> {
        let won = self
            .try_leases(&[(name.to_owned(), until)], owner, now)
            .await?;
        Ok(won.contains(name))
    }

    /// [`Store::try_lease`] for many names at once, each with its own end: one statement per
    /// [`LEASE_BATCH`] names (sorted, so that two replicas taking overlapping batches lock the
    /// rows in the same order and never deadlock). Returns the names `owner` now holds.
    pub async fn try_leases(
        &self,
        leases: &[(String, OffsetDateTime)],
        owner: &str,
        now: OffsetDateTime,
    ) -> Result<HashSet<String>, StoreError> {
        let mut sorted: Vec<&(String, OffsetDateTime)> = leases.iter().collect();
        sorted.sort_by(|a, b| a.0.cmp(&b.0));
        let mut won = HashSet::new();
        for chunk in sorted.chunks(LEASE_BATCH) {
            // Placeholders only: the names are bound, never formatted into the statement.
            let rows: Vec<String> = (0..chunk.len())
                .map(|i| format!("(${}, $1, ${})", 3 + 2 * i, 4 + 2 * i))
                .collect();
            let sql = format!(
                "INSERT INTO leases (name, owner, lease_until) VALUES {} \
                 ON CONFLICT (name) DO UPDATE SET owner = excluded.owner, \
                 lease_until = excluded.lease_until \
                 WHERE leases.owner IS NULL OR leases.owner = excluded.owner \
                 OR leases.lease_until <= $2 RETURNING name",
                rows.join(", ")
            );
            let mut q = sqlx::query(sqlx::AssertSqlSafe(sql))
                .bind(owner)
                .bind(millis(now));
            for (name, until) in chunk {
                q = q.bind(name.as_str()).bind(millis(*until));
            }
            for r in q.fetch_all(self.pool()).await? {
                won.insert(<(String,)>::from_row(&r)?.0);
            }
        }
        Ok(won)
    }

    /// Extends every lease of `owner` whose name starts with `prefix` to `until`, if still
    /// held; returns the names still held (a lease that ran out and was taken is gone).
    pub async fn renew_leases(
        &self,
        owner: &str,
        prefix: &str,
        now: OffsetDateTime,
        until: OffsetDateTime,
    ) -> Result<HashSet<String>, StoreError> {
        let rows = sqlx::query(
            "UPDATE leases SET lease_until = $1 WHERE owner = $2 AND lease_until > $3 \
             AND name LIKE $4 RETURNING name",
        )
        .bind(millis(until))
        .bind(owner)
        .bind(millis(now))
        .bind(format!("{prefix}%"))
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(<(String,)>::from_row(r)?.0))
            .collect()
    }

    /// Gives up `name` if `owner` holds it (clean shutdown, work finished).
    pub async fn release_lease(&self, name: &str, owner: &str) -> Result<(), StoreError> {
        sqlx::query("UPDATE leases SET owner = NULL WHERE name = $1 AND owner = $2")
            .bind(name)
            .bind(owner)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// The lease `name`, if it was ever taken.
    pub async fn lease(&self, name: &str) -> Result<Option<Lease>, StoreError> {
        let row = sqlx::query("SELECT name, owner, lease_until FROM leases WHERE name = $1")
            .bind(name)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(decode).transpose()
    }

    /// Every lease whose name starts with `prefix`, by name.
    pub async fn leases(&self, prefix: &str) -> Result<Vec<Lease>, StoreError> {
        let rows = sqlx::query(
            "SELECT name, owner, lease_until FROM leases WHERE name LIKE $1 \
             ORDER BY name",
        )
        .bind(format!("{prefix}%"))
        .fetch_all(self.pool())
        .await?;
        rows.iter().map(decode).collect()
    }
}

fn decode(r: &sqlx::any::AnyRow) -> Result<Lease, StoreError> {
    Ok(super::rows::LeaseRow::from_row(r)?.into())
}

impl Store {
    /// Extends the leases `owner` holds on outbox records `ids` to `until`; returns the ids
    /// still held (a record whose lease ran out and was claimed again is not among them).
    pub async fn renew_records(
        &self,
        ids: &[i64],
        owner: &str,
        until: OffsetDateTime,
    ) -> Result<HashSet<i64>, StoreError> {
        if ids.is_empty() {
            return Ok(HashSet::new());
        }
        let list: Vec<String> = ids.iter().map(i64::to_string).collect();
        // The ids are numbers formatted here, never user text.
        let sql = format!(
            "UPDATE outbox SET lease_until = $1 WHERE lease_owner = $2 AND state = 'pending' \
             AND id IN ({}) RETURNING id",
            list.join(", ")
        );
        let rows = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(millis(until))
            .bind(owner)
            .fetch_all(self.pool())
            .await?;
        rows.iter().map(|r| Ok(<(i64,)>::from_row(r)?.0)).collect()
    }
}

impl Store {
    /// Drops every lease on outbox records, build follow-ups and delivery verifications: only
    /// for a SQLite file this process holds alone (a lease there belongs to a process that
    /// died), so a restart takes the work over at once instead of after the lease. Scheduled
    /// turns stay: that run happened.
    pub async fn release_dead_leases(&self) -> Result<u64, StoreError> {
        let records = sqlx::query(
            "UPDATE outbox SET lease_owner = NULL, lease_until = NULL \
             WHERE state = 'pending' AND lease_owner IS NOT NULL",
        )
        .execute(self.pool())
        .await?
        .rows_affected();
        sqlx::query(
            "UPDATE leases SET owner = NULL WHERE name LIKE 'follow:%' OR name LIKE 'verify:%'",
        )
        .execute(self.pool())
        .await?;
        Ok(records)
    }
}
