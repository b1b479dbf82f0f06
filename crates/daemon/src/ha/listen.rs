//! Wake-ups across replicas on PostgreSQL: every enqueue sends `NOTIFY baton_outbox`
//! ([`Store::notify_outbox`]); this listener, one dedicated connection per replica, wakes the
//! local outbox worker on each notification, so a record enqueued on one replica is claimed at
//! once by whichever worker is free. A lost connection is re-opened with jittered backoff and
//! the worker is woken once (it may have missed a notification); the worker's own polling
//! covers the gap.

use std::sync::Arc;
use std::time::Duration;

use sqlx::postgres::PgListener;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use crate::store::{OUTBOX_CHANNEL, Store};

/// Longest wait between reconnection attempts.
const MAX_BACKOFF: Duration = Duration::from_secs(30);

/// Listens on [`OUTBOX_CHANNEL`] until `shutdown`, waking `wake` on every notification.
pub async fn run(store: Store, wake: Arc<Notify>, shutdown: CancellationToken) {
    let mut failures = 0u32;
    while !shutdown.is_cancelled() {
        match listen(&store, &wake, &shutdown).await {
            Ok(()) => return,
            Err(e) => {
                failures = failures.saturating_add(1);
                let cap = Duration::from_secs(1u64 << failures.min(5)).min(MAX_BACKOFF);
                let back = cap / 2 + (cap / 2).mul_f64(rand::random::<f64>());
                tracing::warn!(error = %e, retry_in = ?back, "outbox NOTIFY listener lost its connection; workers poll meanwhile");
                wake.notify_one();
                tokio::select! {
                    _ = shutdown.cancelled() => return,
                    _ = tokio::time::sleep(back) => {}
                }
            }
        }
    }
}

async fn listen(
    store: &Store,
    wake: &Notify,
    shutdown: &CancellationToken,
) -> Result<(), sqlx::Error> {
    let mut listener =
        tokio::time::timeout(Duration::from_secs(10), PgListener::connect(store.url()))
            .await
            .map_err(|_| sqlx::Error::PoolTimedOut)??;
    listener.listen(OUTBOX_CHANNEL).await?;
    tracing::info!(channel = OUTBOX_CHANNEL, "listening for outbox wake-ups");
    // Anything enqueued while the listener was not connected.
    wake.notify_one();
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return Ok(()),
            n = listener.try_recv() => match n? {
                Some(_) => wake.notify_one(),
                // The connection dropped; try_recv reconnects on the next call.
                None => return Err(sqlx::Error::PoolClosed),
            },
        }
    }
}
