//! The one shape every check reports.

use std::time::Duration;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::{Error, ErrorKind};

/// What one check found, compared with the observation the caller passed in.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "outcome", rename_all = "snake_case")]
pub enum CheckOutcome<T> {
    /// Same as the previous observation.
    Unchanged {
        /// The fresh observation (equal in substance to the previous one).
        current: T,
    },
    /// Different from the previous observation (or the first one: `old` is `None`).
    Changed {
        /// The previous observation, if any.
        old: Option<T>,
        /// The new one.
        new: T,
    },
    /// The check failed; nothing is known about the source.
    Error {
        /// Coarse kind.
        kind: ErrorKind,
        /// Human-readable message (no secrets).
        message: String,
    },
}

impl<T> CheckOutcome<T> {
    /// Builds an `Error` outcome from an [`Error`], its causes in the message once each
    /// (`baton_http::chain`).
    pub fn from_error(err: &Error) -> Self {
        CheckOutcome::Error {
            kind: err.kind(),
            message: baton_http::chain(err),
        }
    }

    /// The newest observation, if the check succeeded.
    pub fn current(&self) -> Option<&T> {
        match self {
            CheckOutcome::Unchanged { current } => Some(current),
            CheckOutcome::Changed { new, .. } => Some(new),
            CheckOutcome::Error { .. } => None,
        }
    }

    /// The kind and message of a failed check; `None` when it succeeded.
    pub fn error(&self) -> Option<(ErrorKind, &str)> {
        match self {
            CheckOutcome::Error { kind, message } => Some((*kind, message)),
            _ => None,
        }
    }
}

/// A check's outcome with its timing.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct CheckReport<T> {
    /// What was found.
    pub outcome: CheckOutcome<T>,
    /// When the check started.
    #[serde(with = "time::serde::rfc3339")]
    pub checked_at: OffsetDateTime,
    /// How long it took.
    #[serde(with = "humantime_serde")]
    pub took: Duration,
}

impl<T: Clone> CheckReport<T> {
    /// Runs one observation and compares it with `last`: `same` says whether two observations
    /// are equal in substance. Every watch reports through this, so "unchanged" means one thing.
    pub(crate) async fn timed(
        last: Option<&T>,
        same: impl FnOnce(&T, &T) -> bool,
        observe: impl std::future::Future<Output = Result<T, Error>>,
    ) -> Self {
        let checked_at = OffsetDateTime::now_utc();
        let started = tokio::time::Instant::now();
        let outcome = match observe.await {
            Ok(new) if last.is_some_and(|old| same(old, &new)) => {
                CheckOutcome::Unchanged { current: new }
            }
            Ok(new) => CheckOutcome::Changed {
                old: last.cloned(),
                new,
            },
            Err(e) => CheckOutcome::from_error(&e),
        };
        CheckReport {
            outcome,
            checked_at,
            took: started.elapsed(),
        }
    }
}

#[cfg(test)]
impl<T: std::fmt::Debug> CheckOutcome<T> {
    /// The observation of a first check (`Changed` from nothing); panics, showing the outcome,
    /// on anything else.
    pub(crate) fn expect_first(&self) -> &T {
        match self {
            CheckOutcome::Changed { old: None, new } => new,
            other => panic!("{other:?}"),
        }
    }

    /// Panics, showing the outcome, unless the check found nothing changed.
    pub(crate) fn assert_unchanged(&self) {
        assert!(matches!(self, CheckOutcome::Unchanged { .. }), "{self:?}");
    }
}
