//! Webhook outcomes counted per provider, for `baton_webhook_requests_total{provider,outcome}`.

use std::fmt;
use std::sync::atomic::{AtomicU64, Ordering};

use super::provider::Provider;

/// How a webhook request ended.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Outcome {
    /// A watched branch moved; checks were requested.
    Triggered,
    /// Verified, but nothing to do (unwatched repo or branch, tag, deletion, other event).
    Ignored,
    /// A delivery id already acted on.
    Duplicate,
    /// A connectivity test, answered.
    Ping,
    /// The signature was missing, empty, invalid or of the wrong algorithm (401).
    Unauthorized,
    /// The body was over the limit (413).
    TooLarge,
    /// The verified body was not the provider's payload, or could not be read (400).
    BadRequest,
    /// The check request could not be handed over (503).
    Unavailable,
}

impl Outcome {
    /// Every outcome, in counter order.
    pub const ALL: [Outcome; 8] = [
        Outcome::Triggered,
        Outcome::Ignored,
        Outcome::Duplicate,
        Outcome::Ping,
        Outcome::Unauthorized,
        Outcome::TooLarge,
        Outcome::BadRequest,
        Outcome::Unavailable,
    ];

    /// The metric label value.
    pub fn as_str(self) -> &'static str {
        match self {
            Outcome::Triggered => "triggered",
            Outcome::Ignored => "ignored",
            Outcome::Duplicate => "duplicate",
            Outcome::Ping => "ping",
            Outcome::Unauthorized => "unauthorized",
            Outcome::TooLarge => "too_large",
            Outcome::BadRequest => "bad_request",
            Outcome::Unavailable => "unavailable",
        }
    }
}

impl fmt::Display for Outcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

const CELLS: usize = Provider::ALL.len() * Outcome::ALL.len();

/// One counter per `(provider, outcome)`; lock-free.
#[derive(Debug)]
pub struct HookCounters {
    cells: [AtomicU64; CELLS],
}

impl Default for HookCounters {
    fn default() -> Self {
        Self {
            cells: std::array::from_fn(|_| AtomicU64::new(0)),
        }
    }
}

impl HookCounters {
    fn cell(&self, provider: Provider, outcome: Outcome) -> &AtomicU64 {
        let o = Outcome::ALL
            .iter()
            .position(|x| *x == outcome)
            .expect("every outcome is in ALL");
        &self.cells[provider.index() * Outcome::ALL.len() + o]
    }

    /// Counts one request.
    pub fn record(&self, provider: Provider, outcome: Outcome) {
        self.cell(provider, outcome).fetch_add(1, Ordering::Relaxed);
    }

    /// The count for one pair.
    pub fn get(&self, provider: Provider, outcome: Outcome) -> u64 {
        self.cell(provider, outcome).load(Ordering::Relaxed)
    }

    /// Every pair with its count (zeros included), for export.
    pub fn snapshot(&self) -> Vec<(Provider, Outcome, u64)> {
        Provider::ALL
            .iter()
            .flat_map(|p| Outcome::ALL.iter().map(move |o| (*p, *o)))
            .map(|(p, o)| (p, o, self.get(p, o)))
            .collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn counts_are_kept_per_pair() {
        let c = HookCounters::default();
        c.record(Provider::Gitea, Outcome::Unauthorized);
        c.record(Provider::Gitea, Outcome::Unauthorized);
        c.record(Provider::GitHub, Outcome::Triggered);
        assert_eq!(c.get(Provider::Gitea, Outcome::Unauthorized), 2);
        assert_eq!(c.get(Provider::GitHub, Outcome::Unauthorized), 0);
        assert_eq!(c.get(Provider::GitHub, Outcome::Triggered), 1);
        let snap = c.snapshot();
        assert_eq!(snap.len(), CELLS);
        assert_eq!(snap.iter().map(|(_, _, n)| n).sum::<u64>(), 3);
    }
}
