//! Group commit of observations: concurrent `record_observation` calls share one transaction.
//!
//! Why: a check that sees something new writes its observation before it reports, and at
//! start-up 10,000 sources each write a baseline at once. One transaction per row is one
//! fsync per row on SQLite (the 10,000-tag benchmark logged "slow statement" warnings and its
//! first sweep outlasted a cron minute). Here the first writer becomes the leader: it takes
//! every observation queued so far, writes them in one transaction, answers each waiting
//! writer, and goes on while more are queued. No task of its own, so nothing to shut down;
//! a writer still returns only once its row is committed (or the batch failed).

use std::sync::{Arc, Mutex};

use tokio::sync::oneshot;

use super::events::Observation;
use super::{Store, StoreError, millis};

type Reply = oneshot::Sender<Result<(), Arc<sqlx::Error>>>;

/// Observations waiting for the next transaction, and whether a leader is writing.
#[derive(Debug, Default)]
pub(super) struct Batcher {
    pending: Mutex<Pending>,
}

#[derive(Debug, Default)]
struct Pending {
    queue: Vec<(Observation, Reply)>,
    writing: bool,
}

/// Most rows in one transaction (a bound on the statement time of one commit).
const MAX_BATCH: usize = 500;

/// If a leader's future is dropped mid-batch (its caller was cancelled), the writers it was
/// to answer, and those queued behind them, get [`StoreError::Interrupted`] (their replies
/// are dropped) and the next writer leads.
struct Leading<'a>(&'a Batcher);

impl Drop for Leading<'_> {
    fn drop(&mut self) {
        let mut p = self.0.pending.lock().unwrap_or_else(|e| e.into_inner());
        p.queue.clear();
        p.writing = false;
    }
}

impl Store {
    /// Records what `source` saw, replacing the previous observation. Concurrent calls are
    /// committed together (see the module doc); this returns once this row is committed.
    pub async fn record_observation(&self, o: &Observation) -> Result<(), StoreError> {
        let (tx, rx) = oneshot::channel();
        let lead = {
            let mut p = self.batch.pending.lock().unwrap_or_else(|e| e.into_inner());
            p.queue.push((o.clone(), tx));
            !std::mem::replace(&mut p.writing, true)
        };
        if lead {
            let leading = Leading(&self.batch);
            loop {
                let batch: Vec<_> = {
                    let mut p = self.batch.pending.lock().unwrap_or_else(|e| e.into_inner());
                    if p.queue.is_empty() {
                        // Under the lock: a writer arriving after this leads itself.
                        p.writing = false;
                        break;
                    }
                    let n = p.queue.len().min(MAX_BATCH);
                    p.queue.drain(..n).collect()
                };
                let result = self.write_observations(&batch).await.map_err(Arc::new);
                for (_, reply) in batch {
                    let _ = reply.send(result.clone());
                }
            }
            std::mem::forget(leading);
        }
        match rx.await {
            Ok(r) => r.map_err(StoreError::Batch),
            Err(_) => Err(StoreError::Interrupted),
        }
    }

    async fn write_observations(&self, batch: &[(Observation, Reply)]) -> Result<(), sqlx::Error> {
        let mut tx = self.pool.begin().await?;
        for (o, _) in batch {
            sqlx::query(
                "INSERT INTO observations (source, value, observed_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (source) DO UPDATE SET value = excluded.value, observed_at = excluded.observed_at",
            )
            .bind(&o.source)
            .bind(&o.value)
            .bind(millis(o.observed_at))
            .execute(&mut *tx)
            .await?;
        }
        tx.commit().await
    }
}
