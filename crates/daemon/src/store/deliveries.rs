//! The durable record of webhook deliveries ([`SeenDeliveries`] over the state store), shared
//! by every replica and kept across restarts. A delivery counts as seen when its delivery id
//! **or** the SHA-256 of its signed body was seen within the TTL: GitHub's `X-GitHub-Delivery`
//! header is not covered by the signature, so a captured body re-sent with a fresh id is still
//! a replay.

use std::time::Duration;

use super::{Store, millis};
use crate::clock::Clock;
use crate::hooks::{DedupeFuture, Delivery, SeenDeliveries};

/// [`SeenDeliveries`] in the state store's `webhook_deliveries` table.
#[derive(Clone)]
pub struct StoredDeliveries {
    store: Store,
    clock: Clock,
    ttl: Duration,
}

impl StoredDeliveries {
    /// Default time to remember a delivery: hosts redeliver within hours, not days.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

    /// Remembers deliveries in `store` for [`Self::DEFAULT_TTL`].
    pub fn new(store: Store, clock: Clock) -> Self {
        Self {
            store,
            clock,
            ttl: Self::DEFAULT_TTL,
        }
    }

    /// Remembers deliveries for `ttl` instead.
    pub fn with_ttl(mut self, ttl: Duration) -> Self {
        self.ttl = ttl;
        self
    }

    async fn record(&self, d: &Delivery<'_>) -> Result<bool, sqlx::Error> {
        let now = millis(self.clock.now());
        let expired = now - i64::try_from(self.ttl.as_millis()).unwrap_or(i64::MAX);
        let mut tx = self.store.pool().begin().await?;
        sqlx::query("DELETE FROM webhook_deliveries WHERE seen_at < $1")
            .bind(expired)
            .execute(&mut *tx)
            .await?;
        let mut first = true;
        for key in keys(d) {
            let inserted = sqlx::query(
                "INSERT INTO webhook_deliveries (provider, key, seen_at) VALUES ($1, $2, $3) \
                 ON CONFLICT (provider, key) DO NOTHING",
            )
            .bind(d.provider.as_str())
            .bind(key)
            .bind(now)
            .execute(&mut *tx)
            .await?;
            first &= inserted.rows_affected() == 1;
        }
        if first {
            tx.commit().await?;
        } else {
            // A replay by id or by body: record nothing new for it.
            tx.rollback().await?;
        }
        Ok(first)
    }

    async fn remove(&self, d: &Delivery<'_>) -> Result<(), sqlx::Error> {
        for key in keys(d) {
            sqlx::query("DELETE FROM webhook_deliveries WHERE provider = $1 AND key = $2")
                .bind(d.provider.as_str())
                .bind(key)
                .execute(self.store.pool())
                .await?;
        }
        Ok(())
    }
}

fn keys(d: &Delivery<'_>) -> [String; 2] {
    [format!("id:{}", d.id), format!("body:{}", d.body_sha256)]
}

impl SeenDeliveries for StoredDeliveries {
    fn first_sighting<'a>(&'a self, delivery: Delivery<'a>) -> DedupeFuture<'a, bool> {
        Box::pin(async move { Ok(self.record(&delivery).await?) })
    }

    fn forget<'a>(&'a self, delivery: Delivery<'a>) -> DedupeFuture<'a, ()> {
        Box::pin(async move { Ok(self.remove(&delivery).await?) })
    }
}

impl std::fmt::Debug for StoredDeliveries {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredDeliveries")
            .field("ttl", &self.ttl)
            .finish_non_exhaustive()
    }
}
