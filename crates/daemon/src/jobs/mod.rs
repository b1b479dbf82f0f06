//! The jobs and the source loops. Work requested through the API is handed over a bounded
//! channel ([`Job`]); the API records an event first, so a request is visible even if the job
//! runs later.
//!
//! - [`context`]: the config, store, outbox, metrics and source clients every job shares.
//! - [`policy`]: the one place deciding baseline / unchanged / changed / rejected.
//! - [`chart`]: the chart sync job (values files + chart -> Spinnaker chart event).
//! - [`image`]: base-image, artifact-source and manual rebuilds (-> Jenkins build).
//! - [`schedule`]: poll intervals and cron as pure functions of `now`; the source loop.
//! - [`cron_group`]: one scheduler per cron expression fanning out the base-image checks.
//! - [`run`]: starting the loops of a config; routing API jobs and webhook checks to them.

pub mod chart;
pub mod context;
pub mod cron_group;
pub mod image;
pub mod policy;
pub mod run;
pub mod schedule;

use tokio::sync::mpsc;

/// One unit of requested work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Run the chart sync of `product` now.
    Sync {
        /// Product name.
        product: String,
        /// Commit to sync at (default: the branch head); it must be on the branch.
        commit: Option<String>,
        /// Deliver even if the content was delivered before.
        force: bool,
        /// The event recorded for this request.
        event_id: String,
        /// Answered once `commit` was checked against the branch (the API waits for it).
        verdict: chart::Verdict,
    },
    /// Trigger the Jenkins build of `image` now.
    Rebuild {
        /// Product name.
        product: String,
        /// Image name.
        image: String,
        /// The event recorded for this request.
        event_id: String,
    },
}

impl Job {
    /// The event recorded for this job.
    pub fn event_id(&self) -> &str {
        match self {
            Job::Sync { event_id, .. } | Job::Rebuild { event_id, .. } => event_id,
        }
    }
}

/// Capacity of the job channel; a full channel makes the API answer 503.
pub const QUEUE_CAPACITY: usize = 64;

/// A job channel.
pub fn channel() -> (mpsc::Sender<Job>, mpsc::Receiver<Job>) {
    mpsc::channel(QUEUE_CAPACITY)
}
