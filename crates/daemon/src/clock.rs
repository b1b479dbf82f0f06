//! Wall-clock time that tests control. In production it is the system clock (sleeps use tokio's
//! timer); [`Clock::manual`] gives a clock that moves only when a test says so, plus a
//! [`ManualClock`] handle that sees what the code under test is waiting for.
//!
//! Why not only tokio's paused clock: it jumps to the next timer whenever the runtime idles, and
//! the runtime idles while SQLite or PostgreSQL work on other threads (sqlx pings each
//! connection it returns to the pool), so time would jump in the middle of a store call.

use std::collections::BTreeMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::Duration;

use time::OffsetDateTime;
use tokio::time::Instant;

/// A wall clock: `now`, `sleep_until`, `timeout`.
#[derive(Debug, Clone)]
pub struct Clock(Source);

#[derive(Debug, Clone)]
enum Source {
    System,
    Tokio { wall: OffsetDateTime, mono: Instant },
    Manual(Arc<Mutex<ManualState>>),
}

#[derive(Debug)]
struct ManualState {
    now: OffsetDateTime,
    sleepers: BTreeMap<u64, (OffsetDateTime, Waker)>,
    next_id: u64,
    generation: u64,
}

/// The deadline passed first.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("timed out")]
pub struct TimedOut;

impl Clock {
    /// The system's wall clock; sleeps use tokio's timer.
    pub fn system() -> Self {
        Self(Source::System)
    }

    /// Anchors at `wall` and follows tokio's clock (so `tokio::time::pause` moves it).
    pub fn starting_at(wall: OffsetDateTime) -> Self {
        Self(Source::Tokio {
            wall,
            mono: Instant::now(),
        })
    }

    /// A clock standing at `wall` that moves only through the returned handle.
    pub fn manual(wall: OffsetDateTime) -> (Self, ManualClock) {
        let state = Arc::new(Mutex::new(ManualState {
            now: wall,
            sleepers: BTreeMap::new(),
            next_id: 0,
            generation: 0,
        }));
        (Self(Source::Manual(state.clone())), ManualClock(state))
    }

    /// Now.
    pub fn now(&self) -> OffsetDateTime {
        match &self.0 {
            Source::System => OffsetDateTime::now_utc(),
            Source::Tokio { wall, mono } => *wall + mono.elapsed(),
            Source::Manual(s) => lock(s).now,
        }
    }

    /// Waits until the clock reads `at` (returns at once if it is past).
    pub async fn sleep_until(&self, at: OffsetDateTime) {
        match &self.0 {
            Source::System | Source::Tokio { .. } => {
                let ahead = at - self.now();
                if ahead.is_positive() {
                    tokio::time::sleep(ahead.unsigned_abs()).await;
                }
            }
            Source::Manual(s) => {
                ManualSleep {
                    state: s.clone(),
                    at,
                    id: None,
                }
                .await
            }
        }
    }

    /// Runs `fut` for at most `limit`.
    pub async fn timeout<F: Future>(&self, limit: Duration, fut: F) -> Result<F::Output, TimedOut> {
        let deadline = self.now() + limit;
        tokio::select! {
            out = fut => Ok(out),
            _ = self.sleep_until(deadline) => Err(TimedOut),
        }
    }
}

fn lock(s: &Mutex<ManualState>) -> std::sync::MutexGuard<'_, ManualState> {
    s.lock().unwrap_or_else(|e| e.into_inner())
}

struct ManualSleep {
    state: Arc<Mutex<ManualState>>,
    at: OffsetDateTime,
    id: Option<u64>,
}

impl Future for ManualSleep {
    type Output = ();

    fn poll(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<()> {
        let state = self.state.clone();
        let mut s = lock(&state);
        if s.now >= self.at {
            if let Some(id) = self.id.take() {
                s.sleepers.remove(&id);
                s.generation += 1;
            }
            return Poll::Ready(());
        }
        let id = match self.id {
            Some(id) => id,
            None => {
                let id = s.next_id;
                s.next_id += 1;
                s.generation += 1;
                self.id = Some(id);
                id
            }
        };
        s.sleepers.insert(id, (self.at, cx.waker().clone()));
        Poll::Pending
    }
}

impl Drop for ManualSleep {
    fn drop(&mut self) {
        if let Some(id) = self.id.take() {
            let mut s = lock(&self.state);
            s.sleepers.remove(&id);
            s.generation += 1;
        }
    }
}

/// Moves a manual clock and sees who waits on it (tests).
#[derive(Debug, Clone)]
pub struct ManualClock(Arc<Mutex<ManualState>>);

impl ManualClock {
    /// Now.
    pub fn now(&self) -> OffsetDateTime {
        lock(&self.0).now
    }

    /// Sets the time to `to` (never backwards) and wakes every sleeper now due.
    pub fn advance_to(&self, to: OffsetDateTime) {
        let wakers: Vec<Waker> = {
            let mut s = lock(&self.0);
            if to > s.now {
                s.now = to;
            }
            let now = s.now;
            s.sleepers
                .values()
                .filter(|(at, _)| *at <= now)
                .map(|(_, w)| w.clone())
                .collect()
        };
        wakers.into_iter().for_each(Waker::wake);
    }

    /// The earliest deadline anyone sleeps until, once nobody has started or stopped sleeping
    /// for a few milliseconds of real time (the code under test is idle). Panics after 30 s.
    pub async fn idle_deadline(&self) -> OffsetDateTime {
        let give_up = std::time::Instant::now() + Duration::from_secs(30);
        loop {
            let before = self.snapshot();
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            tokio::time::sleep(Duration::from_millis(5)).await;
            for _ in 0..20 {
                tokio::task::yield_now().await;
            }
            let after = self.snapshot();
            if let (true, (_, Some(at))) = (before == after, after) {
                return at;
            }
            assert!(
                std::time::Instant::now() < give_up,
                "nothing went to sleep within 30s"
            );
        }
    }

    fn snapshot(&self) -> (u64, Option<OffsetDateTime>) {
        let s = lock(&self.0);
        (s.generation, s.sleepers.values().map(|(at, _)| *at).min())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn manual_clock_wakes_sleepers_when_advanced() {
        let t0 = time::macros::datetime!(2026-11-29 12:00 UTC);
        let (clock, hand) = Clock::manual(t0);
        let c = clock.clone();
        let sleeper = tokio::spawn(async move {
            c.sleep_until(t0 + Duration::from_secs(30)).await;
            c.now()
        });
        assert_eq!(hand.idle_deadline().await, t0 + Duration::from_secs(30));
        hand.advance_to(t0 + Duration::from_secs(10));
        assert!(!sleeper.is_finished());
        hand.advance_to(t0 + Duration::from_secs(31));
        assert_eq!(sleeper.await.unwrap(), t0 + Duration::from_secs(31));
        let late = clock.timeout(Duration::from_secs(5), std::future::pending::<()>());
        let (r, ()) = tokio::join!(late, async {
            let at = hand.idle_deadline().await;
            hand.advance_to(at);
        });
        assert_eq!(r, Err(TimedOut));
        assert_eq!(
            clock.timeout(Duration::from_secs(5), async { 7 }).await,
            Ok(7)
        );
    }
}
