//! Work requested through the API and handed to the jobs (chart sync, image rebuild) over a
//! bounded channel. The API records an event first, so a request is visible even if the job
//! runs later.

use tokio::sync::mpsc;

/// One unit of requested work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Job {
    /// Run the chart sync of `product` now.
    Sync {
        /// Product name.
        product: String,
        /// Commit to sync to (default: the branch head).
        commit: Option<String>,
        /// Deliver even if the content was delivered before.
        force: bool,
        /// The event recorded for this request.
        event_id: String,
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
