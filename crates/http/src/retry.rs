//! When to try a request again: the peer's `Retry-After`, or a bounded exponential backoff
//! with jitter (so a fleet of replicas that failed together does not retry together).

use std::time::{Duration, SystemTime};

use backon::{BackoffBuilder as _, ExponentialBuilder};

/// Reads a `Retry-After` value: delay-seconds or an HTTP-date, relative to `now`. A date in
/// the past means "now"; anything unreadable is `None` (the caller's backoff applies). Callers
/// cap the result: a peer must not park a worker for a day.
pub fn parse_retry_after(value: &str, now: SystemTime) -> Option<Duration> {
    let value = value.trim();
    if let Ok(secs) = value.parse::<u64>() {
        return Some(Duration::from_secs(secs));
    }
    let at = httpdate::parse_http_date(value).ok()?;
    Some(at.duration_since(now).unwrap_or(Duration::ZERO))
}

/// The `Retry-After` header of an answer as sent, if it is text.
pub fn retry_after_header(headers: &reqwest::header::HeaderMap) -> Option<String> {
    headers
        .get(reqwest::header::RETRY_AFTER)
        .and_then(|v| v.to_str().ok())
        .map(str::to_owned)
}

/// The delays of at most `times` retries: starting at `first`, doubling, capped at `cap`,
/// each with a random jitter of up to its own length added, so replicas spread out.
///
/// ```
/// use std::time::Duration;
/// let delays: Vec<_> = baton_http::retry::backoff(Duration::from_millis(250), Duration::from_secs(10), 3).collect();
/// assert_eq!(delays.len(), 3);
/// assert!(delays.iter().all(|d| *d >= Duration::from_millis(250) && *d <= Duration::from_secs(20)));
/// ```
pub fn backoff(
    first: Duration,
    cap: Duration,
    times: usize,
) -> impl Iterator<Item = Duration> + Send {
    ExponentialBuilder::default()
        .with_min_delay(first)
        .with_max_delay(cap)
        .with_factor(2.0)
        .with_max_times(times)
        .with_jitter()
        .build()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn retry_after_takes_seconds_and_dates() {
        let now = httpdate::parse_http_date("Sun, 06 Nov 1994 08:49:37 GMT").unwrap();
        assert_eq!(
            parse_retry_after(" 120 ", now),
            Some(Duration::from_secs(120))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:50:37 GMT", now),
            Some(Duration::from_secs(60))
        );
        assert_eq!(
            parse_retry_after("Sun, 06 Nov 1994 08:00:00 GMT", now),
            Some(Duration::ZERO)
        );
        assert_eq!(parse_retry_after("soon", now), None);
        assert_eq!(parse_retry_after("-1", now), None);
    }

    #[test]
    fn backoff_grows_is_capped_jittered_and_ends() {
        let first = Duration::from_millis(100);
        let cap = Duration::from_secs(1);
        let runs: Vec<Vec<Duration>> = (0..20).map(|_| backoff(first, cap, 6).collect()).collect();
        for delays in &runs {
            assert_eq!(delays.len(), 6, "{delays:?}");
            for (i, d) in delays.iter().enumerate() {
                let base = (first * 2u32.pow(i as u32)).min(cap);
                assert!(
                    *d >= base && *d <= base * 2,
                    "retry {i}: {d:?} not in [{base:?}, 2x]"
                );
            }
        }
        assert!(
            runs.iter().any(|r| r != &runs[0]),
            "twenty runs gave the same delays: no jitter"
        );
    }
}
