//! The typed shape of the config file (DESIGN.md "Config"). Pure data: parsing lives in
//! [`super::load`], whole-file checks in `validate`.

use std::path::PathBuf;
use std::time::Duration;

use serde::Deserialize;

/// The whole config file.
#[derive(Debug, Clone, Deserialize)]
pub struct Config {
    /// State store URL: `sqlite://FILE` (default `sqlite://baton-data/baton.db`) or
    /// `postgres://...`.
    #[serde(default = "default_state")]
    pub state: String,
    /// Address the HTTP API listens on.
    #[serde(default = "default_listen")]
    pub listen: String,
    /// File with one API bearer token per line (`#` comments and blank lines ignored).
    pub api_tokens_file: Option<PathBuf>,
    /// What to do with the first observation of a source.
    #[serde(default)]
    pub first_seen: FirstSeen,
    /// The Jenkins controller that builds images.
    pub jenkins: Option<Jenkins>,
    /// The Spinnaker Gate that receives chart and image events.
    pub spinnaker: Option<Spinnaker>,
    /// Container registries baton reads digests from.
    #[serde(default)]
    pub registries: Vec<Registry>,
    /// Git credentials and the push-webhook secret.
    pub git: Option<Git>,
    /// The products baton delivers.
    #[serde(default)]
    pub products: Vec<Product>,
    /// Outbox retry and retention policy.
    #[serde(default)]
    pub outbox: OutboxSettings,
}

fn default_state() -> String {
    "sqlite://baton-data/baton.db".to_owned()
}

fn default_listen() -> String {
    "0.0.0.0:8080".to_owned()
}

/// What the first observation of a source does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum FirstSeen {
    /// Record it, send nothing.
    #[default]
    Baseline,
    /// Treat it as a change and deliver it.
    Deliver,
}

/// The `jenkins:` section.
#[derive(Debug, Clone, Deserialize)]
pub struct Jenkins {
    /// Base URL of the controller.
    pub url: String,
    /// User the API token belongs to.
    pub user: String,
    /// File holding the user's API token.
    pub token_file: PathBuf,
}

/// The `spinnaker:` section.
#[derive(Debug, Clone, Deserialize)]
pub struct Spinnaker {
    /// Base URL of Gate.
    pub gate_url: String,
    /// How baton authenticates to Gate.
    #[serde(default)]
    pub auth: GateAuth,
    /// Echo webhook source for chart events.
    #[serde(default = "default_chart_source")]
    pub webhook_source: String,
    /// Echo webhook source for image events.
    #[serde(default = "default_image_source")]
    pub image_webhook_source: String,
    /// Clouddriver Kubernetes account the rendered pipelines deploy with
    /// (`baton pipelines render`); namespaces are `<product>-<environment>`.
    #[serde(default = "default_deploy_account")]
    pub deploy_account: String,
    /// A newer chart event for an environment cancels an older execution still waiting for its
    /// manual judgment (see [`crate::promote::supersede`]).
    #[serde(default = "default_true")]
    pub supersede_waiting: bool,
}

fn default_deploy_account() -> String {
    "kubernetes".to_owned()
}

fn default_true() -> bool {
    true
}

fn default_chart_source() -> String {
    "chart".to_owned()
}

fn default_image_source() -> String {
    "image".to_owned()
}

/// Authentication to Gate.
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case", deny_unknown_fields)]
pub enum GateAuth {
    /// No authentication.
    #[default]
    None,
    /// HTTP basic.
    Basic {
        /// User name.
        user: String,
        /// File holding the password.
        password_file: PathBuf,
    },
    /// A bearer token.
    Bearer {
        /// File holding the token.
        token_file: PathBuf,
    },
    /// A client certificate.
    X509 {
        /// PEM certificate chain.
        cert_file: PathBuf,
        /// PEM private key.
        key_file: PathBuf,
    },
}

/// One `registries:` entry.
#[derive(Debug, Clone, Deserialize)]
pub struct Registry {
    /// Host (and port) as it appears in image references.
    pub host: String,
    /// User name, if the registry needs one.
    pub username: Option<String>,
    /// File holding the password or token.
    pub password_file: Option<PathBuf>,
    /// Plain HTTP (test rigs only).
    #[serde(default)]
    pub insecure: bool,
}

/// The `git:` section.
#[derive(Debug, Clone, Default, Deserialize)]
pub struct Git {
    /// Credentials chosen by URL prefix.
    #[serde(default)]
    pub credentials: Vec<GitCredential>,
    /// File holding the HMAC secret of push webhooks.
    pub webhook_secret_file: Option<PathBuf>,
}

/// One git credential.
#[derive(Debug, Clone, Deserialize)]
pub struct GitCredential {
    /// Remotes starting with this prefix use this credential.
    pub url_prefix: String,
    /// User name.
    pub username: String,
    /// File holding the password or token.
    pub password_file: PathBuf,
}

/// One product: a Spinnaker application and a Jenkins folder.
#[derive(Debug, Clone, Deserialize)]
pub struct Product {
    /// Name (lowercase letters, digits and `-`).
    pub name: String,
    /// Environments, in promotion order.
    #[serde(default)]
    pub environments: Vec<String>,
    /// The Helm chart delivered to Spinnaker.
    pub chart: Option<Chart>,
    /// The git repo holding `values-<env>.yaml`.
    pub chart_source: Option<ChartSource>,
    /// Images rebuilt when their base moves.
    #[serde(default)]
    pub images: Vec<Image>,
}

/// A product's Helm chart.
#[derive(Debug, Clone, Deserialize)]
pub struct Chart {
    /// `https://...` (index.yaml) or `oci://host/path`.
    pub repository: String,
    /// Chart name.
    pub name: String,
    /// Exact version or a semver range.
    pub version: String,
    /// How the chart travels to Spinnaker.
    #[serde(default)]
    pub delivery: ChartDelivery,
    /// Clouddriver helm account, for `delivery: reference`.
    pub artifact_account: Option<String>,
}

/// How the chart travels to Spinnaker.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ChartDelivery {
    /// The .tgz as an `embedded/base64` artifact.
    #[default]
    Embedded,
    /// A `helm/chart` artifact Spinnaker fetches itself.
    Reference,
}

/// The git repo holding the values files.
#[derive(Debug, Clone, Deserialize)]
pub struct ChartSource {
    /// Remote URL.
    pub git: String,
    /// Branch to follow.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// Folder holding `values-<env>.yaml`; absent or `.` = repo root.
    pub dir: Option<String>,
    /// Poll interval.
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub poll: Duration,
}

/// One image of a product.
#[derive(Debug, Clone, Deserialize)]
pub struct Image {
    /// Name, unique within the product.
    pub name: String,
    /// Vendor base image, `host/repo:tag`.
    pub base: String,
    /// Cron (5 or 6 fields) for checking the base digest.
    pub check: Option<String>,
    /// Repository the Jenkins job pushes to, `host/repo` (no tag).
    pub target: String,
    /// Jenkins job path, `folder/job`.
    pub jenkins_job: String,
    /// The git repo with the Dockerfile.
    pub artifact_source: Option<ArtifactSource>,
}

/// The git repo with an image's Dockerfile.
#[derive(Debug, Clone, Deserialize)]
pub struct ArtifactSource {
    /// Remote URL.
    pub git: String,
    /// Branch to follow.
    #[serde(default = "default_branch")]
    pub branch: String,
    /// Poll interval.
    #[serde(default = "default_poll", with = "humantime_serde")]
    pub poll: Duration,
}

fn default_branch() -> String {
    "main".to_owned()
}

fn default_poll() -> Duration {
    Duration::from_secs(60)
}

/// Retry and retention policy of the outbox.
#[derive(Debug, Clone, Deserialize)]
#[serde(default)]
pub struct OutboxSettings {
    /// Delay before the first retry.
    #[serde(with = "humantime_serde")]
    pub initial_delay: Duration,
    /// Longest delay between attempts.
    #[serde(with = "humantime_serde")]
    pub max_delay: Duration,
    /// Attempts before a record is `dead`.
    pub max_attempts: u32,
    /// How long after its creation a record is retried (5xx, connection errors) before it is
    /// `dead`; a permanent failure (most 4xx) is `dead` at once.
    #[serde(with = "humantime_serde")]
    pub give_up_after: Duration,
    /// Jitter applied to each delay.
    pub jitter: Jitter,
    /// How long delivered records are kept for history.
    #[serde(with = "humantime_serde")]
    pub retention: Duration,
    /// How long a claimed record stays leased to one worker without renewal; the worker renews
    /// it every third of this while it delivers, so a crashed replica's record is delivered
    /// again within about this long.
    #[serde(with = "humantime_serde")]
    pub lease: Duration,
}

impl Default for OutboxSettings {
    fn default() -> Self {
        Self {
            initial_delay: Duration::from_secs(2),
            max_delay: Duration::from_secs(600),
            max_attempts: 500,
            give_up_after: Duration::from_secs(24 * 3600),
            jitter: Jitter::Full,
            retention: Duration::from_secs(30 * 24 * 3600),
            lease: Duration::from_secs(10),
        }
    }
}

/// Jitter applied to retry delays.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Jitter {
    /// Uniform in `[0, d]`.
    #[default]
    Full,
    /// Uniform in `[d/2, d]`.
    Equal,
    /// Exactly `d` (tests and debugging).
    None,
}
