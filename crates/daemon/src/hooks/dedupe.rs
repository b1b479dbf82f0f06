//! Remembering deliveries so a redelivered or replayed hook does nothing twice. A delivery is
//! known by its id **and** by the SHA-256 of its signed body: GitHub's `X-GitHub-Delivery`
//! (like every provider's delivery id) is not covered by the signature, so an attacker who
//! captured one signed body could otherwise replay it under fresh ids. The daemon keeps the
//! record in its state store ([`crate::store::deliveries::StoredDeliveries`]), shared by replicas
//! and kept across restarts; [`RecentDeliveries`] is the in-memory default for tests and tools.

use std::collections::{HashMap, VecDeque};
use std::future::{Future, ready};
use std::pin::Pin;
use std::sync::Mutex;
use std::time::Duration;

use tokio::time::Instant;

use super::provider::Provider;

/// The error of a [`SeenDeliveries`] store (for example a database error).
pub type DedupeError = Box<dyn std::error::Error + Send + Sync>;

/// What a [`SeenDeliveries`] call returns: boxed, so the trait stays object safe and a store
/// may do IO.
pub type DedupeFuture<'a, T> = Pin<Box<dyn Future<Output = Result<T, DedupeError>> + Send + 'a>>;

/// One verified webhook delivery, as the dedupe record knows it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Delivery<'a> {
    /// Who sent it.
    pub provider: Provider,
    /// The delivery id header (unsigned), or the body digest when the host sends none.
    pub id: &'a str,
    /// Hex SHA-256 of the raw, signed body.
    pub body_sha256: &'a str,
}

/// Deliveries already acted on. The daemon backs this with its state store; the in-memory
/// [`RecentDeliveries`] is the default.
pub trait SeenDeliveries: Send + Sync + 'static {
    /// Records the delivery and answers `true` if neither its id nor its body was seen before
    /// (the caller goes on to act on it), `false` if it is a replay. Must be atomic: of two
    /// concurrent calls for the same delivery, one gets `true`.
    fn first_sighting<'a>(&'a self, delivery: Delivery<'a>) -> DedupeFuture<'a, bool>;

    /// Forgets the delivery, so that a redelivery is acted on; used when acting on the first
    /// delivery failed.
    fn forget<'a>(&'a self, delivery: Delivery<'a>) -> DedupeFuture<'a, ()>;
}

/// A bounded set of recent delivery ids: at most `capacity` entries, each kept for `ttl`;
/// the oldest goes first when full. Time is tokio's, so tests can pause it.
#[derive(Debug)]
pub struct RecentDeliveries {
    capacity: usize,
    ttl: Duration,
    inner: Mutex<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    seen: HashMap<(Provider, String), Instant>,
    order: VecDeque<(Instant, (Provider, String))>,
}

impl RecentDeliveries {
    /// Default capacity: enough for a day of busy repositories.
    pub const DEFAULT_CAPACITY: usize = 10_000;
    /// Default time to remember a delivery; hosts redeliver within hours, not days.
    pub const DEFAULT_TTL: Duration = Duration::from_secs(24 * 3600);

    /// A set holding at most `capacity` ids (at least one) for `ttl` each.
    pub fn new(capacity: usize, ttl: Duration) -> Self {
        Self {
            capacity: capacity.max(1),
            ttl,
            inner: Mutex::new(Inner::default()),
        }
    }

    /// How many ids are remembered now.
    pub fn len(&self) -> usize {
        self.lock().seen.len()
    }

    /// Whether no id is remembered.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }
}

impl Default for RecentDeliveries {
    fn default() -> Self {
        Self::new(Self::DEFAULT_CAPACITY, Self::DEFAULT_TTL)
    }
}

impl Inner {
    /// Drops queue entries that expired or whose key was forgotten or re-recorded since.
    fn evict(&mut self, now: Instant, ttl: Duration, capacity: usize) {
        while let Some((at, key)) = self.order.front() {
            let current = self.seen.get(key) == Some(at);
            let expired = now.duration_since(*at) >= ttl;
            if !current || expired || self.seen.len() > capacity {
                let (at, key) = self.order.pop_front().expect("front exists");
                if self.seen.get(&key) == Some(&at) {
                    self.seen.remove(&key);
                }
            } else {
                break;
            }
        }
    }
}

impl RecentDeliveries {
    /// Records `(provider, id)`; `true` if it was not remembered.
    pub fn record(&self, provider: Provider, id: &str) -> bool {
        let now = Instant::now();
        let mut inner = self.lock();
        inner.evict(now, self.ttl, self.capacity);
        let key = (provider, id.to_owned());
        if let Some(at) = inner.seen.get(&key)
            && now.duration_since(*at) < self.ttl
        {
            return false;
        }
        inner.seen.insert(key.clone(), now);
        inner.order.push_back((now, key));
        inner.evict(now, self.ttl, self.capacity);
        true
    }

    /// Drops `(provider, id)`.
    pub fn remove(&self, provider: Provider, id: &str) {
        self.lock().seen.remove(&(provider, id.to_owned()));
    }
}

impl SeenDeliveries for RecentDeliveries {
    fn first_sighting<'a>(&'a self, d: Delivery<'a>) -> DedupeFuture<'a, bool> {
        let body = format!("body:{}", d.body_sha256);
        if !self.record(d.provider, &body) {
            return Box::pin(ready(Ok(false)));
        }
        let first = self.record(d.provider, &format!("id:{}", d.id));
        if !first {
            self.remove(d.provider, &body);
        }
        Box::pin(ready(Ok(first)))
    }

    fn forget<'a>(&'a self, d: Delivery<'a>) -> DedupeFuture<'a, ()> {
        self.remove(d.provider, &format!("id:{}", d.id));
        self.remove(d.provider, &format!("body:{}", d.body_sha256));
        Box::pin(ready(Ok(())))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn replays_are_refused_until_the_ttl_passes() {
        let seen = RecentDeliveries::new(10, Duration::from_secs(60));
        assert!(seen.record(Provider::GitHub, "d1"));
        assert!(!seen.record(Provider::GitHub, "d1"));
        // The same id from another provider is another delivery.
        assert!(seen.record(Provider::Gitea, "d1"));
        tokio::time::advance(Duration::from_secs(59)).await;
        assert!(!seen.record(Provider::GitHub, "d1"));
        tokio::time::advance(Duration::from_secs(1)).await;
        assert!(seen.record(Provider::GitHub, "d1"));
        assert!(!seen.record(Provider::GitHub, "d1"));
    }

    #[tokio::test(start_paused = true)]
    async fn capacity_bounds_memory_and_drops_the_oldest() {
        let seen = RecentDeliveries::new(3, Duration::from_secs(3600));
        for id in ["a", "b", "c", "d"] {
            assert!(seen.record(Provider::GitLab, id));
            tokio::time::advance(Duration::from_secs(1)).await;
        }
        assert_eq!(seen.len(), 3);
        assert!(!seen.record(Provider::GitLab, "d"));
        assert!(!seen.record(Provider::GitLab, "b"));
        assert!(seen.record(Provider::GitLab, "a"), "oldest was dropped");
        assert_eq!(seen.len(), 3);
    }

    #[tokio::test(start_paused = true)]
    async fn forgotten_ids_count_as_new() {
        let seen = RecentDeliveries::new(3, Duration::from_secs(3600));
        assert!(seen.record(Provider::Bitbucket, "x"));
        seen.remove(Provider::Bitbucket, "x");
        assert!(seen.record(Provider::Bitbucket, "x"));
        assert!(!seen.record(Provider::Bitbucket, "x"));
        assert_eq!(seen.len(), 1);
    }
}
