//! Retry timing as plain functions: `Retry-After` parsing and backoff with jitter, and the
//! one place a registry's 429 pause opens (and is logged, once per pause: with 10,000 watched
//! tags, a warning per refused check would be 10,000 lines a cycle).

use std::time::{Duration, SystemTime};

use tokio::time::Instant;

use super::auth::RegistryState;

/// Longest `Retry-After` we accept; longer values are clamped, so a registry that asks for a
/// day (or sends a date far ahead) pauses its checks for at most 10 minutes.
pub const MAX_RETRY_AFTER: Duration = Duration::from_secs(600);

/// Pause without `Retry-After`: keep away for a minute rather than hammer.
pub const DEFAULT_PAUSE: Duration = Duration::from_secs(60);

/// Opens (or extends) the 429 pause of `host` for `retry_after` (capped) or [`DEFAULT_PAUSE`];
/// logs one warning when no pause was open. Returns the pause length.
pub(crate) fn open_pause(
    state: &RegistryState,
    host: &str,
    retry_after: Option<Duration>,
    now: Instant,
) -> Duration {
    let pause = retry_after.unwrap_or(DEFAULT_PAUSE).min(MAX_RETRY_AFTER);
    let was_open = state.blocked_for(now).is_some();
    state.block_until(now + pause);
    if !was_open {
        tracing::warn!(
            registry = host,
            pause_secs = pause.as_secs(),
            retry_after = ?retry_after,
            "registry answered 429 Too Many Requests; its checks pause (Retry-After capped at {} s) and fail fast until then",
            MAX_RETRY_AFTER.as_secs()
        );
    }
    pause
}

/// Parses `Retry-After` (delta-seconds or an HTTP date, relative to `now`).
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    let d = if let Ok(secs) = value.parse::<u64>() {
        Duration::from_secs(secs)
    } else {
        let at = httpdate::parse_http_date(value).ok()?;
        at.duration_since(now).unwrap_or(Duration::ZERO)
    };
    Some(d.min(MAX_RETRY_AFTER))
}

/// Backoff before retry number `attempt` (0-based): `base * 2^attempt` capped at `cap`, then
/// "equal jitter": a uniform pick in `[d/2, d]` driven by `unit` in `[0, 1)`.
pub fn backoff_delay(attempt: u32, base: Duration, cap: Duration, unit: f64) -> Duration {
    let exp = base.saturating_mul(1u32 << attempt.min(16)).min(cap);
    let half = exp / 2;
    half + half.mul_f64(unit.clamp(0.0, 1.0))
}

/// [`backoff_delay`] with a random jitter.
pub fn jittered_backoff(attempt: u32, base: Duration, cap: Duration) -> Duration {
    backoff_delay(attempt, base, cap, rand::random::<f64>())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_seconds_and_dates() {
        let now = SystemTime::UNIX_EPOCH + Duration::from_secs(1_700_000_000);
        assert_eq!(
            parse_retry_after("120", now),
            Some(Duration::from_secs(120))
        );
        let later = httpdate::fmt_http_date(now + Duration::from_secs(30));
        assert_eq!(
            parse_retry_after(&later, now),
            Some(Duration::from_secs(30))
        );
        let past = httpdate::fmt_http_date(now - Duration::from_secs(30));
        assert_eq!(parse_retry_after(&past, now), Some(Duration::ZERO));
        assert_eq!(parse_retry_after("99999999", now), Some(MAX_RETRY_AFTER));
        assert_eq!(parse_retry_after("soon", now), None);
        let next_year = httpdate::fmt_http_date(now + Duration::from_secs(365 * 86400));
        assert_eq!(parse_retry_after(&next_year, now), Some(MAX_RETRY_AFTER));
    }

    #[test]
    fn a_pause_is_capped_and_extends_an_open_one() {
        let state = RegistryState::default();
        let now = Instant::now();
        let day = Some(Duration::from_secs(86_400));
        assert_eq!(open_pause(&state, "r", day, now), MAX_RETRY_AFTER);
        assert_eq!(state.blocked_for(now), Some(MAX_RETRY_AFTER));
        assert_eq!(open_pause(&state, "r", None, now), DEFAULT_PAUSE);
        assert_eq!(
            state.blocked_for(now),
            Some(MAX_RETRY_AFTER),
            "never shortened"
        );
        assert_eq!(state.blocked_for(now + MAX_RETRY_AFTER), None);
    }

    #[test]
    fn backoff_grows_caps_and_jitters_within_bounds() {
        let base = Duration::from_millis(200);
        let cap = Duration::from_secs(5);
        assert_eq!(backoff_delay(0, base, cap, 0.0), Duration::from_millis(100));
        assert_eq!(backoff_delay(0, base, cap, 1.0), Duration::from_millis(200));
        assert_eq!(backoff_delay(3, base, cap, 0.0), Duration::from_millis(800));
        assert_eq!(backoff_delay(30, base, cap, 1.0), cap);
        for attempt in 0..6 {
            let d = jittered_backoff(attempt, base, cap);
            let full = backoff_delay(attempt, base, cap, 1.0);
            assert!(d >= full / 2 && d <= full, "{d:?} vs {full:?}");
        }
    }
}
