//! The limits every route is served under (issue 17 item 1), and the one place that applies
//! them: [`finish`] wraps the whole router, after every merge, so `/hooks/*` gets the same
//! request timeout as `/v1`; `server` enforces the connection-level ones.
//!
//! Keys and defaults are in [`ApiSettings`] and docs/hardening.md.

use std::sync::Mutex;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::StatusCode;
use tokio::time::Instant;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

pub use baton_core::config::api::ApiSettings;

/// File descriptors kept free for everything but API connections: the state store, git and
/// helm child processes, registry, Jenkins and Gate clients, logs.
pub const RESERVED_FDS: u64 = 256;

/// The served router: `router` (API and webhooks, already merged) with the request timeout
/// (408), a tracing span per request and request ids, applied last so no route escapes them.
pub fn finish(router: Router, settings: &ApiSettings) -> Router {
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            settings.request_timeout,
        ))
        .layer(TraceLayer::new_for_http().make_span_with(
            super::trace::make_span as fn(&axum::http::Request<_>) -> tracing::Span,
        ))
        .layer(axum::middleware::from_fn(super::trace::request_id))
}

/// The connection cap this process can afford: `wanted`, unless the open-files limit
/// (`ulimit -n`) is too low for it plus [`RESERVED_FDS`]. The soft limit is raised towards the
/// hard one first; if that is still too low, the cap is lowered and a warning says why.
pub fn connection_cap(wanted: usize) -> usize {
    use rustix::process::{Resource, getrlimit, setrlimit};
    let wanted = wanted.max(1);
    let need = wanted as u64 + RESERVED_FDS;
    let mut limit = getrlimit(Resource::Nofile);
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft < need {
        let target = limit.maximum.map_or(need, |hard| hard.min(need));
        if target > soft {
            limit.current = Some(target);
            if setrlimit(Resource::Nofile, limit).is_err() {
                limit.current = Some(soft);
            }
        }
    }
    let soft = limit.current.unwrap_or(u64::MAX);
    if soft >= need {
        return wanted;
    }
    let cap = soft.saturating_sub(RESERVED_FDS).max(soft / 2).max(1) as usize;
    tracing::warn!(
        wanted,
        cap,
        open_files_limit = soft,
        "api.max_connections lowered to fit the open-files limit; raise `ulimit -n` to at least {need}"
    );
    cap
}

/// A log line that is written at most once per interval; the calls in between are counted and
/// reported with the next line, so a flood of refusals costs one line, not one per accept.
#[derive(Debug)]
pub struct RateLimitedLog {
    interval: Duration,
    last: Mutex<Option<Instant>>,
    suppressed: AtomicU64,
}

impl RateLimitedLog {
    /// At most one line per `interval`.
    pub fn new(interval: Duration) -> Self {
        Self {
            interval,
            last: Mutex::new(None),
            suppressed: AtomicU64::new(0),
        }
    }

    /// `Some(n)` when a line is due now, with `n` the calls suppressed since the last one;
    /// `None` when this call is to be counted and kept quiet.
    pub fn due(&self) -> Option<u64> {
        let now = Instant::now();
        let mut last = self.last.lock().unwrap_or_else(|e| e.into_inner());
        match *last {
            Some(at) if now.duration_since(at) < self.interval => {
                self.suppressed.fetch_add(1, Ordering::Relaxed);
                None
            }
            _ => {
                *last = Some(now);
                Some(self.suppressed.swap(0, Ordering::Relaxed))
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test(start_paused = true)]
    async fn one_line_per_interval_with_the_count_of_the_quiet_ones() {
        let log = RateLimitedLog::new(Duration::from_secs(10));
        assert_eq!(log.due(), Some(0));
        for _ in 0..500 {
            assert_eq!(log.due(), None);
        }
        tokio::time::advance(Duration::from_secs(10)).await;
        assert_eq!(log.due(), Some(500));
        assert_eq!(log.due(), None);
    }

    #[test]
    fn the_cap_fits_the_open_files_limit() {
        let soft = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        let cap = connection_cap(usize::MAX / 2) as u64;
        // Either the limit could be raised (then it is at least cap + reserve) or the cap was
        // lowered under it.
        let now = rustix::process::getrlimit(rustix::process::Resource::Nofile)
            .current
            .unwrap_or(u64::MAX);
        assert!(now >= soft);
        assert!(
            cap < now,
            "cap {cap} must stay under the open-files limit {now}"
        );
        assert_eq!(connection_cap(10), 10);
    }
}
