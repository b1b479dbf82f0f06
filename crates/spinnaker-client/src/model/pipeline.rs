//! Pipeline configurations (front50 documents) and their triggers.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::artifact::ExpectedArtifact;
use super::stage::Stage;

/// A pipeline configuration as `GET /applications/{app}/pipelineConfigs` returns it and
/// `POST /pipelines` saves it.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct PipelineConfig {
    /// Pipeline config id (front50 assigns one when absent).
    pub id: Option<String>,
    /// Spinnaker application.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub application: String,
    /// Pipeline name, unique within the application.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub name: String,
    /// With `limitConcurrent`: keep every waiting execution instead of only the newest.
    pub keep_waiting_pipelines: Option<bool>,
    /// Run one execution of this pipeline at a time.
    pub limit_concurrent: Option<bool>,
    /// Parameter definitions.
    pub parameter_config: Option<Vec<Value>>,
    /// Triggers.
    pub triggers: Option<Vec<Trigger>>,
    /// Pipeline-level expected artifacts.
    pub expected_artifacts: Option<Vec<ExpectedArtifact>>,
    /// Stages.
    pub stages: Option<Vec<Stage>>,
    /// Keys not modelled here (index, updateTs, spelEvaluator, ...), kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl PipelineConfig {
    /// The triggers (empty when absent).
    pub fn triggers(&self) -> &[Trigger] {
        self.triggers.as_deref().unwrap_or_default()
    }

    /// The pipeline-level expected artifacts (empty when absent).
    pub fn expected_artifacts(&self) -> &[ExpectedArtifact] {
        self.expected_artifacts.as_deref().unwrap_or_default()
    }

    /// The stages (empty when absent).
    pub fn stages(&self) -> &[Stage] {
        self.stages.as_deref().unwrap_or_default()
    }

    /// `limitConcurrent`; Orca reads an absent value as false (`ExecutionLauncher`).
    pub fn limits_concurrency(&self) -> bool {
        self.limit_concurrent.unwrap_or(false)
    }

    /// Every expected artifact declared by the pipeline or produced by one of its stages.
    pub fn all_expected_artifacts(&self) -> impl Iterator<Item = &ExpectedArtifact> {
        self.expected_artifacts().iter().chain(
            self.stages()
                .iter()
                .flat_map(|s| s.produced_artifacts().iter()),
        )
    }
}

/// The kinds of trigger this model knows by name.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum TriggerKind<'a> {
    /// `webhook`: started by Echo for `POST /webhooks/webhook/{source}`.
    Webhook,
    /// `docker`: started by Igor for a new image tag.
    Docker,
    /// `pipeline`: started when another pipeline finishes.
    Pipeline,
    /// Anything else (`git`, `jenkins`, `cron`, `pubsub`, ...).
    Other(&'a str),
}

/// A pipeline trigger. Fields of every known kind are optional; the rest stays in `extra`.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Trigger {
    /// Trigger type (`webhook`, `docker`, `pipeline`, ...).
    #[serde(rename = "type", default)]
    pub trigger_type: String,
    /// Only enabled triggers fire.
    pub enabled: Option<bool>,
    /// webhook: the `{source}` of `/webhooks/webhook/{source}` (compared case-sensitively).
    pub source: Option<String>,
    /// webhook: payload key -> Java regex that must be found in that top-level payload value.
    pub payload_constraints: Option<Map<String, Value>>,
    /// Ids of the pipeline's expected artifacts this trigger supplies.
    pub expected_artifact_ids: Option<Vec<String>>,
    /// Service account the triggered execution runs as.
    pub run_as_user: Option<String>,
    /// docker: registry account.
    pub account: Option<String>,
    /// docker: registry host.
    pub registry: Option<String>,
    /// docker: repository (`org/image`).
    pub repository: Option<String>,
    /// docker: tag regex.
    pub tag: Option<String>,
    /// pipeline: application of the upstream pipeline.
    pub application: Option<String>,
    /// pipeline: id of the upstream pipeline config.
    pub pipeline: Option<String>,
    /// pipeline: upstream statuses that fire (`successful`, `failed`, `canceled`).
    pub status: Option<Vec<String>>,
    /// Keys not modelled here, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Trigger {
    /// An enabled webhook trigger for `source` with the given constraints and artifact ids.
    pub fn webhook(
        source: impl Into<String>,
        payload_constraints: Map<String, Value>,
        expected_artifact_ids: Vec<String>,
    ) -> Self {
        Self {
            trigger_type: "webhook".into(),
            enabled: Some(true),
            source: Some(source.into()),
            payload_constraints: Some(payload_constraints),
            expected_artifact_ids: Some(expected_artifact_ids),
            ..Self::default()
        }
    }

    /// What kind of trigger this is.
    pub fn kind(&self) -> TriggerKind<'_> {
        match self.trigger_type.as_str() {
            "webhook" => TriggerKind::Webhook,
            "docker" => TriggerKind::Docker,
            "pipeline" => TriggerKind::Pipeline,
            other => TriggerKind::Other(other),
        }
    }

    /// Whether the trigger is enabled (absent means disabled, as in Echo).
    pub fn is_enabled(&self) -> bool {
        self.enabled.unwrap_or(false)
    }

    /// The expected artifact ids (empty when absent).
    pub fn expected_artifact_ids(&self) -> &[String] {
        self.expected_artifact_ids.as_deref().unwrap_or_default()
    }
}
