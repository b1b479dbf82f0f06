//! The replica registry: one row per `baton serve` process on this store, with a heartbeat.
//! `status` lists it; `serve` reads it to refuse a second writer of a SQLite file. Rows of
//! replicas that stopped (or stopped beating) are kept for a while so `status` can say so.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, StoreError, millis};

/// One `baton serve` process.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize, serde::Deserialize, utoipa::ToSchema)]
pub struct Replica {
    /// Its id (also the owner name on its leases).
    pub id: String,
    /// Host name.
    pub host: String,
    /// Process id on that host.
    pub pid: i64,
    /// baton version.
    pub version: String,
    /// When it started.
    #[serde(with = "time::serde::rfc3339")]
    pub started_at: OffsetDateTime,
    /// Its last heartbeat.
    #[serde(with = "time::serde::rfc3339")]
    pub heartbeat_at: OffsetDateTime,
    /// When it stopped cleanly (`None`: running, or killed).
    #[serde(with = "time::serde::rfc3339::option")]
    pub stopped_at: Option<OffsetDateTime>,
}

impl Store {
    /// Records `r` as started.
    pub async fn register_replica(&self, r: &Replica) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO replicas (id, host, pid, version, started_at, heartbeat_at) \
             VALUES ($1, $2, $3, $4, $5, $6)",
        )
        .bind(&r.id)
        .bind(&r.host)
        .bind(r.pid)
        .bind(&r.version)
        .bind(millis(r.started_at))
        .bind(millis(r.heartbeat_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Stamps a heartbeat of replica `id`.
    pub async fn heartbeat(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE replicas SET heartbeat_at = $1 WHERE id = $2")
            .bind(millis(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Marks replica `id` stopped (clean shutdown).
    pub async fn replica_stopped(&self, id: &str, now: OffsetDateTime) -> Result<(), StoreError> {
        sqlx::query("UPDATE replicas SET stopped_at = $1 WHERE id = $2")
            .bind(millis(now))
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Forgets replicas whose last heartbeat is older than `before`.
    pub async fn forget_replicas(&self, before: OffsetDateTime) -> Result<u64, StoreError> {
        Ok(sqlx::query("DELETE FROM replicas WHERE heartbeat_at < $1")
            .bind(millis(before))
            .execute(self.pool())
            .await?
            .rows_affected())
    }

    /// Every known replica, newest first.
    pub async fn replicas(&self) -> Result<Vec<Replica>, StoreError> {
        let rows = sqlx::query(
            "SELECT id, host, pid, version, started_at, heartbeat_at, stopped_at FROM replicas \
             ORDER BY started_at DESC, id",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(super::rows::ReplicaRow::from_row(r)?.into()))
            .collect()
    }

    /// Outbox records each replica holds a live lease on, as `(owner, record id, target)`.
    pub async fn leased_records(
        &self,
        now: OffsetDateTime,
    ) -> Result<Vec<(String, i64, String)>, StoreError> {
        Ok(sqlx::query_as(
            "SELECT lease_owner, id, target FROM outbox WHERE state = 'pending' \
             AND lease_owner IS NOT NULL AND lease_until > $1 ORDER BY id",
        )
        .bind(millis(now))
        .fetch_all(self.pool())
        .await?)
    }
}
