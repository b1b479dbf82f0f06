//! One task per cron expression for the base-image checks: a scheduler that fans the due
//! checks out, instead of one sleeping loop per watched tag.
//!
//! Why: a source loop ([`super::schedule::run_loop`]) is a task whose future, trigger channel
//! and boxes live as long as the daemon: ~1.5 KiB each, 12 MB of heap at 10,000 watched tags
//! (heaptrack, bench/README.md). Here a source is a slot of a few dozen bytes (its id, its
//! failures) and an entry in a min-heap of due times. When a check is due the scheduler takes
//! a permit of the daemon-wide [`CheckLimit`] and only then builds and spawns the check, so at
//! most that many checks exist at once.
//!
//! Each source keeps the schedule a loop gives it: its cron fire plus its own [`spread`](super::schedule::spread)
//! into the interval, bounded jittered retries after a failure ([`error_delay`]), errors
//! recorded and cleared the same way ([`settle`]). With several replicas, the turns of the
//! checks due together (within [`TURN_WINDOW`]) are taken in one statement per few hundred
//! ([`Turns::take_all`]) rather than one each: a lost turn means another replica has this
//! occurrence, and the source waits for its next one. Retries take no turn, as in a loop.
//!
//! Base-image checks have no trigger: push webhooks only name git sources.

use std::cmp::Reverse;
use std::collections::{BinaryHeap, HashMap, VecDeque};
use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::sync::OwnedSemaphorePermit;
use tokio::task::JoinSet;
use tokio_util::sync::CancellationToken;

use super::schedule::{CheckLimit, Schedule, error_delay, settle};
use crate::clock::Clock;
use crate::ha::turns::Turns;
use crate::metrics::Metrics;
use crate::store::Store;

/// Most a due check waits so that the turns of the checks due with it are taken in the same
/// statement (a tenth of the interval if that is shorter). Only with turns.
pub const TURN_WINDOW: Duration = Duration::from_secs(1);

/// What a group shares: the schedule, and where checks are counted, recorded and limited.
#[derive(Debug, Clone)]
pub struct Group {
    /// The cron of every source in the group.
    pub schedule: Schedule,
    /// Wall clock (tokio-driven in tests with paused time).
    pub clock: Clock,
    /// Process metrics.
    pub metrics: Arc<Metrics>,
    /// Where each source's last error is recorded (`<source>#error`).
    pub store: Option<Store>,
    /// Scheduled checks are taken as turns shared with the other replicas (`None`: always).
    pub turns: Option<Turns>,
    /// Scheduled checks in flight across the daemon.
    pub limit: CheckLimit,
}

/// One source of a group.
struct Slot {
    source: Arc<str>,
    failures: u32,
    /// The store holds an error of this source (from this run or an earlier one).
    stale_error: bool,
}

/// What the scheduler holds between wake-ups.
struct State {
    slots: Vec<Slot>,
    /// When each idle source is due next, earliest first.
    due: BinaryHeap<Reverse<(OffsetDateTime, usize)>>,
    /// Due and this replica's to run, waiting for a permit.
    ready: VecDeque<usize>,
    running: JoinSet<(bool, OffsetDateTime)>,
    running_slot: HashMap<tokio::task::Id, usize>,
}

/// Checks each of `sources` (id, whether the store holds an error of it from an earlier run)
/// at start and then on the group's cron, until `shutdown`. `check(i)` builds the check of
/// `sources[i]`; it is called only once the check holds its permit.
pub async fn run_group<F, Fut>(
    g: Group,
    sources: Vec<(String, bool)>,
    shutdown: CancellationToken,
    check: F,
) where
    F: Fn(usize) -> Fut,
    Fut: Future<Output = anyhow::Result<&'static str>> + Send + 'static,
{
    let start = g.clock.now();
    let mut st = State {
        due: (0..sources.len()).map(|i| Reverse((start, i))).collect(),
        slots: sources
            .into_iter()
            .map(|(source, stale_error)| Slot {
                source: source.into(),
                failures: 0,
                stale_error,
            })
            .collect(),
        ready: VecDeque::new(),
        running: JoinSet::new(),
        running_slot: HashMap::new(),
    };
    let sem = &g.limit.0;
    loop {
        let now = g.clock.now();
        let window = window(&g, now);
        if st
            .due
            .peek()
            .is_some_and(|Reverse((at, _))| *at + window <= now)
        {
            tokio::select! {
                _ = shutdown.cancelled() => return,
                () = st.take_due(&g, now) => {}
            }
        }
        while !st.ready.is_empty() {
            let Ok(permit) = sem.clone().try_acquire_owned() else {
                break;
            };
            st.spawn(&g, permit, &check);
        }
        let wake = st.due.peek().map(|Reverse((at, _))| *at + window);
        tokio::select! {
            _ = shutdown.cancelled() => return,
            p = sem.clone().acquire_owned(), if !st.ready.is_empty() => {
                if let Ok(permit) = p {
                    st.spawn(&g, permit, &check);
                }
            }
            Some(done) = st.running.join_next_with_id(), if !st.running.is_empty() => {
                st.finished(&g, done);
            }
            () = g.clock.sleep_until(wake.unwrap_or(now)), if wake.is_some() => {}
        }
    }
}

/// How long due checks wait to be batched: [`TURN_WINDOW`] or a tenth of the interval with
/// turns, nothing without.
fn window(g: &Group, now: OffsetDateTime) -> Duration {
    if g.turns.is_none() {
        return Duration::ZERO;
    }
    TURN_WINDOW.min(g.schedule.base_delay(g.schedule.next_after(now)) / 10)
}

impl State {
    /// Moves every source due by `now` to `ready`, first taking its turn unless it is a retry;
    /// a turn another replica holds sends the source to its next occurrence.
    async fn take_due(&mut self, g: &Group, now: OffsetDateTime) {
        let mut first = Vec::new();
        while let Some(Reverse((at, i))) = self.due.peek().copied()
            && at <= now
        {
            self.due.pop();
            match (&g.turns, self.slots[i].failures) {
                (Some(_), 0) => first.push((i, at)),
                _ => self.ready.push_back(i),
            }
        }
        let Some(turns) = &g.turns else { return };
        if first.is_empty() {
            return;
        }
        let works: Vec<(&str, OffsetDateTime)> = first
            .iter()
            .map(|(i, at)| (&*self.slots[*i].source, g.schedule.next_after(*at)))
            .collect();
        match turns.take_all(&works, now).await {
            Ok(won) => {
                for ((i, at), mine) in first.into_iter().zip(won) {
                    if mine {
                        self.ready.push_back(i);
                    } else {
                        let next = g.schedule.next_check(&self.slots[i].source, at);
                        self.due.push(Reverse((next, i)));
                    }
                }
            }
            // Better one check too many than none while the store is away.
            Err(e) => {
                tracing::warn!(checks = first.len(), error = %e, "cannot take the turns; checking anyway");
                self.ready.extend(first.into_iter().map(|(i, _)| i));
            }
        }
    }

    /// Builds and spawns the check of the first ready source with `permit`.
    fn spawn<F, Fut>(&mut self, g: &Group, permit: OwnedSemaphorePermit, check: &F)
    where
        F: Fn(usize) -> Fut,
        Fut: Future<Output = anyhow::Result<&'static str>> + Send + 'static,
    {
        let Some(i) = self.ready.pop_front() else {
            return;
        };
        let slot = &self.slots[i];
        let (source, stale, failures) = (slot.source.clone(), slot.stale_error, slot.failures);
        let (clock, metrics, store) = (g.clock.clone(), g.metrics.clone(), g.store.clone());
        let run = check(i);
        let handle = self.running.spawn(async move {
            let result = run.await;
            drop(permit);
            let now = clock.now();
            let failures = failures.saturating_add(1);
            let ok = settle(
                &source,
                result,
                stale,
                failures,
                &metrics,
                store.as_ref(),
                now,
            )
            .await;
            (ok, now)
        });
        self.running_slot.insert(handle.id(), i);
    }

    /// Schedules the next check of the source whose check ended: its next occurrence after a
    /// success, a bounded jittered retry after a failure (or a panic, logged here).
    fn finished(
        &mut self,
        g: &Group,
        done: Result<(tokio::task::Id, (bool, OffsetDateTime)), tokio::task::JoinError>,
    ) {
        let (id, outcome) = match done {
            Ok((id, outcome)) => (id, Some(outcome)),
            Err(e) => (e.id(), None),
        };
        let Some(i) = self.running_slot.remove(&id) else {
            return;
        };
        let slot = &mut self.slots[i];
        let (ok, now) = outcome.unwrap_or_else(|| {
            // Nothing was counted or recorded: count it here.
            tracing::error!(source = %slot.source, "the source check panicked");
            let now = g.clock.now();
            g.metrics.source_check(&slot.source, "error", now);
            (false, now)
        });
        let next = if ok {
            slot.failures = 0;
            slot.stale_error = false;
            g.schedule.next_check(&slot.source, now)
        } else {
            slot.failures = slot.failures.saturating_add(1);
            // `settle` recorded the error (a panic recorded nothing).
            slot.stale_error |= outcome.is_some();
            let regular = g.schedule.base_delay(now);
            now + error_delay(regular, slot.failures, &mut rand::rng())
        };
        self.due.push(Reverse((next, i)));
    }
}

#[cfg(test)]
#[path = "cron_group_tests.rs"]
mod tests;
