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
    /// On a cron expression (5 or 6 fields, UTC).
    Cron(Box<croner::Cron>),
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

    fn base_delay(&self, now: OffsetDateTime) -> Duration {
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
    pub source: String,
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
}

/// Runs `check` at start, then on the schedule and whenever a trigger arrives, until
/// `shutdown`. `check` gets the trigger that woke it (`None` for a scheduled run) and returns
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
    let mut stale_error = true;
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
            match turns.take(&s.source, now, s.schedule.next_after(now)).await {
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
        let result = tokio::select! {
            _ = shutdown.cancelled() => return,
            r = check(trigger) => r,
        };
        let now = s.clock.now();
        let wait = match result {
            Ok(outcome) => {
                if stale_error && let Some(store) = &s.store {
                    // Recovered (or first success of this process): clear the recorded error
                    // (an empty value means "none").
                    let o = Observation {
                        source: format!("{}#error", s.source),
                        value: String::new(),
                        observed_at: now,
                    };
                    if let Err(e) = store.record_observation(&o).await {
                        tracing::warn!(source = %s.source, "cannot clear the error: {e}");
                    }
                }
                failures = 0;
                stale_error = false;
                s.metrics.source_check(&s.source, outcome, now);
                (s.schedule.next_check(&s.source, now) - now)
                    .try_into()
                    .unwrap_or(Duration::from_secs(1))
            }
            Err(e) => {
                failures = failures.saturating_add(1);
                stale_error = true;
                s.metrics.source_check(&s.source, "error", now);
                if e.downcast_ref::<Repeated>().is_some() {
                    tracing::debug!(source = %s.source, failures, "source check failed again: {e:#}");
                } else {
                    tracing::warn!(source = %s.source, failures, "source check failed: {e:#}");
                }
                if let Some(store) = &s.store {
                    let o = Observation {
                        source: format!("{}#error", s.source),
                        value: format!("{e:#}"),
                        observed_at: now,
                    };
                    if let Err(e) = store.record_observation(&o).await {
                        tracing::warn!(source = %s.source, "cannot record the error: {e}");
                    }
                }
                error_delay(s.schedule.base_delay(now), failures, &mut rand::rng())
            }
        };
        due = now + wait;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use time::macros::datetime;

    fn cron(expr: &str) -> croner::Cron {
        crate::config::parse_cron(expr).unwrap()
    }

    #[test]
    fn cron_checks_spread_over_the_first_half_of_the_interval() {
        let every_minute = Schedule::Cron(Box::new(cron("* * * * *")));
        let now = datetime!(2026-11-29 12:00:10 UTC);
        let fire = datetime!(2026-11-29 12:01:00 UTC);
        let mut offsets = Vec::new();
        for i in 0..1000 {
            let at = every_minute.next_check(&format!("base:p/i{i}"), now);
            assert!(at >= fire && at < fire + Duration::from_secs(30), "{at}");
            assert_eq!(at, every_minute.next_check(&format!("base:p/i{i}"), now));
            offsets.push((at - fire).whole_seconds());
        }
        // Spread, not a burst: every 5-second slot of the first half gets some checks.
        for slot in 0..6 {
            let n = offsets.iter().filter(|o| **o / 5 == slot).count();
            assert!((100..=240).contains(&n), "slot {slot}: {n} of 1000");
        }
        let every = Schedule::Every(Duration::from_secs(30));
        assert_eq!(every.next_check("x", now), now + Duration::from_secs(30));
    }

    #[test]
    fn next_fire_is_a_pure_function_of_now() {
        let c = cron("*/15 * * * *");
        assert_eq!(
            next_fire(&c, datetime!(2026-11-29 12:00:00 UTC)),
            Some(datetime!(2026-11-29 12:15:00 UTC))
        );
        assert_eq!(
            next_fire(&c, datetime!(2026-11-29 12:14:59.5 UTC)),
            Some(datetime!(2026-11-29 12:15:00 UTC))
        );
        assert_eq!(
            next_fire(&c, datetime!(2026-11-29 23:59:00 UTC)),
            Some(datetime!(2026-11-30 00:00:00 UTC))
        );
        let six = cron("30 0 3 * * *");
        assert_eq!(
            next_fire(&six, datetime!(2026-11-29 03:00:30 UTC)),
            Some(datetime!(2026-11-30 03:00:30 UTC))
        );
    }

    #[test]
    fn error_delays_grow_are_jittered_and_bounded() {
        let mut rng = rand::rng();
        let minute = Duration::from_secs(60);
        for _ in 0..200 {
            let d1 = error_delay(minute, 1, &mut rng);
            assert!(
                d1 >= Duration::from_secs(5) && d1 <= Duration::from_secs(10),
                "{d1:?}"
            );
            let d3 = error_delay(minute, 3, &mut rng);
            assert!(
                d3 >= Duration::from_secs(20) && d3 <= Duration::from_secs(40),
                "{d3:?}"
            );
            let d20 = error_delay(minute, 20, &mut rng);
            assert!(d20 >= Duration::from_secs(30) && d20 <= minute, "{d20:?}");
            let long = error_delay(Duration::from_secs(3600), 30, &mut rng);
            assert!(long <= MAX_ERROR_DELAY, "{long:?}");
        }
    }

    #[tokio::test(start_paused = true)]
    async fn cron_loop_fires_on_schedule_retries_errors_and_stops_on_shutdown() {
        let t0 = datetime!(2026-11-29 12:00:05 UTC);
        let clock = Clock::starting_at(t0);
        type Calls = Vec<(OffsetDateTime, Option<u8>)>;
        let calls: Arc<Mutex<Calls>> = Arc::default();
        let metrics = Arc::new(Metrics::default());
        let (tx, rx) = mpsc::channel(4);
        let shutdown = CancellationToken::new();
        let settings = LoopSettings {
            source: "base-image:p/i".into(),
            schedule: Schedule::Cron(Box::new(cron("*/15 * * * *"))),
            clock: clock.clone(),
            metrics: metrics.clone(),
            store: None,
            turns: None,
        };
        let (c, k, stop) = (calls.clone(), clock.clone(), shutdown.clone());
        let task = tokio::spawn(run_loop(settings, rx, shutdown.clone(), move |t| {
            let (c, k, stop) = (c.clone(), k.clone(), stop.clone());
            async move {
                let n = {
                    let mut c = c.lock().unwrap();
                    c.push((k.now(), t));
                    c.len()
                };
                if n >= 5 {
                    stop.cancel();
                }
                // The second check fails: the loop retries soon instead of waiting 15 min.
                if n == 2 {
                    anyhow::bail!("registry down");
                }
                Ok("unchanged")
            }
        }));
        // Wait until the first (start-up) check ran, then trigger one by hand.
        while calls.lock().unwrap().is_empty() {
            tokio::task::yield_now().await;
        }
        tx.send(7).await.unwrap();
        tokio::time::timeout(Duration::from_secs(24 * 3600), task)
            .await
            .expect("the loop stops on shutdown")
            .unwrap();
        let calls = calls.lock().unwrap().clone();
        let at: Vec<_> = calls.iter().map(|(t, _)| *t).collect();
        assert_eq!(calls[0], (t0, None), "checks at start");
        assert_eq!(calls[1], (t0, Some(7)), "a trigger checks at once");
        // After the failure: a retry within [5, 10] s (first failure: 10 s with equal jitter),
        // not at 12:15.
        let retry = at[2] - at[1];
        assert!(
            retry >= time::Duration::seconds(5) && retry <= time::Duration::seconds(10),
            "{retry:?}"
        );
        // Then each fire plus this source's fixed offset into the interval.
        let off = spread("base-image:p/i", Duration::from_secs(900));
        assert!(
            off > Duration::ZERO && off < Duration::from_secs(450),
            "{off:?}"
        );
        assert_eq!(at[3], datetime!(2026-11-29 12:15:00 UTC) + off);
        assert_eq!(at[4], datetime!(2026-11-29 12:30:00 UTC) + off);
    }
}
