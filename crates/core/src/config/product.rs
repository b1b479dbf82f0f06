//! The products part of the config model ([`super::model`] re-exports these types): what each
//! product delivers (its chart and chart source) and rebuilds (its images and their sources).

use std::collections::BTreeMap;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

/// One product: a Spinnaker application and a Jenkins folder.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Product {
    /// Name (lowercase letters, digits and `-`).
    #[schemars(example = "micro-gw")]
    pub name: String,
    /// Environments, in promotion order.
    #[serde(default)]
    #[schemars(example = ["dev", "staging", "prod"])]
    pub environments: Vec<String>,
    /// The Helm chart delivered to Spinnaker.
    pub chart: Option<Chart>,
    /// The git repo holding `values-<env>.yaml`.
    pub chart_source: Option<ChartSource>,
    /// Images rebuilt when their base moves.
    #[serde(default)]
    pub images: Vec<Image>,
    /// Manual judgments per environment (keys from `environments`): a deadline after which a
    /// waiting judgment is stopped or reminded of. Absent: a judgment waits until someone
    /// decides (or the stage's own `spinnaker.judgment_timeout` fails it).
    #[serde(default)]
    #[schemars(example = judgments_example())]
    pub judgments: BTreeMap<String, JudgmentPolicy>,
    /// The verification stage that ends each rendered deploy pipeline.
    #[serde(default)]
    pub verification: Verification,
}

/// The last stage of every deploy pipeline `baton pipelines render` writes: a Spinnaker Jenkins
/// stage that runs a smoke-test job against the environment just deployed (parameters
/// `ENVIRONMENT` and `NAMESPACE`) and fails the execution unless the build ends SUCCESS, so
/// `baton promote` (which wants the earlier environment's execution SUCCEEDED) promotes only
/// verified deployments. `jenkins/vars/batonVerify.groovy` is such a job.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Verification {
    /// igor's name for the Jenkins controller (Spinnaker's `jenkins.masters[].name`).
    #[serde(default = "default_master")]
    pub master: String,
    /// Jenkins job path, `folder/job`; absent = `<product>/verify`.
    #[schemars(example = &"micro-gw/verify")]
    pub job: Option<String>,
    /// How long the stage waits for the job; past it the stage and the execution fail.
    #[serde(default = "default_verify_timeout", with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub timeout: Duration,
}

impl Default for Verification {
    fn default() -> Self {
        Self {
            master: default_master(),
            job: None,
            timeout: default_verify_timeout(),
        }
    }
}

impl Verification {
    /// The job the stage runs for `product`.
    pub fn job_for(&self, product: &str) -> String {
        self.job
            .clone()
            .unwrap_or_else(|| format!("{product}/verify"))
    }
}

fn default_master() -> String {
    "jenkins".to_owned()
}

fn default_verify_timeout() -> Duration {
    Duration::from_secs(30 * 60)
}

fn judgments_example() -> serde_json::Value {
    serde_json::json!({"prod": {"judgment_deadline": "24h", "on_deadline": "stop"}})
}

/// What happens to a judgment waiting in one environment.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
pub struct JudgmentPolicy {
    /// How long a judgment may wait (counted from the stage's start as Orca records it).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration", example = &"24h")]
    pub judgment_deadline: Duration,
    /// What baton does once the deadline passed; either way it records a
    /// `judgment_deadline` event.
    #[serde(default)]
    pub on_deadline: OnDeadline,
}

/// What baton does with a judgment past its deadline.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum OnDeadline {
    /// Stop it (the stage and the pipeline end TERMINAL), as `baton promote --stop` would.
    #[default]
    Stop,
    /// Leave it waiting and record a reminder (notifications send it), once.
    Remind,
}

super::model::named_variants!(OnDeadline {
    "stop" => Stop: "Stop it (the stage and the pipeline end TERMINAL), as `baton promote --stop` would.",
    "remind" => Remind: "Leave it waiting and record a reminder (notifications send it), once.",
});

/// A product's Helm chart.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Chart {
    /// `https://...` (index.yaml) or `oci://host/path`.
    #[schemars(example = "oci://registry.example.com/charts")]
    pub repository: super::remotes::ChartRepository,
    /// Chart name.
    pub name: String,
    /// Exact version or a semver range.
    #[schemars(example = "^3.0")]
    pub version: super::types::ChartVersion,
    /// How the chart travels to Spinnaker.
    #[serde(default)]
    pub delivery: ChartDelivery,
    /// Clouddriver helm account, for `delivery: reference`.
    pub artifact_account: Option<String>,
}

/// How the chart travels to Spinnaker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ChartDelivery {
    /// The .tgz as an `embedded/base64` artifact.
    #[default]
    Embedded,
    /// A `helm/chart` artifact Spinnaker fetches itself.
    Reference,
}

/// The git repo holding the values files.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct ChartSource {
    /// Remote URL.
    #[schemars(example = "https://github.com/acme/cicd-sample-chart-mgw.git")]
    pub git: super::remotes::GitRemote,
    /// Branch to follow.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// Folder holding `values-<env>.yaml`; absent or `.` = repo root.
    #[schemars(example = &"microgateway")]
    pub dir: Option<String>,
    /// Poll interval.
    #[serde(default = "default_poll", with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub poll: Duration,
}

/// One image of a product.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Image {
    /// Name, unique within the product.
    pub name: String,
    /// Vendor base image, `host/repo:tag`.
    #[schemars(example = "docker.wso2.com/wso2micro-gw:3.0.1")]
    pub base: String,
    /// Cron (5 or 6 fields) for checking the base digest.
    #[schemars(example = "*/15 * * * *")]
    pub check: Option<super::types::Cron>,
    /// Repository the Jenkins job pushes to, `host/repo` (no tag).
    #[schemars(example = "registry.internal:5000/acme/petstore")]
    pub target: String,
    /// Jenkins job path, `folder/job`.
    #[schemars(example = "micro-gw/petstore-image")]
    pub jenkins_job: String,
    /// The git repo with the Dockerfile.
    pub artifact_source: Option<ArtifactSource>,
}

/// The git repo with an image's Dockerfile.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct ArtifactSource {
    /// Remote URL.
    pub git: super::remotes::GitRemote,
    /// Branch to follow.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// Poll interval.
    #[serde(default = "default_poll", with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub poll: Duration,
}

fn default_branch() -> String {
    "main".to_owned()
}

fn default_poll() -> Duration {
    Duration::from_secs(60)
}
