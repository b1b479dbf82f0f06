//! The state store: SQLite by default (a file, WAL), PostgreSQL by URL, one schema and one set
//! of portable SQL over `sqlx::AnyPool` (`$N` placeholders work on both; times are Unix
//! milliseconds in BIGINT columns).
//!
//! It holds the last observation per source, the delivered chart/values digests per product and
//! environment, the outbox ([`outbox`]) and events with their correlation ids ([`events`]);
//! for several replicas, named [`leases`] and the [`replicas`] registry.

mod batch;
pub mod deliveries;
pub mod events;
pub mod followups;
mod latest;
pub mod leases;
mod migrations;
pub mod outbox;
pub mod replicas;
mod rows;
pub mod verify;

use std::path::Path;
use std::time::Duration;

use sqlx::AnyPool;
use sqlx::any::{AnyPoolOptions, AnyRow};
use time::OffsetDateTime;

pub use migrations::latest_version;

/// A state store failure.
///
/// The variants that wrap a database or decode error carry its text in their own and do not
/// return it as their `source()`: sqlx's errors already put their cause in their text, and a
/// log line (`error = %e`) should say everything without walking a chain.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum StoreError {
    /// The database refused or could not be reached.
    #[error("state store: {0}")]
    Database(sqlx::Error),
    /// A batched write ([`Store::record_observation`]) failed, for every row in it.
    #[error("state store (batched write): {0}")]
    Batch(std::sync::Arc<sqlx::Error>),
    /// The writer committing this row's batch was stopped before it answered (shutdown).
    #[error("state store: the batched write was interrupted")]
    Interrupted,
    /// No connection could be opened within the pool's wait; `cause` is what one direct
    /// attempt said (the pool's own error only says it timed out).
    #[error(
        "state store: cannot reach the database at {url} (waited {waited:?}): {cause}; check that it runs and that the URL's host, port, user and password are right"
    )]
    Unreachable {
        /// The URL, without password.
        url: String,
        /// How long the pool waited.
        waited: Duration,
        /// The direct attempt's error.
        cause: String,
    },
    /// The URL is not one baton can use.
    #[error("state store URL {url:?}: {reason}")]
    Url {
        /// The URL, without password.
        url: String,
        /// Why it was refused.
        reason: String,
    },
    /// The schema is not one this build can use.
    #[error("state store schema: {0}")]
    Schema(String),
    /// No such record.
    #[error("{what} {id} not found")]
    NotFound {
        /// Kind of record.
        what: &'static str,
        /// Its id.
        id: String,
    },
    /// The record is not in a state that allows the request.
    #[error("{0}")]
    Conflict(String),
    /// A stored value could not be decoded.
    #[error("state store holds a bad value in {column}: {cause}")]
    Corrupt {
        /// Column name.
        column: &'static str,
        /// Decode failure.
        cause: serde_json::Error,
    },
}

impl From<sqlx::Error> for StoreError {
    fn from(e: sqlx::Error) -> Self {
        Self::Database(e)
    }
}

/// Which database is behind the store.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Backend {
    /// A local SQLite file.
    Sqlite,
    /// A PostgreSQL server.
    Postgres,
}

/// Connection-pool settings.
#[derive(Debug, Clone)]
pub struct PoolSettings {
    /// Most connections held.
    pub max_connections: u32,
    /// Connections opened at start and kept.
    pub min_connections: u32,
    /// How long to wait for a free connection.
    pub acquire_timeout: Duration,
    /// Close connections idle this long (`None`: keep them).
    pub idle_timeout: Option<Duration>,
}

impl Default for PoolSettings {
    fn default() -> Self {
        Self {
            max_connections: 8,
            min_connections: 0,
            acquire_timeout: Duration::from_secs(10),
            idle_timeout: Some(Duration::from_secs(600)),
        }
    }
}

/// The state store handle; cheap to clone.
#[derive(Clone, Debug)]
pub struct Store {
    pool: AnyPool,
    backend: Backend,
    url: std::sync::Arc<str>,
    batch: std::sync::Arc<batch::Batcher>,
}

/// The PostgreSQL channel an enqueue notifies so every replica's worker wakes.
pub const OUTBOX_CHANNEL: &str = "baton_outbox";

/// Why no connection opened within `waited`: one direct attempt (at most 5 s) names the cause.
async fn unreachable(url: &str, waited: Duration) -> StoreError {
    let attempt = <sqlx::AnyConnection as sqlx::Connection>::connect(url);
    let cause = match tokio::time::timeout(Duration::from_secs(5), attempt).await {
        Ok(Err(e)) => e.to_string(),
        Ok(Ok(_)) => "it answered a second attempt; try again".into(),
        Err(_) => "no answer within 5 s".into(),
    };
    StoreError::Unreachable {
        url: redact(url),
        waited,
        cause,
    }
}

impl Store {
    /// Connects with default pool settings and applies migrations.
    pub async fn open(url: &str) -> Result<Self, StoreError> {
        Self::open_with(url, PoolSettings::default()).await
    }

    /// Connects with `settings` and applies migrations. A SQLite file and its folder are
    /// created if missing, and the file is switched to WAL.
    pub async fn open_with(url: &str, settings: PoolSettings) -> Result<Self, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, url) = prepare_url(url)?;
        let pool = AnyPoolOptions::new()
            .max_connections(settings.max_connections)
            .min_connections(settings.min_connections)
            .acquire_timeout(settings.acquire_timeout)
            .idle_timeout(settings.idle_timeout)
            .max_lifetime(None)
            .test_before_acquire(false)
            .after_connect(move |conn, _| {
                Box::pin(async move {
                    // No store call may hang the worker or a request: PostgreSQL cancels
                    // statements after 30s (SQLite waits at most its 5s busy timeout).
                    if backend == Backend::Postgres {
                        sqlx::Executor::execute(&mut *conn, "SET statement_timeout = 30000")
                            .await?;
                    } else {
                        // 512 KiB of page cache per connection instead of SQLite's 2 MiB:
                        // with 10,000 sources the 8 connections each cached most of the
                        // observations table (9.5 MiB in all, measured); the pages stay in
                        // the OS's file cache, which is a read away.
                        sqlx::Executor::execute(&mut *conn, "PRAGMA cache_size = -512").await?;
                    }
                    Ok(())
                })
            })
            .connect(&url)
            .await
            .map_err(StoreError::from);
        let pool = match pool {
            Err(StoreError::Database(sqlx::Error::PoolTimedOut)) => {
                return Err(unreachable(&url, settings.acquire_timeout).await);
            }
            other => other?,
        };
        if backend == Backend::Sqlite {
            sqlx::query("PRAGMA journal_mode=WAL")
                .execute(&pool)
                .await?;
        }
        migrations::run(&pool, backend).await?;
        Ok(Self {
            pool,
            backend,
            url: url.into(),
            batch: Default::default(),
        })
    }

    /// Checks that the database at `url` answers, without creating or migrating anything.
    /// Returns the schema version found (0 for a database baton has not used yet), or `None`
    /// for a SQLite file that does not exist yet (`serve` creates it).
    pub async fn probe(url: &str, timeout: Duration) -> Result<Option<i64>, StoreError> {
        sqlx::any::install_default_drivers();
        let (backend, prepared) = prepare_url_readonly(url)?;
        if backend == Backend::Sqlite {
            let path = prepared
                .trim_start_matches("sqlite://")
                .split('?')
                .next()
                .unwrap_or_default();
            if !Path::new(path).exists() {
                return Ok(None);
            }
        }
        let pool = AnyPoolOptions::new()
            .max_connections(1)
            .acquire_timeout(timeout)
            .connect(&prepared)
            .await?;
        let table: Option<String> = match backend {
            Backend::Sqlite => sqlx::query_scalar(
                "SELECT name FROM sqlite_master WHERE type = 'table' AND name = 'baton_migrations'",
            )
            .fetch_optional(&pool)
            .await?,
            Backend::Postgres => sqlx::query_scalar(
                "SELECT table_name::text FROM information_schema.tables WHERE table_name = 'baton_migrations'",
            )
            .fetch_optional(&pool)
            .await?,
        };
        let version = match table {
            Some(_) => {
                sqlx::query_scalar::<_, Option<i64>>("SELECT MAX(version) FROM baton_migrations")
                    .fetch_one(&pool)
                    .await?
                    .unwrap_or(0)
            }
            None => 0,
        };
        pool.close().await;
        Ok(Some(version))
    }

    /// The backend in use.
    pub fn backend(&self) -> Backend {
        self.backend
    }

    /// Tells every replica's worker that a record was enqueued (PostgreSQL `NOTIFY`; nothing
    /// on SQLite, which has one replica). Best effort: workers also poll.
    pub async fn notify_outbox(&self) {
        if self.backend != Backend::Postgres {
            return;
        }
        if let Err(e) = sqlx::query("SELECT pg_notify($1, '')")
            .bind(OUTBOX_CHANNEL)
            .execute(&self.pool)
            .await
        {
            tracing::debug!(error = %e, "NOTIFY failed; the other replicas find the record by polling");
        }
    }

    /// The connection URL (with its password: never log it; see [`redact`]).
    pub(crate) fn url(&self) -> &str {
        &self.url
    }

    /// Checks that the database answers.
    pub async fn ping(&self) -> Result<(), StoreError> {
        sqlx::query("SELECT 1").execute(&self.pool).await?;
        Ok(())
    }

    /// The schema version recorded in the database.
    pub async fn schema_version(&self) -> Result<i64, StoreError> {
        let v: Option<i64> = sqlx::query_scalar("SELECT MAX(version) FROM baton_migrations")
            .fetch_one(&self.pool)
            .await?;
        Ok(v.unwrap_or(0))
    }

    /// Closes the pool, waiting for connections to be returned.
    pub async fn close(&self) {
        self.pool.close().await;
    }

    /// Connections currently open in the pool.
    pub fn open_connections(&self) -> u32 {
        self.pool.size()
    }

    #[doc(hidden)]
    pub async fn execute_raw(&self, sql: &str) -> Result<(), StoreError> {
        sqlx::raw_sql(sqlx::AssertSqlSafe(sql.to_owned()))
            .execute(&self.pool)
            .await?;
        Ok(())
    }

    pub(crate) fn pool(&self) -> &AnyPool {
        &self.pool
    }

    /// Runs `q`, a statement meant to change one row: whether it did (false when the row has
    /// moved on, e.g. a lease another worker holds now).
    pub(crate) async fn changed_one(
        &self,
        q: sqlx::query::Query<'_, sqlx::Any, sqlx::any::AnyArguments>,
    ) -> Result<bool, StoreError> {
        Ok(q.execute(self.pool()).await?.rows_affected() == 1)
    }

    /// The rows, decoded, of the query `sql` writes around the bind marks of `values` (an
    /// `IN (…)` list); none when `values` is empty, as SQL has no empty `IN ()`.
    pub(crate) async fn fetch_in<T>(
        &self,
        values: &[&str],
        sql: impl FnOnce(&str) -> String,
        decode: impl Fn(&AnyRow) -> Result<T, StoreError>,
    ) -> Result<Vec<T>, StoreError> {
        if values.is_empty() {
            return Ok(Vec::new());
        }
        let sql = sql(&placeholders(values.len()));
        let mut q = sqlx::query(sqlx::AssertSqlSafe(sql));
        for v in values {
            q = q.bind(*v);
        }
        q.fetch_all(self.pool()).await?.iter().map(decode).collect()
    }
}

/// Like [`prepare_url`] but opens SQLite read-only and creates nothing.
fn prepare_url_readonly(url: &str) -> Result<(Backend, String), StoreError> {
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    let rest = url.strip_prefix("sqlite:").ok_or_else(|| StoreError::Url {
        url: redact(url),
        reason: "use sqlite://FILE or postgres://USER@HOST/DB".into(),
    })?;
    let path = rest
        .trim_start_matches("//")
        .split('?')
        .next()
        .unwrap_or_default();
    Ok((Backend::Sqlite, format!("sqlite://{path}?mode=ro")))
}

fn prepare_url(url: &str) -> Result<(Backend, String), StoreError> {
    let bad = |reason: &str| StoreError::Url {
        url: redact(url),
        reason: reason.to_owned(),
    };
    if url.starts_with("postgres://") || url.starts_with("postgresql://") {
        return Ok((Backend::Postgres, url.to_owned()));
    }
    let Some(rest) = url.strip_prefix("sqlite:") else {
        return Err(bad("use sqlite://FILE or postgres://USER@HOST/DB"));
    };
    let rest = rest.trim_start_matches("//");
    let (path, query) = rest.split_once('?').unwrap_or((rest, ""));
    if path.is_empty() || path == ":memory:" {
        return Err(bad(
            "name a file; an in-memory database would lose the outbox",
        ));
    }
    if let Some(dir) = Path::new(path).parent()
        && !dir.as_os_str().is_empty()
    {
        std::fs::create_dir_all(dir)
            .map_err(|e| bad(&format!("cannot create the folder {}: {e}", dir.display())))?;
    }
    let query = if query.is_empty() {
        "mode=rwc".to_owned()
    } else if query.contains("mode=") {
        query.to_owned()
    } else {
        format!("{query}&mode=rwc")
    };
    Ok((Backend::Sqlite, format!("sqlite://{path}?{query}")))
}

/// The URL with any password replaced by `***` ([`baton_http::redact::url`]).
pub fn redact(url: &str) -> String {
    baton_http::redact::url(url)
}

/// `$1, $2, …, $n`: the bind marks of an `IN (…)` list of `n` values (both backends number
/// their parameters this way through `sqlx::Any`).
fn placeholders(n: usize) -> String {
    (1..=n)
        .map(|i| format!("${i}"))
        .collect::<Vec<_>>()
        .join(", ")
}

pub(crate) fn millis(t: OffsetDateTime) -> i64 {
    (t.unix_timestamp_nanos() / 1_000_000) as i64
}

pub(crate) fn from_millis(ms: i64) -> OffsetDateTime {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .unwrap_or(OffsetDateTime::UNIX_EPOCH)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sqlite_urls_get_create_mode_and_memory_is_refused() {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("sub/b.db");
        let (b, u) = prepare_url(&format!("sqlite://{}", file.display())).unwrap();
        assert_eq!(b, Backend::Sqlite);
        assert!(u.ends_with("b.db?mode=rwc"), "{u}");
        assert!(file.parent().unwrap().is_dir());
        assert!(prepare_url("sqlite::memory:").is_err());
        assert!(prepare_url("mysql://x").is_err());
    }

    #[test]
    fn redact_hides_passwords() {
        assert_eq!(redact("postgres://u:pw@h/db"), "postgres://u:***@h/db");
        assert_eq!(redact("sqlite://a.db"), "sqlite://a.db");
    }

    #[test]
    fn placeholders_number_from_one() {
        assert_eq!(placeholders(1), "$1");
        assert_eq!(placeholders(3), "$1, $2, $3");
    }

    /// A store error read once, as a log line shows it (`%e`): the database's or the
    /// decoder's words in full, and no `source()` that a chain would print a second time.
    #[test]
    fn store_errors_carry_their_cause_once() {
        let decode = serde_json::from_str::<u8>("x").unwrap_err();
        let errors = [
            StoreError::from(sqlx::Error::PoolTimedOut),
            StoreError::Batch(std::sync::Arc::new(sqlx::Error::PoolClosed)),
            StoreError::Corrupt {
                column: "payload",
                cause: serde_json::from_str::<u8>("x").unwrap_err(),
            },
        ];
        let causes = [
            sqlx::Error::PoolTimedOut.to_string(),
            sqlx::Error::PoolClosed.to_string(),
            decode.to_string(),
        ];
        for (e, cause) in errors.iter().zip(causes) {
            let text = e.to_string();
            assert_eq!(
                text.matches(&cause).count(),
                1,
                "{text:?} names {cause:?} once"
            );
            assert!(std::error::Error::source(e).is_none(), "{text:?}");
            assert_eq!(baton_http::chain(e), text);
        }
    }

    #[test]
    fn millis_round_trip() {
        let t = time::macros::datetime!(2026-11-29 12:00:00.123 UTC);
        assert_eq!(from_millis(millis(t)), t);
    }
}
