//! Work that runs on one replica at a time, item by item: the build follower
//! ([`super::follow`], leases `follow:<event>`) and the delivery verifier ([`super::verify`],
//! leases `verify:<event>`) both read their pending items from the store and follow each under
//! a named lease ([`crate::store::leases`]). One loop does it for both, so they take over,
//! renew and give back work the same way:
//!
//! - every tick (at most a third of the lease), when woken, and when an item's task ends: renew
//!   this replica's leases with the prefix, and stop the task of any lease that was lost (it
//!   stalled past its lease and another replica took the item) before it records anything;
//! - list the pending items; start a task for each one this replica does not run yet and whose
//!   lease it takes;
//! - release an item's lease when its task ends, and every lease at shutdown, so another
//!   replica takes over at once instead of after the lease runs out.

use std::collections::HashMap;
use std::future::Future;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::Notify;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use crate::store::{Store, StoreError};

/// The items this replica runs, each with the token that stops its task.
type Running = Arc<Mutex<HashMap<String, CancellationToken>>>;

/// What a kind of item is leased as.
#[derive(Debug, Clone, Copy)]
pub struct Leases {
    /// Lease name prefix, e.g. `follow:`.
    pub prefix: &'static str,
    /// What an item is, for the log (`follow-up`, `verification`).
    pub what: &'static str,
}

/// An item of work, known by its key (the lease is `<prefix><key>`).
pub trait Item: Send + 'static {
    /// Its key.
    fn key(&self) -> String;
}

impl Item for crate::store::followups::PendingBuild {
    fn key(&self) -> String {
        self.event_id.clone()
    }
}

impl Item for crate::store::verify::Verification {
    fn key(&self) -> String {
        self.event_id.clone()
    }
}

/// Items followed under leases named `<prefix><key>`.
#[derive(Debug, Clone)]
pub struct LeasedWork {
    store: Store,
    owner: String,
    prefix: &'static str,
    lease: Duration,
    what: &'static str,
}

impl LeasedWork {
    /// Items leased as `owner` for `lease` at a time.
    pub fn new(store: Store, owner: &str, leases: Leases, lease: Duration) -> Self {
        Self {
            store,
            owner: owner.to_owned(),
            prefix: leases.prefix,
            lease,
            what: leases.what,
        }
    }

    fn name(&self, item: &str) -> String {
        format!("{}{item}", self.prefix)
    }

    /// Renews this replica's leases; stops the tasks whose lease was lost.
    async fn renew(&self, running: &Running) {
        let now = OffsetDateTime::now_utc();
        let held = match self
            .store
            .renew_leases(&self.owner, self.prefix, now, now + self.lease)
            .await
        {
            Ok(held) => held,
            Err(e) => {
                return tracing::warn!(what = self.what, error = %e, "cannot renew leases");
            }
        };
        for (item, stop) in running.lock().expect("not poisoned").iter() {
            if !held.contains(&self.name(item)) && !stop.is_cancelled() {
                tracing::warn!(what = self.what, %item, "lease lost; another replica takes it over");
                stop.cancel();
            }
        }
    }

    /// Takes the lease of `item` unless another replica holds it.
    async fn take(&self, item: &str) -> bool {
        let now = OffsetDateTime::now_utc();
        self.store
            .try_lease(&self.name(item), &self.owner, now, now + self.lease)
            .await
            .unwrap_or_else(|e| {
                tracing::warn!(what = self.what, %item, error = %e, "cannot take the lease");
                false
            })
    }

    async fn release(&self, item: &str) {
        // A no-op when the lease was lost: it names another owner now.
        if let Err(e) = self
            .store
            .release_lease(&self.name(item), &self.owner)
            .await
        {
            tracing::debug!(what = self.what, %item, error = %e, "cannot release the lease; it runs out");
        }
    }

    /// Runs until `shutdown`: `pending` lists the items waiting for work from the store,
    /// `work` runs one until it is done or its token is cancelled. Looks every `tick` (capped at a
    /// third of the lease) and whenever `wake` is notified.
    pub async fn run<T, L, LF, W, WF>(
        self,
        tick: Duration,
        wake: Arc<Notify>,
        pending: L,
        work: W,
        shutdown: CancellationToken,
    ) where
        T: Item,
        L: Fn(Store) -> LF,
        LF: Future<Output = Result<Vec<T>, StoreError>>,
        W: Fn(T, CancellationToken) -> WF,
        WF: Future<Output = ()> + Send + 'static,
    {
        let running: Running = Arc::default();
        let mut tasks = JoinSet::new();
        let this = Arc::new(self);
        let tick = tick.min(this.lease / 3);
        while !shutdown.is_cancelled() {
            this.renew(&running).await;
            match pending(this.store.clone()).await {
                Ok(items) => {
                    for item in items {
                        let key = item.key();
                        let busy = running.lock().expect("not poisoned").contains_key(&key);
                        if busy || !this.take(&key).await {
                            continue;
                        }
                        let stop = shutdown.child_token();
                        let task = work(item, stop.clone());
                        running
                            .lock()
                            .expect("not poisoned")
                            .insert(key.clone(), stop);
                        let (me, done) = (this.clone(), running.clone());
                        tasks.spawn(async move {
                            task.await;
                            // Released before it leaves `running`: a shutdown that aborts this
                            // task mid-release still finds the item and releases it.
                            me.release(&key).await;
                            done.lock().expect("not poisoned").remove(&key);
                        });
                    }
                }
                Err(e) => {
                    tracing::warn!(what = this.what, error = %e, "cannot read the pending work")
                }
            }
            tokio::select! {
                _ = shutdown.cancelled() => {}
                _ = wake.notified() => {}
                _ = tokio::time::sleep(tick) => {}
                Some(_) = tasks.join_next(), if !tasks.is_empty() => {}
            }
        }
        tasks.shutdown().await;
        let held: Vec<String> = running
            .lock()
            .expect("not poisoned")
            .keys()
            .cloned()
            .collect();
        for item in held {
            this.release(&item).await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Key(&'static str);

    impl Item for Key {
        fn key(&self) -> String {
            self.0.to_owned()
        }
    }

    async fn wait(what: &str, mut done: impl FnMut() -> bool) {
        // Bounded: fails after 10 s.
        let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
        while !done() {
            assert!(tokio::time::Instant::now() < deadline, "{what}");
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// Replica `owner` running item `a` until stopped; records who started it and when it
    /// stopped.
    fn replica(
        store: &Store,
        owner: &'static str,
        log: Arc<Mutex<Vec<String>>>,
        shutdown: CancellationToken,
    ) -> tokio::task::JoinHandle<()> {
        let looks = log.clone();
        let pending = move |_: Store| {
            looks.lock().unwrap().push(format!("{owner} looks"));
            async { Ok(vec![Key("a")]) }
        };
        let work = move |_: Key, stop: CancellationToken| {
            let log = log.clone();
            async move {
                log.lock().unwrap().push(format!("{owner} starts"));
                stop.cancelled().await;
                log.lock().unwrap().push(format!("{owner} stops"));
            }
        };
        let leases = Leases {
            prefix: "test:",
            what: "test item",
        };
        let w = LeasedWork::new(store.clone(), owner, leases, Duration::from_millis(600));
        let wake = Arc::new(Notify::new());
        tokio::spawn(w.run(Duration::from_millis(50), wake, pending, work, shutdown))
    }

    #[tokio::test]
    async fn one_replica_runs_an_item_a_lost_lease_stops_it_and_shutdown_hands_it_over() {
        let dir = tempfile::tempdir().unwrap();
        let url = format!("sqlite://{}", dir.path().join("b.db").display());
        let store = Store::open(&url).await.unwrap();
        let log = Arc::new(Mutex::new(Vec::new()));
        let seen = |line: &str| log.lock().unwrap().iter().any(|l| l == line);
        let (stop_a, stop_b) = (CancellationToken::new(), CancellationToken::new());
        let a = replica(&store, "a", log.clone(), stop_a.clone());
        wait("a starts the item", || seen("a starts")).await;
        let b = replica(&store, "b", log.clone(), stop_b.clone());
        // b looks many times while a holds the lease: it never starts the item.
        let count = |line: &str| log.lock().unwrap().iter().filter(|l| *l == line).count();
        wait("b looks 5 times", || count("b looks") >= 5).await;
        assert!(!seen("b starts"));
        log.lock().unwrap().retain(|l| !l.ends_with("looks"));

        // Someone else takes a's lease (as after a stall past it): a stops its task.
        let now = OffsetDateTime::now_utc();
        store.release_lease("test:a", "a").await.expect("released");
        assert!(
            store
                .try_lease("test:a", "thief", now, now + Duration::from_secs(60))
                .await
                .unwrap()
        );
        wait("a stops on the lost lease", || seen("a stops")).await;
        store.release_lease("test:a", "thief").await.unwrap();

        // Whoever takes it next runs it; at shutdown it gives the lease back at once.
        let acts = || -> Vec<String> {
            let all = log.lock().unwrap().clone();
            all.into_iter().filter(|l| !l.ends_with("looks")).collect()
        };
        wait("a replica takes the item again", || acts().len() == 3).await;
        let (first, second) = match acts()[2].as_str() {
            "a starts" => (stop_a, stop_b),
            _ => (stop_b, stop_a),
        };
        first.cancel();
        wait("the other replica takes over", || acts().len() == 5).await;
        let lines = acts();
        assert_eq!(lines[..2], ["a starts", "a stops"]);
        assert_ne!(lines[4], lines[2], "{lines:?}");
        second.cancel();
        a.await.unwrap();
        b.await.unwrap();
        let lease = store.lease("test:a").await.unwrap().unwrap();
        assert_eq!(lease.owner, None, "released at shutdown");
    }
}
