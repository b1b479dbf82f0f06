//! The typed shape of the config file. Pure data: values users need typed are parsed at load
//! ([`super::types`]), whole-file checks live in `validate`. `Serialize` and `JsonSchema` feed
//! the generated reference ([`super::docs`]): doc comments, defaults and examples show there.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use schemars::JsonSchema;

pub use super::product::{
    ArtifactSource, Chart, ChartDelivery, ChartSource, Image, JudgmentPolicy, OnDeadline, Product,
};
use serde::{Deserialize, Serialize};

pub use super::api::{ApiAuth, ApiSettings};
pub use super::types::{ChartVersion, Cron, HttpUrl, StateUrl};

/// The whole config file.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Config {
    /// State store URL: `sqlite://FILE` (default `sqlite://baton-data/baton.db`; a relative
    /// FILE is resolved against the config file's folder, like every `*_file`) or
    /// `postgres://...`.
    #[serde(default = "default_state")]
    #[schemars(example = "postgres://baton@db:5432/baton")]
    pub state: StateUrl,
    /// Address the HTTP API listens on.
    #[serde(
        default = "default_listen",
        deserialize_with = "super::types::socket_addr"
    )]
    #[schemars(example = "127.0.0.1:8080")]
    pub listen: SocketAddr,
    /// File with one API bearer token per line (`#` comments and blank lines ignored).
    #[schemars(example = "/etc/baton/secrets/api-tokens")]
    pub api_tokens_file: Option<PathBuf>,
    /// API authentication and server limits.
    #[serde(default)]
    pub api: ApiSettings,
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
    /// More products, from other files: each holds a `products` list (the same as this file's)
    /// in YAML, JSON or TOML by its extension; their products follow this file's, in the
    /// order listed (a pattern's matches in name order). For a config too large for one file
    /// (a Kubernetes ConfigMap holds 1 MiB: the Helm chart splits larger product lists over
    /// several). The files decode in parallel, one per core. Relative paths resolve against
    /// this file's folder; `BATON__*` overrides do not reach into them. Example:
    /// `products.d/*.json`.
    #[serde(default)]
    pub product_files: Vec<String>,
    /// Outbox retry and retention policy.
    #[serde(default)]
    pub outbox: OutboxSettings,
    /// The web dashboard `baton serve` serves (docs/dashboard.md).
    #[serde(default)]
    pub ui: UiSettings,
    /// Where baton sends notifications (docs/operations.md "Notifications").
    #[serde(default)]
    pub notifications: super::notifications::Notifications,
}

fn default_state() -> StateUrl {
    StateUrl::Sqlite {
        path: PathBuf::from("baton-data/baton.db"),
        query: None,
    }
}

fn default_listen() -> SocketAddr {
    SocketAddr::from(([0, 0, 0, 0], 8080))
}

/// What the first observation of a source does.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum FirstSeen {
    /// Record it, send nothing.
    #[default]
    Baseline,
    /// Treat it as a change and deliver it.
    Deliver,
}

/// The `jenkins:` section.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Jenkins {
    /// Base URL of the controller.
    #[schemars(example = "https://jenkins.example.com")]
    pub url: HttpUrl,
    /// User the API token belongs to.
    pub user: String,
    /// File holding the user's API token.
    #[schemars(example = "/etc/baton/secrets/jenkins-token")]
    pub token_file: PathBuf,
}

/// The `spinnaker:` section.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Spinnaker {
    /// Base URL of Gate.
    #[schemars(example = "https://gate.example.com")]
    pub gate_url: HttpUrl,
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
    /// manual judgment (see `baton_daemon::promote::supersede`).
    #[serde(default = "default_true")]
    pub supersede_waiting: bool,
    /// With Fiat on: the service account every rendered pipeline trigger runs as (`runAsUser`);
    /// it needs the application's roles.
    #[schemars(example = &"baton-pipelines@example.com")]
    pub run_as_user: Option<String>,
    /// How long a rendered manual judgment waits before its stage, and the pipeline, fail.
    #[serde(default = "default_judgment_timeout", with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub judgment_timeout: Duration,
    /// Where Spinnaker announces that a judgment waits and how it was decided.
    #[serde(default)]
    pub judgment_notifications: Vec<JudgmentNotification>,
    /// How long one webhook POST to Echo may take. Echo has no idempotency key, so a timeout
    /// can cause one duplicate; long enough for a loaded Echo. At most half `outbox.lease`.
    #[serde(default = "default_webhook_timeout", with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub webhook_timeout: Duration,
    /// After each delivered chart or image event, the pipelines it targets must start within
    /// this long (Echo's 30 s pipeline cache plus a margin); otherwise the event is marked
    /// `unmatched` and notified. `0s` turns the check off.
    #[serde(default = "default_verify_deadline", with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub verify_deadline: Duration,
    /// After `baton pipelines apply` saved a pipeline of an application, its chart and image
    /// events wait this long before they are sent, so Echo's pipeline cache (refreshed every
    /// 30 s) has the saved version. `0s` sends at once.
    #[serde(default = "default_echo_cache_wait", with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub echo_cache_wait: Duration,
}

fn default_verify_deadline() -> Duration {
    Duration::from_secs(60)
}

fn default_echo_cache_wait() -> Duration {
    Duration::from_secs(35)
}

fn default_webhook_timeout() -> Duration {
    Duration::from_secs(60)
}

fn default_judgment_timeout() -> Duration {
    Duration::from_secs(72 * 3600)
}

/// One notification of a manual judgment stage (Echo's notification types).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct JudgmentNotification {
    /// Echo notification type: `slack`, `email`, `microsoftteams`, `googlechat`, ...
    #[serde(rename = "type")]
    #[schemars(example = &"slack")]
    pub kind: String,
    /// Channel, address or webhook the type expects.
    #[schemars(example = &"#deploys")]
    pub address: String,
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
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
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
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct Registry {
    /// Host (and port) as it appears in image references.
    #[schemars(example = "docker.wso2.com")]
    pub host: String,
    /// User name, if the registry needs one.
    pub username: Option<String>,
    /// File holding the password or token.
    pub password_file: Option<PathBuf>,
    /// Plain HTTP (test rigs only).
    #[serde(default)]
    pub insecure: bool,
    /// Other hosts that may receive the credentials as a token realm (`host[:port]`).
    #[serde(default)]
    pub token_hosts: Vec<String>,
    /// Send credentials over plain HTTP to a host that is not loopback.
    #[serde(default)]
    pub credentials_over_http: bool,
}

/// The `git:` section.
#[derive(Debug, Clone, Default, Deserialize, Serialize, JsonSchema)]
pub struct Git {
    /// Credentials chosen by URL prefix.
    #[serde(default)]
    pub credentials: Vec<GitCredential>,
    /// File holding the HMAC secret of push webhooks.
    pub webhook_secret_file: Option<PathBuf>,
}

/// One git credential.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
pub struct GitCredential {
    /// Remotes starting with this prefix use this credential.
    #[schemars(example = "https://github.com/acme/")]
    pub url_prefix: String,
    /// User name.
    pub username: String,
    /// File holding the password or token.
    pub password_file: PathBuf,
}

/// Retry and retention policy of the outbox.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
pub struct OutboxSettings {
    /// Delay before the first retry.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub initial_delay: Duration,
    /// Longest delay between attempts.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub max_delay: Duration,
    /// Attempts before a record is `dead`.
    pub max_attempts: u32,
    /// How long after its creation a record is retried (5xx, connection errors) before it is
    /// `dead`; a permanent failure (most 4xx) is `dead` at once.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub give_up_after: Duration,
    /// Jitter applied to each delay.
    pub jitter: Jitter,
    /// How long delivered records are kept for history.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub retention: Duration,
    /// How long a claimed record stays leased to one worker without renewal; the worker renews
    /// it every third of this while it delivers, so a crashed replica's record is delivered
    /// again within about this long.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
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
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Jitter {
    /// Uniform in `[0, d]`.
    #[default]
    Full,
    /// Uniform in `[d/2, d]`.
    Equal,
    /// Exactly `d` (tests and debugging).
    None,
}
/// `TryFrom<String>` for a config enum from its variants' names, with [`one_of`]'s error, and
/// its JSON Schema (each name with its description) for the generated reference: a derived
/// schema would follow `try_from` and show a bare string.
macro_rules! named_variants {
    ($t:ident { $($name:literal => $v:ident: $doc:literal),+ $(,)? }) => {
        impl TryFrom<String> for $t {
            type Error = String;

            fn try_from(v: String) -> Result<Self, String> {
                $crate::config::model::one_of(&v, &[$(($name, $t::$v)),+])
            }
        }

        impl schemars::JsonSchema for $t {
            fn schema_name() -> std::borrow::Cow<'static, str> {
                stringify!($t).into()
            }

            fn json_schema(_: &mut schemars::SchemaGenerator) -> schemars::Schema {
                schemars::json_schema!({
                    "type": "string",
                    "oneOf": [$({"const": $name, "description": $doc}),+]
                })
            }
        }
    };
}
pub(super) use named_variants;

named_variants!(FirstSeen {
    "baseline" => Baseline: "Record it, send nothing.",
    "deliver" => Deliver: "Treat it as a change and deliver it.",
});
named_variants!(ChartDelivery {
    "embedded" => Embedded: "The .tgz as an `embedded/base64` artifact.",
    "reference" => Reference: "A `helm/chart` artifact Spinnaker fetches itself.",
});
named_variants!(Jitter {
    "full" => Full: "Uniform in `[0, d]`.",
    "equal" => Equal: "Uniform in `[d/2, d]`.",
    "none" => None: "Exactly `d` (tests and debugging).",
});

/// The variant named `v`, or an error listing the valid names (serde's own message for an
/// unknown variant does not say which value was given).
pub(super) fn one_of<T: Copy>(v: &str, variants: &[(&str, T)]) -> Result<T, String> {
    variants
        .iter()
        .find(|(name, _)| *name == v)
        .map(|(_, t)| *t)
        .ok_or_else(|| {
            let names: Vec<&str> = variants.iter().map(|(n, _)| *n).collect();
            format!(
                "{v:?} is not a valid value; use one of: {}",
                names.join(", ")
            )
        })
}

/// The `ui:` section: the web dashboard (docs/dashboard.md).
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(default)]
pub struct UiSettings {
    /// Serve the dashboard.
    pub enabled: bool,
    /// The path the dashboard is served at, as the browser sees it (e.g. `/ui`, or
    /// `/baton/ui` behind an ingress that forwards a sub-path unchanged).
    pub path_prefix: String,
    /// Show the read-only pages without logging in; actions still need a login.
    pub open_read_only: bool,
    /// Mark the session cookie `Secure` even when no `X-Forwarded-Proto: https` says the
    /// request came over TLS.
    pub secure_cookie: bool,
    /// Base URL of Spinnaker's UI (Deck), for links to executions; without it the links go
    /// to Gate's JSON.
    pub spinnaker_ui_url: Option<HttpUrl>,
}

impl Default for UiSettings {
    fn default() -> Self {
        Self {
            enabled: true,
            path_prefix: "/ui".to_owned(),
            open_read_only: false,
            secure_cookie: false,
            spinnaker_ui_url: None,
        }
    }
}
