//! The retry policy: data plus one pure function of the attempt number, the receiver's
//! `Retry-After` and a random source.

use std::time::Duration;

use rand::{Rng, SeedableRng};
use time::OffsetDateTime;

use super::DeliveryError;

use baton_core::config::model::{Jitter, OutboxSettings};

/// Retry schedule.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RetryPolicy {
    /// Delay after the first failed attempt.
    pub initial: Duration,
    /// Longest delay.
    pub max: Duration,
    /// Attempts before giving up.
    pub max_attempts: u32,
    /// Time after a record's creation after which a failed attempt gives up.
    pub give_up_after: Duration,
    /// Jitter mode.
    pub jitter: Jitter,
    /// Least delay after a 429 without `Retry-After`.
    pub throttle_floor: Duration,
}

impl From<&OutboxSettings> for RetryPolicy {
    fn from(s: &OutboxSettings) -> Self {
        Self {
            initial: s.initial_delay,
            max: s.max_delay,
            max_attempts: s.max_attempts,
            give_up_after: s.give_up_after,
            jitter: s.jitter,
            throttle_floor: Duration::from_secs(30).min(s.max_delay),
        }
    }
}

/// How a failed attempt ended, as far as the policy cares.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Failure {
    /// The receiver's `Retry-After`.
    pub retry_after: Option<Duration>,
    /// The receiver answered 429.
    pub throttled: bool,
}

/// Delay before the next attempt after `attempt` (1-based) failed attempts.
///
/// Exponential from `initial`, capped at `max`, jittered; a `Retry-After` is a floor the jitter
/// never goes below (capped at `max` so a hostile header cannot park a record for days); a 429
/// without one waits at least `throttle_floor`.
pub fn next_delay(
    attempt: u32,
    failure: Failure,
    policy: &RetryPolicy,
    rng: &mut impl Rng,
) -> Duration {
    let exp = attempt.saturating_sub(1).min(30);
    let base = policy.initial.saturating_mul(1u32 << exp).min(policy.max);
    let jittered = match policy.jitter {
        Jitter::None => base,
        Jitter::Full => base.mul_f64(rng.random::<f64>()),
        Jitter::Equal => base / 2 + (base / 2).mul_f64(rng.random::<f64>()),
    };
    let mut floor = Duration::ZERO;
    if let Some(after) = failure.retry_after {
        floor = after.min(policy.max);
    } else if failure.throttled {
        floor = policy.throttle_floor;
    }
    jittered.max(floor)
}

pub use baton_http::retry::parse_retry_after;

/// When to try again after attempt `attempt_no` of a record created at `created` failed with
/// `e`, or `None` to give up (permanent failure, attempts or time used up).
pub(crate) fn retry_at(
    policy: &RetryPolicy,
    attempt_no: u32,
    e: &DeliveryError,
    now: OffsetDateTime,
    created: OffsetDateTime,
) -> Option<OffsetDateTime> {
    if e.permanent || attempt_no >= policy.max_attempts || now >= created + policy.give_up_after {
        return None;
    }
    let mut rng = rand::rngs::StdRng::from_os_rng();
    let failure = Failure {
        retry_after: e.retry_after,
        throttled: e.throttled,
    };
    Some(now + next_delay(attempt_no, failure, policy, &mut rng))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;
    use rand::rngs::StdRng;

    fn policy(jitter: Jitter) -> RetryPolicy {
        RetryPolicy {
            initial: Duration::from_secs(1),
            max: Duration::from_secs(60),
            max_attempts: 10,
            give_up_after: Duration::from_secs(3600),
            jitter,
            throttle_floor: Duration::from_secs(30),
        }
    }

    #[test]
    fn grows_exponentially_then_caps() {
        let p = policy(Jitter::None);
        let mut rng = StdRng::seed_from_u64(1);
        let got: Vec<u64> = (1..=9)
            .map(|a| next_delay(a, Failure::default(), &p, &mut rng).as_secs())
            .collect();
        assert_eq!(got, [1, 2, 4, 8, 16, 32, 60, 60, 60]);
        assert_eq!(
            next_delay(u32::MAX, Failure::default(), &p, &mut rng).as_secs(),
            60
        );
    }

    #[test]
    fn full_jitter_stays_in_range_and_varies() {
        let p = policy(Jitter::Full);
        let mut rng = StdRng::seed_from_u64(7);
        let ds: Vec<Duration> = (0..200)
            .map(|_| next_delay(4, Failure::default(), &p, &mut rng))
            .collect();
        assert!(ds.iter().all(|d| *d <= Duration::from_secs(8)));
        assert!(ds.iter().any(|d| *d < Duration::from_secs(2)));
        assert!(ds.iter().any(|d| *d > Duration::from_secs(6)));
    }

    #[test]
    fn equal_jitter_keeps_half() {
        let p = policy(Jitter::Equal);
        let mut rng = StdRng::seed_from_u64(7);
        for _ in 0..200 {
            let d = next_delay(4, Failure::default(), &p, &mut rng);
            assert!(
                d >= Duration::from_secs(4) && d <= Duration::from_secs(8),
                "{d:?}"
            );
        }
    }

    #[test]
    fn retry_after_is_honoured_but_capped() {
        let p = policy(Jitter::Full);
        let mut rng = StdRng::seed_from_u64(3);
        let f = Failure {
            retry_after: Some(Duration::from_secs(45)),
            throttled: true,
        };
        assert!(next_delay(1, f, &p, &mut rng) >= Duration::from_secs(45));
        let f = Failure {
            retry_after: Some(Duration::from_secs(86_400)),
            throttled: false,
        };
        assert_eq!(next_delay(1, f, &p, &mut rng), Duration::from_secs(60));
    }

    #[test]
    fn throttling_without_retry_after_has_a_floor() {
        let p = policy(Jitter::Full);
        let mut rng = StdRng::seed_from_u64(3);
        let f = Failure {
            retry_after: None,
            throttled: true,
        };
        for _ in 0..50 {
            assert!(next_delay(1, f, &p, &mut rng) >= Duration::from_secs(30));
        }
    }

    #[test]
    fn server_errors_retry_until_the_time_bound_and_4xx_die_at_once() {
        let p = RetryPolicy {
            give_up_after: Duration::from_secs(24 * 3600),
            max_attempts: 500,
            ..policy(Jitter::Full)
        };
        let created = time::macros::datetime!(2026-11-29 12:00 UTC);
        let e503 = DeliveryError::from_status(503, None, "503");
        let hour = |h: i64| created + time::Duration::hours(h);
        assert!(retry_at(&p, 40, &e503, hour(23), created).is_some());
        assert_eq!(retry_at(&p, 41, &e503, hour(24), created), None);
        assert_eq!(retry_at(&p, 500, &e503, hour(1), created), None);
        let e404 = DeliveryError::from_status(404, None, "404");
        assert_eq!(retry_at(&p, 1, &e404, created, created), None);
    }
}
