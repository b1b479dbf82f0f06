//! Several replicas on one store (issue 12). Platform teams run `baton serve` as a Deployment
//! with several replicas on one PostgreSQL and expect a killed pod to cost seconds. This module
//! holds what makes that work, beside the outbox's own short, renewed leases:
//!
//! - [`Replica`]: this process's identity, registered in the store's replica registry with a
//!   heartbeat (`baton status` lists it). On SQLite it refuses to start while another live
//!   `baton serve` writes the same file ([`guard`]).
//! - [`turns`]: scheduled work runs once per interval across replicas. Each due run is a turn
//!   taken with a compare-and-set on a named lease that lasts until the next run is due; the
//!   replica that wins runs it, the others sleep until that time and contend again. A dead
//!   replica holds nothing that needs taking over: the next turn is free for whoever is alive.
//! - [`listen`]: PostgreSQL `LISTEN/NOTIFY` wakes every replica's outbox worker the moment a
//!   record is enqueued anywhere; polling stays as the fallback.
//!
//! - [`status`]: the replicas as `baton status` and `GET /v1/status` list them.
//!
//! [`spawn`] starts the runtime parts (heartbeat, NOTIFY listener) on the daemon's tracker.

pub mod guard;
pub mod listen;
pub mod status;
pub mod turns;

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::clock::Clock;
use crate::store::replicas::Replica as Row;
use crate::store::{Backend, Store};

/// How often a replica stamps its heartbeat and renews what it holds.
pub const HEARTBEAT: Duration = Duration::from_secs(5);

/// A replica whose heartbeat is older than this is considered gone.
pub const STALE_AFTER: Duration = Duration::from_secs(20);

/// Replica rows are forgotten this long after their last heartbeat.
const FORGET_AFTER: Duration = Duration::from_secs(24 * 3600);

/// This `baton serve` process as the other replicas see it.
#[derive(Debug, Clone)]
pub struct Replica {
    row: Row,
    cache_dir: PathBuf,
    // Held for the life of the process: the lock on the SQLite file and on the cache folder.
    _locks: Arc<Vec<std::fs::File>>,
}

impl Replica {
    /// Claims this process's place on `store` (state URL `state`): on SQLite, refuses when
    /// another live `baton serve` writes the file; picks a cache folder of its own (under
    /// `cache_dir` when given) and registers the replica.
    pub async fn start(
        store: &Store,
        state: &str,
        cache_dir: Option<PathBuf>,
        clock: &Clock,
    ) -> anyhow::Result<Self> {
        let host = host_name();
        let pid = std::process::id();
        let mut locks = Vec::new();
        if store.backend() == Backend::Sqlite {
            locks.push(guard::one_writer(store, state, &host, clock).await?);
        }
        let (cache_dir, lock) = guard::cache_slot(cache_dir, state)?;
        locks.extend(lock);
        let now = clock.now();
        let row = Row {
            id: format!("{host}-{pid}-{:06x}", rand::random::<u32>() & 0xff_ffff),
            host,
            pid: i64::from(pid),
            version: env!("CARGO_PKG_VERSION").to_owned(),
            started_at: now,
            heartbeat_at: now,
            stopped_at: None,
        };
        store
            .register_replica(&row)
            .await
            .context("registering this replica in the state store")?;
        tracing::info!(replica = %row.id, cache = %cache_dir.display(), "replica registered");
        Ok(Self {
            row,
            cache_dir,
            _locks: Arc::new(locks),
        })
    }

    /// The replica id: the owner name on every lease it takes.
    pub fn id(&self) -> &str {
        &self.row.id
    }

    /// This replica's own cache folder.
    pub fn cache_dir(&self) -> PathBuf {
        self.cache_dir.clone()
    }
}

/// Starts the heartbeat and, on PostgreSQL, the NOTIFY listener waking `wake` (the outbox
/// worker's signal). Both stop on `shutdown`; the heartbeat then marks the replica stopped.
pub fn spawn(
    replica: &Replica,
    store: &Store,
    clock: &Clock,
    wake: Arc<Notify>,
    tracker: &TaskTracker,
    shutdown: &CancellationToken,
) {
    tracker.spawn(heartbeat(
        replica.id().to_owned(),
        store.clone(),
        clock.clone(),
        shutdown.clone(),
    ));
    if store.backend() == Backend::Postgres {
        tracker.spawn(listen::run(store.clone(), wake, shutdown.clone()));
    }
}

async fn heartbeat(id: String, store: Store, clock: Clock, shutdown: CancellationToken) {
    let mut failures = 0u32;
    let mut down_since = None;
    loop {
        let now = clock.now();
        match store.heartbeat(&id, now).await {
            Ok(()) => {
                if let Some(since) = down_since.take() {
                    let down: OffsetDateTime = since;
                    tracing::info!(replica = %id, down_for_s = (now - down).whole_seconds(), "state store reachable again; heartbeat resumed, waiting work proceeds");
                }
                failures = 0;
            }
            Err(e) => {
                failures += 1;
                if down_since.is_none() {
                    down_since = Some(now);
                    // One line that says what the operator sees and what to expect.
                    tracing::error!(replica = %id, error = %e, "state store unreachable: /readyz answers 503, source checks, deliveries and follow-ups wait; nothing is lost, they resume when it answers");
                } else {
                    tracing::warn!(replica = %id, failures, error = %e, "heartbeat failed; state store still unreachable, retrying");
                }
            }
        }
        let _ = store.forget_replicas(now - FORGET_AFTER).await;
        tokio::select! {
            _ = shutdown.cancelled() => break,
            _ = clock.sleep_until(now + HEARTBEAT) => {}
        }
    }
    // Turns of scheduled work stay taken (that run is done); follow-up leases are given up
    // by the follower itself.
    let now: OffsetDateTime = clock.now();
    let _ = store.replica_stopped(&id, now).await;
}

/// This machine's host name (the pod name on Kubernetes).
pub fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .ok()
        .map(|h| h.trim().to_owned())
        .filter(|h| !h.is_empty())
        .or_else(|| std::env::var("HOSTNAME").ok())
        .unwrap_or_else(|| "localhost".to_owned())
}
