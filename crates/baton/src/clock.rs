//! Wall-clock time that tests can control: derived from `tokio::time::Instant`, so
//! `tokio::time::pause()`/`advance()` move it too.

use time::OffsetDateTime;
use tokio::time::Instant;

/// A wall clock anchored at creation and advanced by tokio's clock.
#[derive(Debug, Clone, Copy)]
pub struct Clock {
    wall: OffsetDateTime,
    mono: Instant,
}

impl Clock {
    /// Anchors at the current system time.
    pub fn system() -> Self {
        Self::starting_at(OffsetDateTime::now_utc())
    }

    /// Anchors at `wall` (tests).
    pub fn starting_at(wall: OffsetDateTime) -> Self {
        Self {
            wall,
            mono: Instant::now(),
        }
    }

    /// Now.
    pub fn now(&self) -> OffsetDateTime {
        self.wall + self.mono.elapsed()
    }

    /// The tokio instant at which the wall clock reads `at` (now if `at` is past).
    pub fn instant_at(&self, at: OffsetDateTime) -> Instant {
        let ahead = at - self.now();
        if ahead.is_positive() {
            Instant::now() + ahead.unsigned_abs()
        } else {
            Instant::now()
        }
    }
}
