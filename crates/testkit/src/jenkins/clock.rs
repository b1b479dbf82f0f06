//! Time inside the stand-in.
//!
//! The stand-in's "now" is `tokio::time::Instant::now()` since start **plus** a manual offset.
//! So both work: `tokio::time::pause()` + `tokio::time::advance()` in a test, or
//! [`super::FakeJenkins::advance`] with a running clock. Queue and build progress is computed from
//! this clock whenever the state is looked at, so no background task is needed.

use std::sync::Mutex;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

/// The stand-in clock.
#[derive(Debug)]
pub(crate) struct Clock {
    start: tokio::time::Instant,
    epoch_ms_at_start: u64,
    offset: Mutex<Duration>,
}

impl Clock {
    pub(crate) fn new() -> Self {
        let epoch_ms_at_start = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        Clock {
            start: tokio::time::Instant::now(),
            epoch_ms_at_start,
            offset: Mutex::new(Duration::ZERO),
        }
    }

    /// Time since the stand-in started (tokio time plus manual advances).
    pub(crate) fn now(&self) -> Duration {
        let offset = *self.offset.lock().unwrap_or_else(|e| e.into_inner());
        self.start.elapsed() + offset
    }

    /// Moves the clock forward by `d`.
    pub(crate) fn advance(&self, d: Duration) {
        let mut offset = self.offset.lock().unwrap_or_else(|e| e.into_inner());
        *offset += d;
    }

    /// Milliseconds since the Unix epoch for a stand-in time, as Jenkins reports timestamps.
    pub(crate) fn epoch_ms(&self, at: Duration) -> u64 {
        self.epoch_ms_at_start + u64::try_from(at.as_millis()).unwrap_or(u64::MAX)
    }
}
