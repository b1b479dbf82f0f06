//! Executions (Orca's view of a running or finished pipeline).

use std::fmt;

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::artifact::{Artifact, ExpectedArtifact};

/// Orca's `ExecutionStatus`, for executions and stages. Unknown values are kept.
#[derive(Clone, Debug, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(from = "String", into = "String")]
#[non_exhaustive]
pub enum ExecutionStatus {
    /// Not started yet (also: waiting behind `limitConcurrent`).
    NotStarted,
    /// Running.
    Running,
    /// Paused by a user.
    Paused,
    /// Suspended (waiting on an execution window).
    Suspended,
    /// Finished successfully.
    Succeeded,
    /// Failed, but the pipeline continues.
    FailedContinue,
    /// Failed; the pipeline stops.
    Terminal,
    /// Canceled.
    Canceled,
    /// Restarting a branch.
    Redirect,
    /// Stopped (a judgment or check said stop without failing the pipeline).
    Stopped,
    /// Skipped.
    Skipped,
    /// Buffered (queued by Orca's concurrency limits).
    Buffered,
    /// A status this model does not know.
    Unknown(String),
}

impl ExecutionStatus {
    /// The wire spelling.
    pub fn as_str(&self) -> &str {
        match self {
            Self::NotStarted => "NOT_STARTED",
            Self::Running => "RUNNING",
            Self::Paused => "PAUSED",
            Self::Suspended => "SUSPENDED",
            Self::Succeeded => "SUCCEEDED",
            Self::FailedContinue => "FAILED_CONTINUE",
            Self::Terminal => "TERMINAL",
            Self::Canceled => "CANCELED",
            Self::Redirect => "REDIRECT",
            Self::Stopped => "STOPPED",
            Self::Skipped => "SKIPPED",
            Self::Buffered => "BUFFERED",
            Self::Unknown(s) => s,
        }
    }

    /// Whether the status is final (Orca's `isComplete`).
    pub fn is_complete(&self) -> bool {
        matches!(
            self,
            Self::Succeeded
                | Self::FailedContinue
                | Self::Terminal
                | Self::Canceled
                | Self::Stopped
                | Self::Skipped
        )
    }

    /// Whether downstream stages may run after a stage with this status.
    pub fn lets_downstream_run(&self) -> bool {
        matches!(self, Self::Succeeded | Self::FailedContinue | Self::Skipped)
    }
}

impl From<String> for ExecutionStatus {
    fn from(s: String) -> Self {
        match s.as_str() {
            "NOT_STARTED" => Self::NotStarted,
            "RUNNING" => Self::Running,
            "PAUSED" => Self::Paused,
            "SUSPENDED" => Self::Suspended,
            "SUCCEEDED" => Self::Succeeded,
            "FAILED_CONTINUE" => Self::FailedContinue,
            "TERMINAL" => Self::Terminal,
            "CANCELED" => Self::Canceled,
            "REDIRECT" => Self::Redirect,
            "STOPPED" => Self::Stopped,
            "SKIPPED" => Self::Skipped,
            "BUFFERED" => Self::Buffered,
            _ => Self::Unknown(s),
        }
    }
}

impl From<ExecutionStatus> for String {
    fn from(s: ExecutionStatus) -> Self {
        s.as_str().to_owned()
    }
}

impl fmt::Display for ExecutionStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A pipeline execution (`GET /pipelines/{id}`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Execution {
    /// Execution id (a ULID).
    pub id: String,
    /// Application.
    #[serde(default)]
    pub application: String,
    /// Pipeline name.
    pub name: Option<String>,
    /// Id of the pipeline config this runs.
    pub pipeline_config_id: Option<String>,
    /// Overall status.
    pub status: ExecutionStatus,
    /// What started it.
    pub trigger: ExecutionTrigger,
    /// Stage executions.
    #[serde(default)]
    pub stages: Vec<StageExecution>,
    /// Epoch milliseconds when it was built.
    pub build_time: Option<i64>,
    /// Epoch milliseconds when it started.
    pub start_time: Option<i64>,
    /// Epoch milliseconds when it ended.
    pub end_time: Option<i64>,
    /// Whether it was canceled.
    pub canceled: Option<bool>,
    /// Who canceled it (`system` for startup failures).
    pub canceled_by: Option<String>,
    /// Why (e.g. `Failed on startup: ...`).
    pub cancellation_reason: Option<String>,
    /// `PIPELINE` or `ORCHESTRATION`.
    #[serde(rename = "type")]
    pub execution_type: Option<String>,
    /// Copied from the config.
    pub limit_concurrent: Option<bool>,
    /// Copied from the config.
    pub keep_waiting_pipelines: Option<bool>,
    /// Keys not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The trigger recorded in an execution.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExecutionTrigger {
    /// `webhook`, `manual`, `docker`, ...
    #[serde(rename = "type", default)]
    pub trigger_type: String,
    /// Parameters (from the webhook's `parameters`).
    pub parameters: Option<Map<String, Value>>,
    /// Artifacts received and resolved.
    pub artifacts: Option<Vec<Artifact>>,
    /// Echo's event id (what `POST /webhooks/...` answered).
    pub event_id: Option<String>,
    /// webhook source.
    pub source: Option<String>,
    /// The whole webhook payload.
    pub payload: Option<Map<String, Value>>,
    /// User who triggered it.
    pub user: Option<String>,
    /// Expected artifacts bound at start.
    pub resolved_expected_artifacts: Option<Vec<ExpectedArtifact>>,
    /// Keys not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A stage of an execution.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageExecution {
    /// Stage execution id (what `PATCH /pipelines/{id}/stages/{stageId}` takes).
    pub id: String,
    /// The config's refId.
    pub ref_id: Option<String>,
    /// Stage type.
    #[serde(rename = "type", default)]
    pub stage_type: String,
    /// Display name.
    pub name: Option<String>,
    /// Status.
    pub status: ExecutionStatus,
    /// Stage context.
    #[serde(default)]
    pub context: StageContext,
    /// Stage outputs.
    pub outputs: Option<Map<String, Value>>,
    /// Tasks.
    pub tasks: Option<Vec<Value>>,
    /// Requisite refIds.
    pub requisite_stage_ref_ids: Option<Vec<String>>,
    /// Epoch milliseconds when it started.
    pub start_time: Option<i64>,
    /// Epoch milliseconds when it ended.
    pub end_time: Option<i64>,
    /// Keys not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// The context of a stage execution; judgment fields typed, the rest kept.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StageContext {
    /// `continue` or `stop` once judged (Orca compares case-insensitively).
    pub judgment_status: Option<String>,
    /// The chosen judgment input.
    pub judgment_input: Option<String>,
    /// Who last changed the stage (set by Orca on PATCH).
    pub last_modified_by: Option<String>,
    /// Everything else.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Execution {
    /// The first RUNNING `manualJudgment` stage, the one a judgment applies to.
    pub fn pending_judgment(&self) -> Option<&StageExecution> {
        self.stages
            .iter()
            .find(|s| s.stage_type == "manualJudgment" && s.status == ExecutionStatus::Running)
    }

    /// The trigger's event id.
    pub fn event_id(&self) -> Option<&str> {
        self.trigger.event_id.as_deref()
    }
}
