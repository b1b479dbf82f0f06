//! When sources are checked: a poll interval or a cron expression, as pure functions of `now`,
//! and the one loop every source runs in (trigger on demand, bounded jittered backoff on
//! errors, shutdown token, and with several replicas one scheduled run per interval across
//! them through [`crate::ha::turns`]).

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use time::OffsetDateTime;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::clock::Clock;
use crate::ha::turns::{Turn, Turns};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::store::events::Observation;

/// How often a source is checked.
#[derive(Debug, Clone)]
pub enum Schedule {
    /// Every interval (polls).
    Every(Duration),
    /// On a cron expression (5 or 6 fields, UTC). Shared: a parsed cron holds ~5 KiB of
    /// tables, and 10,000 sources usually name a handful of distinct expressions.
    Cron(Arc<croner::Cron>),
}

/// A check failure already logged and recorded in the same words (a chart archive the negative
/// cache skips): the loop logs it at debug level instead of warning on every poll.
#[derive(Debug)]
pub struct Repeated(pub String);

impl std::fmt::Display for Repeated {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(&self.0)
    }
}

impl std::error::Error for Repeated {}

/// Longest wait between retries of a failing source.
pub const MAX_ERROR_DELAY: Duration = Duration::from_secs(300);

impl Schedule {
    /// The next regular check after `now`.
    pub fn next_after(&self, now: OffsetDateTime) -> OffsetDateTime {
        match self {
            Schedule::Every(d) => now + *d,
            Schedule::Cron(c) => next_fire(c, now).unwrap_or(now + Duration::from_secs(3600)),
        }
    }

    /// When `source` checks next after `now`: for a cron, the next fire plus the source's own
    /// fixed offset into the interval ([`spread`]), so that 10,000 sources on one cron line do
    /// not all check at second 0; for an interval, `now + interval`.
    pub fn next_check(&self, source: &str, now: OffsetDateTime) -> OffsetDateTime {
        let next = self.next_after(now);
        match self {
            Schedule::Every(_) => next,
            Schedule::Cron(_) => {
                let interval: Duration = (self.next_after(next) - next)
                    .try_into()
                    .unwrap_or(Duration::ZERO);
                next + spread(source, interval)
            }
        }
    }

    /// The regular wait from `now` to the next run (what [`error_delay`] starts from).
    pub fn base_delay(&self, now: OffsetDateTime) -> Duration {
        (self.next_after(now) - now)
            .try_into()
            .unwrap_or(Duration::from_secs(1))
    }
}

/// The first time after `now` (exclusive) that `cron` fires, in UTC; `None` if it never does.
pub fn next_fire(cron: &croner::Cron, now: OffsetDateTime) -> Option<OffsetDateTime> {
    let utc =
        chrono::DateTime::<chrono::Utc>::from_timestamp(now.unix_timestamp(), now.nanosecond())?;
    let next = cron.find_next_occurrence(&utc, false).ok()?;
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(next.timestamp_nanos_opt()?)).ok()
}

/// `source`'s fixed offset into a cron interval: in `[0, interval / 2)`, the same on every run
/// (a hash of the id), different between sources. Half the interval keeps each check well
/// inside its own interval.
pub fn spread(source: &str, interval: Duration) -> Duration {
    use sha2::Digest as _;
    let h = sha2::Sha256::digest(source.as_bytes());
    let mut first = [0u8; 8];
    first.copy_from_slice(&h[..8]);
    let unit = u64::from_be_bytes(first) as f64 / u64::MAX as f64;
    // Whole milliseconds: the clock's resolution.
    Duration::from_millis(((interval / 2).as_millis() as f64 * unit) as u64)
}

/// The wait after `failures` consecutive failures: starts at the regular delay clamped to
/// 1-10 s, doubles per failure, is capped at [`MAX_ERROR_DELAY`] and at the regular delay (a
/// retry never waits longer than the next regular check would), with equal jitter
/// (`[d/2, d]`).
pub fn error_delay(regular: Duration, failures: u32, rng: &mut impl Rng) -> Duration {
    let base = Duration::from_secs(1).max(regular.min(Duration::from_secs(10)));
    let exp = base.saturating_mul(1u32 << failures.saturating_sub(1).min(16));
    let d = exp
        .min(MAX_ERROR_DELAY.max(base))
        .min(regular.max(Duration::from_secs(1)));
    let half = d / 2;
    half + Duration::from_secs_f64(rng.random::<f64>() * half.as_secs_f64())
}

/// A source loop's fixed parts.
#[derive(Debug, Clone)]
pub struct LoopSettings {
    /// Source id (metrics label, observation of the last error).
    pub source: Arc<str>,
    /// When to check.
    pub schedule: Schedule,
    /// Wall clock (tokio-driven in tests with paused time).
    pub clock: Clock,
    /// Process metrics.
    pub metrics: Arc<Metrics>,
    /// Where the last error of the source is recorded (`<source>#error`; empty once it
    /// recovers).
    pub store: Option<Store>,
    /// Scheduled runs are taken as turns shared with the other replicas (`None`: always run).
    pub turns: Option<Turns>,
    /// Scheduled checks in flight across the daemon ([`CheckLimit`]; `None`: no limit).
    pub limit: Option<CheckLimit>,
    /// The store holds an error of this source from an earlier run
    /// ([`Store::failing_sources`]): the first success clears it. Without one, a success
    /// writes nothing.
    pub recorded_error: bool,
}

/// How many scheduled checks of the whole daemon may run at once: [`CheckLimit::DEFAULT`].
///
/// Why a limit: at start-up (and when many crons fire together) every source is due at once,
/// and without one each would build its check at once: 10,000 checks in flight, each waiting
/// for its registry's request permit while holding its buffers, a peak the allocator keeps.
/// A check takes a permit before it is built (in a source loop or a
/// [`super::cron_group`]), so what waits is only a queue entry. Triggers (webhooks, `sync`) do
/// not take one: they run at once.
#[derive(Debug, Clone)]
pub struct CheckLimit(pub(super) Arc<tokio::sync::Semaphore>);

impl CheckLimit {
    /// 64: four times a registry's default of 16 requests in flight, so a few registries and
    /// git servers are kept busy while the rest wait in the queue.
    pub const DEFAULT: usize = 64;

    /// At most `n` scheduled checks at once.
    pub fn new(n: usize) -> Self {
        Self(Arc::new(tokio::sync::Semaphore::new(n.max(1))))
    }
}

impl Default for CheckLimit {
    fn default() -> Self {
        Self::new(Self::DEFAULT)
    }
}

/// Runs `check` at start, then on the schedule (an interval from the start of one check to
/// the start of the next) and whenever a trigger arrives, until `shutdown`. `check` gets the trigger that woke it (`None` for a scheduled run) and returns
/// the outcome label; an error is logged, counted, recorded, and retried after
/// [`error_delay`] — it never ends the loop. With `turns`, a scheduled run (not a retry, not a
/// trigger) happens only when this replica wins its turn; otherwise the loop sleeps until the
/// winner's turn ends.
pub async fn run_loop<T, F, Fut>(
    s: LoopSettings,
    mut triggers: mpsc::Receiver<T>,
    shutdown: CancellationToken,
    mut check: F,
) where
    F: FnMut(Option<T>) -> Fut,
    Fut: Future<Output = anyhow::Result<&'static str>>,
{
    let mut failures = 0u32;
    let mut open = true;
    let mut stale_error = s.recorded_error;
    let mut due = s.clock.now();
    loop {
        let mut trigger = None;
        while s.clock.now() < due {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                t = triggers.recv(), if open => match t {
                    Some(t) => {
                        trigger = Some(t);
                        break;
                    }
                    None => open = false,
                },
                _ = s.clock.sleep_until(due) => {}
            }
        }
        if let (None, 0, Some(turns)) = (&trigger, failures, &s.turns) {
            let now = s.clock.now();
            // Boxed, like the check below: a future held across an await is part of the
            // loop's own allocation for as long as the loop lives (see `check`).
            let turn = Box::pin(turns.take(&s.source, now, s.schedule.next_after(now)));
            match turn.await {
                Ok(Turn::Mine) => {}
                Ok(Turn::Taken(until)) => {
                    due = until;
                    continue;
                }
                // Better one check too many than none while the store is away.
                Err(e) => {
                    tracing::warn!(source = %s.source, error = %e, "cannot take the turn; checking anyway")
                }
            }
        }
        let permit = match (&trigger, &s.limit) {
            (None, Some(limit)) => tokio::select! {
                _ = shutdown.cancelled() => return,
                p = limit.0.acquire() => p.ok(),
            },
            _ => None,
        };
        let started = s.clock.now();
        // The check is boxed so that it takes memory only while it runs: inline, the largest
        // check future (an HTTP request, a statement) would be part of every sleeping loop.
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = Box::pin(check(trigger)) => r,
        };
        drop(permit);
        let now = s.clock.now();
        let ok = Box::pin(settle(
            &s.source,
            result,
            stale_error,
            failures.saturating_add(1),
            &s.metrics,
            s.store.as_ref(),
            now,
        ))
        .await;
        let wait = if ok {
            failures = 0;
            stale_error = false;
            // An interval runs start to start (a 1 s poll whose check takes 200 ms waits
            // 800 ms); a check longer than the interval is followed by the next at once.
            let from = match s.schedule {
                Schedule::Every(_) => started,
                Schedule::Cron(_) => now,
            };
            (s.schedule.next_check(&s.source, from) - now)
                .try_into()
                .unwrap_or(Duration::ZERO)
        } else {
            failures = failures.saturating_add(1);
            stale_error = true;
            error_delay(s.schedule.base_delay(now), failures, &mut rand::rng())
        };
        due = now + wait;
    }
}

/// What a finished check leaves behind, the same for a source loop and a cron group
/// ([`super::cron_group`]): the check counted by outcome; an error logged (at debug level when
/// [`Repeated`]) and recorded as `<source>#error`; on a success after an error recorded
/// (`stale_error`), that record cleared. `failures` counts this one if it failed. Returns
/// whether the check succeeded.
pub async fn settle(
    source: &Arc<str>,
    result: anyhow::Result<&'static str>,
    stale_error: bool,
    failures: u32,
    metrics: &Metrics,
    store: Option<&Store>,
    now: OffsetDateTime,
) -> bool {
    let (value, ok) = match result {
        Ok(outcome) => {
            metrics.source_check(source, outcome, now);
            if !stale_error {
                return true;
            }
            // Recovered: clear the recorded error (an empty value means "none").
            (String::new(), true)
        }
        Err(e) => {
            metrics.source_check(source, "error", now);
            if e.downcast_ref::<Repeated>().is_some() {
                tracing::debug!(
                    source = &**source,
                    failures,
                    "source check failed again: {e:#}"
                );
            } else {
                tracing::warn!(source = &**source, failures, "source check failed: {e:#}");
            }
            (format!("{e:#}"), false)
        }
    };
    if let Some(store) = store {
        let o = Observation {
            source: format!("{source}#error"),
            value,
            observed_at: now,
        };
        if let Err(e) = Box::pin(store.record_observation(&o)).await {
            let what = if ok { "clear" } else { "record" };
            tracing::warn!(source = &**source, "cannot {what} the error: {e}");
        }
    }
    ok
}

#[cfg(test)]
#[path = "schedule_tests.rs"]
mod tests;
