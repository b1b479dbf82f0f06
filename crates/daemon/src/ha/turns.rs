//! Scheduled work runs once per interval across replicas (chart-source polls, Helm and
//! registry checks, the base-image cron, artifact-source polls, retention, judgment deadlines).
//!
//! Why turns and not a leader or per-source owners: each due run is taken with one
//! compare-and-set on the named lease `source:<id>`, held until the next run is due. The
//! replica that wins runs the check; the others read when the turn ends and sleep until
//! then. Nothing has to notice a dead replica: it holds at most the turn it already ran, which
//! ends when the next run is due anyway, so failover adds no delay to the schedule (a leader
//! or an owner lease would add its lease time (10 s), and an advisory lock on a dead session
//! waits for TCP keepalive). The same code runs on SQLite and PostgreSQL. The replica that ran
//! a turn wakes first for the next one (the others add a little jitter), so a source tends to
//! stay on one replica and its caches stay warm.
//!
//! Checks asked for by a push webhook or an operator run at once on the replica that got the
//! request, without a turn: they are rare, and the outbox key keeps a change from being sent
//! twice.

use std::time::Duration;

use time::OffsetDateTime;

use crate::store::{Store, StoreError};

/// Most jitter a replica that lost a turn adds before contending for the next.
const CONTEND_JITTER: Duration = Duration::from_millis(500);

/// Takes turns of scheduled work for one replica.
#[derive(Debug, Clone)]
pub struct Turns {
    store: Store,
    owner: String,
}

/// The answer to "may I run this now?".
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Turn {
    /// Yours: run it.
    Mine,
    /// Another replica runs this one; contend again at this time.
    Taken(OffsetDateTime),
}

impl Turns {
    /// Turns for replica `owner` on `store`.
    pub fn new(store: Store, owner: impl Into<String>) -> Self {
        Self {
            store,
            owner: owner.into(),
        }
    }

    /// Takes the turn of `work` due at `now`, holding it until `next` (when the following run
    /// is due).
    pub async fn take(
        &self,
        work: &str,
        now: OffsetDateTime,
        next: OffsetDateTime,
    ) -> Result<Turn, StoreError> {
        let name = format!("source:{work}");
        if self.store.try_lease(&name, &self.owner, now, next).await? {
            return Ok(Turn::Mine);
        }
        let until = match self.store.lease(&name).await? {
            Some(l) if l.until > now => l.until,
            // Freed between the two statements: try again shortly.
            _ => now,
        };
        Ok(Turn::Taken(
            until + CONTEND_JITTER.mul_f64(rand::random::<f64>()),
        ))
    }

    /// Takes the turns of many runs due at `now` at once, each held until its own next run
    /// (one statement per [`crate::store::leases::LEASE_BATCH`] runs instead of one each:
    /// 10,000 sources on one cron line are a few statements per interval, not 10,000).
    /// Returns, in the order given, whether each run is this replica's; a run another replica
    /// holds is skipped here until its next one is due.
    pub async fn take_all(
        &self,
        works: &[(&str, OffsetDateTime)],
        now: OffsetDateTime,
    ) -> Result<Vec<bool>, StoreError> {
        let names: Vec<(String, OffsetDateTime)> = works
            .iter()
            .map(|(w, next)| (format!("source:{w}"), *next))
            .collect();
        let won = self.store.try_leases(&names, &self.owner, now).await?;
        Ok(names.iter().map(|(n, _)| won.contains(n)).collect())
    }

    /// This replica's id.
    pub fn owner(&self) -> &str {
        &self.owner
    }
}
