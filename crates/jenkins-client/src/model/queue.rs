//! Queue items (`/queue/item/N/api/json`, `/queue/api/json`).

use serde::Deserialize;

use super::{Action, Cause, ParameterValue, causes_of, parameters_of};

/// A queue item (`hudson.model.Queue$Item` subclasses).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct QueueItem {
    /// Java class, e.g. `hudson.model.Queue$LeftItem`.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Queue id (absent in some hand-written fixtures).
    pub id: Option<u64>,
    /// Why it is still waiting; null once left.
    pub why: Option<String>,
    /// Whether it is blocked.
    pub blocked: bool,
    /// Whether it is buildable (waiting for an executor).
    pub buildable: bool,
    /// Whether Jenkins thinks it is stuck.
    pub stuck: bool,
    /// Left items: whether it was cancelled.
    pub cancelled: Option<bool>,
    /// Left items: the build it started.
    pub executable: Option<Executable>,
    /// Enqueue time in ms since the epoch.
    pub in_queue_since: Option<u64>,
    /// "\nA=1\nB=2".
    pub params: Option<String>,
    /// The job.
    pub task: Option<Task>,
    /// Relative URL, `queue/item/N/`.
    pub url: Option<String>,
    /// Actions (parameters, causes).
    pub actions: Vec<Action>,
}

/// Where a queue item is.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum QueueState {
    /// In the quiet period (`Queue$WaitingItem`).
    Waiting,
    /// Blocked, e.g. by a running build of a non-concurrent job (`Queue$BlockedItem`).
    Blocked,
    /// Waiting for an executor (`Queue$BuildableItem`).
    Buildable,
    /// Handed to an executor, not yet started (`Queue$Pending`-like states).
    Pending,
    /// Left the queue: started a build or was cancelled (`Queue$LeftItem`).
    Left,
    /// A class this client does not know.
    Other(String),
}

impl QueueItem {
    /// The state, from `_class` or (when absent) from the flags.
    pub fn state(&self) -> QueueState {
        if let Some(class) = &self.class {
            let short = class.rsplit(['$', '.']).next().unwrap_or(class);
            return match short {
                "WaitingItem" => QueueState::Waiting,
                "BlockedItem" => QueueState::Blocked,
                "BuildableItem" => QueueState::Buildable,
                "LeftItem" => QueueState::Left,
                "Pending" | "PendingItem" => QueueState::Pending,
                _ => QueueState::Other(class.clone()),
            };
        }
        if self.executable.is_some() || self.cancelled.is_some() {
            QueueState::Left
        } else if self.blocked {
            QueueState::Blocked
        } else if self.buildable {
            QueueState::Buildable
        } else {
            QueueState::Waiting
        }
    }

    /// Parameter values from `ParametersAction`.
    pub fn parameters(&self) -> Vec<&ParameterValue> {
        parameters_of(&self.actions)
    }

    /// Causes from `CauseAction`.
    pub fn causes(&self) -> Vec<&Cause> {
        causes_of(&self.actions)
    }
}

/// The build a left item started.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Executable {
    /// Java class of the build.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Build number.
    pub number: u32,
    /// Absolute build URL.
    pub url: Option<String>,
}

/// The job of a queue item.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct Task {
    /// Java class (a pipeline placeholder task for `node` steps).
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Short job name (may be null).
    pub name: Option<String>,
    /// Absolute job URL (absent for placeholder tasks).
    pub url: Option<String>,
    /// Ball colour.
    pub color: Option<String>,
}

/// `/queue/api/json`.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct QueueList {
    /// Items still in the queue.
    pub items: Vec<QueueItem>,
}
