//! Retry timing: `Retry-After` capped for registries, the delays between retries (both from
//! `baton-http`), and the one place a registry's 429 pause opens (and is logged, once per
//! pause: with 10,000 watched tags, a warning per refused check would be 10,000 lines a cycle).

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

/// Parses `Retry-After` (delta-seconds or an HTTP date, relative to `now`), capped at
/// [`MAX_RETRY_AFTER`].
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    baton_http::retry::parse_retry_after(value, now).map(|d| d.min(MAX_RETRY_AFTER))
}

/// Delays between the retries of one request after a transport error or a 5xx: from 250 ms,
/// doubling, capped at 10 s, jittered.
pub(crate) fn retry_delays() -> impl Iterator<Item = Duration> + Send {
    baton_http::retry::backoff(
        Duration::from_millis(250),
        Duration::from_secs(10),
        usize::MAX,
    )
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
}
