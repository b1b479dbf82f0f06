//! The environment matrix as the API answers it (its JSON Schema is in `/openapi.json`).

use serde::{Deserialize, Serialize};
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::promote::artifacts::{ChartRan, ImageRan, Ran};
use baton_core::pipelines::verify::{JENKINS_STAGE, REF_ID};

/// [`verification`] of an execution whose verification stage has not started (yet).
pub const NOT_RUN: &str = "NOT_RUN";
/// [`verification`] of an execution without a verification stage (a pipeline not rendered by
/// `baton pipelines render`, or rendered before it added one).
pub const NO_STAGE: &str = "NO_STAGE";

/// The result of `x`'s verification stage (the `jenkins` stage with refId `verify` that
/// `baton pipelines render` ends each pipeline with): Orca's status of the stage once it
/// started (`SUCCEEDED`, `TERMINAL`, `RUNNING`, `CANCELED`, ...), else [`NOT_RUN`] or
/// [`NO_STAGE`]. Gate lists stages with their type, refId and status even unexpanded.
pub fn verification(x: &Execution) -> String {
    let stage = x
        .stages
        .iter()
        .find(|s| s.ref_id.as_deref() == Some(REF_ID) && s.stage_type == JENKINS_STAGE);
    match stage {
        None => NO_STAGE.to_owned(),
        Some(s) if s.status == ExecutionStatus::NotStarted => NOT_RUN.to_owned(),
        Some(s) => s.status.as_str().to_owned(),
    }
}

/// What an environment is doing, from the newest execution of its pipelines.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum EnvState {
    /// The newest execution succeeded.
    Deployed,
    /// The newest execution runs.
    Running,
    /// The newest execution waits for a manual judgment.
    Waiting,
    /// The newest execution failed, was stopped or canceled.
    Failed,
    /// baton delivered to it; Spinnaker shows no execution (yet).
    Sent,
    /// Nothing delivered yet.
    Nothing,
    /// Gate could not be asked.
    Unknown,
}

impl EnvState {
    /// The words shown.
    pub fn label(self) -> &'static str {
        match self {
            EnvState::Deployed => "deployed",
            EnvState::Running => "running",
            EnvState::Waiting => "waiting for judgment",
            EnvState::Failed => "failed",
            EnvState::Sent => "sent, no execution seen",
            EnvState::Nothing => "nothing delivered",
            EnvState::Unknown => "unknown (Gate not reachable)",
        }
    }

    pub(super) fn of(x: &Execution) -> Self {
        use ExecutionStatus as S;
        match &x.status {
            S::Running if x.pending_judgment().is_some() => EnvState::Waiting,
            S::Succeeded | S::Skipped => EnvState::Deployed,
            S::Terminal | S::Canceled | S::Stopped | S::FailedContinue => EnvState::Failed,
            S::Unknown(_) => EnvState::Unknown,
            _ => EnvState::Running,
        }
    }
}

/// A product's environments, in promotion order.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Matrix {
    /// Product name.
    pub product: String,
    /// When Gate was asked (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub as_of: OffsetDateTime,
    /// Why the executions could not be read from Gate (then only baton's own records show).
    pub gate_error: Option<String>,
    /// One row per environment.
    pub environments: Vec<EnvironmentRow>,
}

/// One environment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnvironmentRow {
    /// Environment name.
    pub name: String,
    /// Its deploy pipeline, `<app>-deploy-<env>`.
    pub pipeline: String,
    /// What the newest execution of its pipelines is doing.
    pub state: EnvState,
    /// What baton last delivered to it (its own records).
    pub delivered: Option<DeliveredRow>,
    /// The newest SUCCEEDED execution that deployed a chart.
    pub last_success: Option<Deployment>,
    /// The image of the newest SUCCEEDED execution that ran one.
    pub image: Option<ImageRan>,
    /// The newest execution of its pipelines, any status.
    pub newest: Option<ExecutionRef>,
    /// The newest execution still running or waiting.
    pub running: Option<ExecutionRef>,
    /// The judgment its pipeline waits for.
    pub pending_judgment: Option<PendingJudgment>,
    /// Whether `baton promote PRODUCT ENV` would continue it now, and why not.
    pub promotion: Promotion,
}

/// What baton delivered to an environment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DeliveredRow {
    /// Chart version.
    pub chart_version: String,
    /// Digest of the chart .tgz.
    pub chart_digest: String,
    /// sha256 of the values file.
    pub values_digest: String,
    /// The chart event.
    pub event_id: Option<String>,
    /// When (RFC 3339).
    #[serde(with = "time::serde::rfc3339")]
    pub delivered_at: OffsetDateTime,
}

/// A successful deployment.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Deployment {
    /// Execution id.
    pub execution_id: String,
    /// Its pipeline.
    pub pipeline: String,
    /// When it finished (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub finished_at: Option<OffsetDateTime>,
    /// The chart it deployed.
    pub chart: Option<ChartRan>,
    /// sha256 of the environment's values file it deployed.
    pub values_digest: Option<String>,
    /// The image it deployed, when an image event started it.
    pub image: Option<ImageRan>,
    /// Its verification stage: `SUCCEEDED`, or `NO_STAGE` for a pipeline without one.
    pub verification: String,
}

/// An execution, briefly.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExecutionRef {
    /// Execution id.
    pub id: String,
    /// Its pipeline.
    pub pipeline: String,
    /// Orca's status.
    pub status: String,
    /// When it was triggered (RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub started_at: Option<OffsetDateTime>,
    /// What it runs.
    pub artifact: Ran,
    /// Its verification stage: Orca's status of the stage (`SUCCEEDED`, `TERMINAL`,
    /// `RUNNING`, ...), `NOT_RUN` before it started, `NO_STAGE` when the pipeline has none.
    pub verification: String,
}

/// A judgment an environment's pipeline waits for.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct PendingJudgment {
    /// The waiting execution.
    pub execution_id: String,
    /// Its manualJudgment stage.
    pub stage_id: String,
    /// The stage's name.
    pub stage_name: Option<String>,
    /// Since when it waits (the stage's start, RFC 3339).
    #[serde(with = "time::serde::rfc3339::option")]
    pub since: Option<OffsetDateTime>,
    /// The artifact it would deploy.
    pub artifact: Ran,
    /// The baton event that started it, when known.
    pub baton_event: Option<String>,
}

/// Whether continuing is allowed now.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct Promotion {
    /// `baton promote` would continue it without `--force`.
    pub allowed: bool,
    /// Why not.
    pub reason: Option<String>,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn execution(stages: serde_json::Value) -> Execution {
        serde_json::from_value(serde_json::json!({
            "id": "01X", "status": "RUNNING", "trigger": {"type": "webhook"}, "stages": stages,
        }))
        .unwrap()
    }

    #[test]
    fn the_verification_is_the_rendered_jenkins_stage_by_ref_id_and_type() {
        let stage = |ref_id: &str, kind: &str, status: &str| serde_json::json!({"id": ref_id, "refId": ref_id, "type": kind, "status": status});
        let deploy = stage("deploy", "deployManifest", "SUCCEEDED");
        for (status, want) in [
            ("SUCCEEDED", "SUCCEEDED"),
            ("TERMINAL", "TERMINAL"),
            ("RUNNING", "RUNNING"),
            ("NOT_STARTED", NOT_RUN),
        ] {
            let x = execution(serde_json::json!([
                deploy,
                stage("verify", "jenkins", status)
            ]));
            assert_eq!(verification(&x), want);
        }
        // Another Jenkins stage, or a stage named verify of another type, is not it.
        let x = execution(serde_json::json!([
            deploy,
            stage("smoke", "jenkins", "TERMINAL"),
            stage("verify", "wait", "SUCCEEDED"),
        ]));
        assert_eq!(verification(&x), NO_STAGE);
    }
}
