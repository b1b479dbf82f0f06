//! The verifier's loop: every pending verification in the store that no other replica holds is
//! followed by one task under the lease `verify:<event>`, renewed every third of the lease; a
//! lost lease stops its task before it records anything, and shutdown releases the leases at
//! once so another replica takes over without waiting for them to run out.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::Verifier;

/// How often the store is read again for verifications recorded by other replicas.
const RESCAN: Duration = Duration::from_secs(5);

type Following = Arc<Mutex<HashMap<String, CancellationToken>>>;

fn lease_name(event: &str) -> String {
    format!("verify:{event}")
}

impl Verifier {
    async fn renew(&self, following: &Following) {
        let now = OffsetDateTime::now_utc();
        match self
            .store
            .renew_leases(&self.owner, "verify:", now, now + self.lease)
            .await
        {
            Ok(held) => {
                for (event, stop) in following.lock().expect("not poisoned").iter() {
                    if !held.contains(&lease_name(event)) && !stop.is_cancelled() {
                        tracing::warn!(%event, "verification lease lost; another replica follows it");
                        stop.cancel();
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "cannot renew verification leases"),
        }
    }

    async fn take(&self, event: &str) -> bool {
        let now = OffsetDateTime::now_utc();
        self.store
            .try_lease(&lease_name(event), &self.owner, now, now + self.lease)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(%event, error = %e, "cannot lease the verification");
                false
            })
    }

    /// Runs until `shutdown`.
    pub async fn run(self, shutdown: CancellationToken) {
        let following: Following = Arc::default();
        let mut tasks = JoinSet::new();
        let this = Arc::new(self);
        let tick = RESCAN.min(this.lease / 3);
        while !shutdown.is_cancelled() {
            this.renew(&following).await;
            match this.store.pending_verifications(200).await {
                Ok(pending) => {
                    for v in pending {
                        let busy = following
                            .lock()
                            .expect("not poisoned")
                            .contains_key(&v.event_id);
                        if busy || !this.take(&v.event_id).await {
                            continue;
                        }
                        let stop = shutdown.child_token();
                        following
                            .lock()
                            .expect("not poisoned")
                            .insert(v.event_id.clone(), stop.clone());
                        let (me, done) = (this.clone(), following.clone());
                        tasks.spawn(async move {
                            let id = v.event_id.clone();
                            me.follow(v, &stop).await;
                            done.lock().expect("not poisoned").remove(&id);
                            let _ = me.store.release_lease(&lease_name(&id), &me.owner).await;
                        });
                    }
                }
                Err(e) => tracing::warn!(error = %e, "cannot read pending verifications"),
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = this.wake.notified() => {}
                _ = tokio::time::sleep(tick) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        tasks.shutdown().await;
        let held: Vec<String> = following
            .lock()
            .expect("not poisoned")
            .keys()
            .cloned()
            .collect();
        for event in held {
            let _ = this
                .store
                .release_lease(&lease_name(&event), &this.owner)
                .await;
        }
    }
}
