//! Pipeline stage view (`/job/X/N/wfapi/describe`, pipeline-stage-view plugin's `RunExt`).

use std::fmt;

use serde::{Deserialize, Deserializer};

/// A Pipeline run as the stage view describes it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct WorkflowRun {
    /// Build id (the build number as text on current Jenkins; a timestamp on very old ones).
    pub id: Option<String>,
    /// Display name, e.g. `#16`.
    pub name: Option<String>,
    /// Run status.
    pub status: StageStatus,
    /// Start time in ms since the epoch.
    #[serde(default)]
    pub start_time_millis: u64,
    /// End time in ms since the epoch (the time of the answer while running or paused).
    #[serde(default)]
    pub end_time_millis: u64,
    /// Run time in ms, without the time spent queued.
    #[serde(default)]
    pub duration_millis: u64,
    /// Time from the build's start to its first stage, in ms.
    #[serde(default)]
    pub queue_duration_millis: u64,
    /// Time spent paused (e.g. waiting for input), in ms.
    #[serde(default)]
    pub pause_duration_millis: u64,
    /// Stages in order.
    #[serde(default)]
    pub stages: Vec<Stage>,
    /// HAL links (`self`, `pendingInputActions`, `artifacts`, …).
    #[serde(rename = "_links")]
    pub links: Option<RunLinks>,
}

impl WorkflowRun {
    /// Whether the run waits for someone to answer an `input` step.
    pub fn is_waiting_for_input(&self) -> bool {
        self.status == StageStatus::PausedPendingInput
    }

    /// The stage named `name`, if any.
    pub fn stage(&self, name: &str) -> Option<&Stage> {
        self.stages.iter().find(|s| s.name == name)
    }
}

/// One stage of a run (`StageNodeExt`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Stage {
    /// Flow node id.
    pub id: Option<String>,
    /// Stage name as written in the Jenkinsfile.
    pub name: String,
    /// Stage status.
    pub status: StageStatus,
    /// Agent the stage ran on, if reported.
    pub exec_node: Option<String>,
    /// Start time in ms since the epoch.
    #[serde(default)]
    pub start_time_millis: u64,
    /// Run time in ms.
    #[serde(default)]
    pub duration_millis: u64,
    /// Time spent paused, in ms.
    #[serde(default)]
    pub pause_duration_millis: u64,
    /// The error that failed the stage.
    pub error: Option<StageError>,
}

/// Why a stage failed (`ErrorExt`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct StageError {
    /// Message of the exception.
    pub message: Option<String>,
    /// Java class of the exception.
    #[serde(rename = "type")]
    pub kind: Option<String>,
}

/// HAL links of a run.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct RunLinks {
    /// This description.
    #[serde(rename = "self")]
    pub self_link: Option<Link>,
    /// Pending `input` steps (present only while paused for input).
    pub pending_input_actions: Option<Link>,
    /// Archived artifacts (present only when there are some).
    pub artifacts: Option<Link>,
}

/// A HAL link.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Link {
    /// Path below the Jenkins host, with the context path (`/jenkins/job/…`).
    pub href: String,
}

/// Status of a run or stage (`StatusExt`). Unknown values are kept, not rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum StageStatus {
    /// NOT_EXECUTED (not reached yet, or skipped by an earlier failure).
    NotExecuted,
    /// IN_PROGRESS.
    InProgress,
    /// PAUSED_PENDING_INPUT (an `input` step waits for an answer).
    PausedPendingInput,
    /// SUCCESS.
    Success,
    /// UNSTABLE.
    Unstable,
    /// FAILED (note: not FAILURE as in build results).
    Failed,
    /// ABORTED.
    Aborted,
    /// SKIPPED.
    Skipped,
    /// Any other value.
    Other(String),
}

impl StageStatus {
    /// Parses the plugin's spelling.
    pub fn parse(s: &str) -> Self {
        match s {
            "NOT_EXECUTED" => Self::NotExecuted,
            "IN_PROGRESS" => Self::InProgress,
            "PAUSED_PENDING_INPUT" => Self::PausedPendingInput,
            "SUCCESS" => Self::Success,
            "UNSTABLE" => Self::Unstable,
            "FAILED" => Self::Failed,
            "ABORTED" => Self::Aborted,
            "SKIPPED" => Self::Skipped,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The plugin's spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NotExecuted => "NOT_EXECUTED",
            Self::InProgress => "IN_PROGRESS",
            Self::PausedPendingInput => "PAUSED_PENDING_INPUT",
            Self::Success => "SUCCESS",
            Self::Unstable => "UNSTABLE",
            Self::Failed => "FAILED",
            Self::Aborted => "ABORTED",
            Self::Skipped => "SKIPPED",
            Self::Other(s) => s,
        }
    }

    /// Whether the run or stage has not finished (in progress or paused for input).
    pub fn is_running(&self) -> bool {
        matches!(self, Self::InProgress | Self::PausedPendingInput)
    }
}

impl fmt::Display for StageStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for StageStatus {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(Self::parse(&s))
    }
}
