//! The stand-in's state: stored pipelines, queued webhook events, executions, what was
//! baked and deployed, recorded requests and faults. Everything sits behind one mutex;
//! handlers never hold it across an await.

use std::collections::{BTreeMap, BTreeSet};
use std::time::Duration;

use bytes::Bytes;
use serde_json::{Map, Value};
use spinnaker_client::model::artifact::Artifact;
use spinnaker_client::model::execution::Execution;
use spinnaker_client::model::pipeline::PipelineConfig;

/// An artifact a stage consumed, with its decoded content when it was `embedded/base64`.
#[derive(Clone, Debug, PartialEq)]
pub struct ArtifactContent {
    /// The artifact as bound.
    pub artifact: Artifact,
    /// Decoded bytes of an `embedded/base64` artifact; `None` for references (helm/chart,
    /// docker/image, ...).
    pub bytes: Option<Vec<u8>>,
}

/// What a bakeManifest stage "baked".
#[derive(Clone, Debug, PartialEq)]
pub struct Bake {
    /// Application.
    pub application: String,
    /// Execution id.
    pub execution_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// `inputArtifacts[0]`: the chart.
    pub chart: ArtifactContent,
    /// `inputArtifacts[1..]`: values files, in order.
    pub values: Vec<ArtifactContent>,
    /// Helm release name (`outputName`).
    pub output_name: Option<String>,
    /// The artifact the bake produced (what a deploy consumes).
    pub output: Artifact,
}

/// What a deployManifest stage "deployed" into a namespace.
#[derive(Clone, Debug, PartialEq)]
pub struct Deployment {
    /// Application.
    pub application: String,
    /// Kubernetes namespace (`namespaceOverride`, else the account's default).
    pub namespace: String,
    /// Kubernetes account.
    pub account: String,
    /// Execution id.
    pub execution_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// The chart, when the manifest came from a bake.
    pub chart: Option<ArtifactContent>,
    /// The values files the bake used, in order.
    pub values: Vec<ArtifactContent>,
    /// `docker/image` references bound through `requiredArtifactIds`.
    pub images: Vec<String>,
    /// The manifest artifact deployed (bake output or trigger artifact), if any.
    pub manifest_artifact: Option<Artifact>,
    /// Inline manifests, with `source: text`.
    pub manifests: Vec<Value>,
    /// Epoch milliseconds.
    pub at: i64,
}

/// A request the stand-in received.
#[derive(Clone, Debug, PartialEq)]
pub struct RecordedRequest {
    /// HTTP method.
    pub method: String,
    /// Path.
    pub path: String,
    /// Raw query string.
    pub query: Option<String>,
    /// `Content-Type`.
    pub content_type: Option<String>,
    /// Authorization scheme used (`Basic`, `Bearer`) — never the credentials.
    pub auth_scheme: Option<String>,
    /// Whether a session cookie came along.
    pub had_session: bool,
    /// Body.
    pub body: Bytes,
    /// Status the stand-in answered with (0 for a reset).
    pub status: u16,
    /// Whether no route knew the request (the catch-all answered).
    pub unexpected: bool,
    /// Wall-clock time the request arrived (before any injected fault or delay).
    pub received_at: std::time::SystemTime,
}

impl RecordedRequest {
    /// The body as JSON, if it is JSON.
    pub fn json(&self) -> Option<Value> {
        serde_json::from_slice(&self.body).ok()
    }
}

/// What to do to matching requests.
#[derive(Clone, Debug, PartialEq)]
pub enum FaultKind {
    /// Answer with this status and a kork error body.
    Status(u16),
    /// Answer 503 with a kork error body and `Retry-After: secs` (a proxy or Gate under load).
    Unavailable {
        /// Value of `Retry-After`, in seconds.
        retry_after_secs: u64,
    },
    /// Wait this long before handling (longer than the client's timeout = a timeout).
    Delay(Duration),
    /// Start a response and abort the connection mid-body.
    Reset,
    /// Answer with this status and JSON body instead of handling the request.
    Respond(u16, Value),
    /// Answer `302 Found` with this `Location` (Spring's redirect to a login page).
    Redirect(String),
    /// Handle the request normally (Echo accepts the event, the request is recorded), then
    /// wait this long before answering: a slow answer after the effect happened.
    SlowAnswer(Duration),
}

/// A fault injected into requests whose method and path match.
#[derive(Clone, Debug, PartialEq)]
pub struct Fault {
    /// Method to match (`None` = any).
    pub method: Option<String>,
    /// Path prefix to match (`/` = any).
    pub path_prefix: String,
    /// What to do.
    pub kind: FaultKind,
    /// How many requests it applies to (`None` = until cleared).
    pub times: Option<u32>,
}

impl Fault {
    /// A fault on every request under `path_prefix`, until cleared.
    pub fn on(path_prefix: impl Into<String>, kind: FaultKind) -> Self {
        Self {
            method: None,
            path_prefix: path_prefix.into(),
            kind,
            times: None,
        }
    }

    /// Limits the fault to `method`.
    pub fn method(mut self, method: &str) -> Self {
        self.method = Some(method.to_uppercase());
        self
    }

    /// Limits the fault to the next `n` matching requests.
    pub fn times(mut self, n: u32) -> Self {
        self.times = Some(n);
        self
    }
}

/// A scripted failure: stages of `stage_type` (in pipelines named `pipeline`, if set) end
/// TERMINAL with `message` instead of succeeding.
#[derive(Clone, Debug, PartialEq)]
pub struct FailRule {
    /// Stage type (`bakeManifest`, `deployManifest`, ...).
    pub stage_type: String,
    /// Only in this pipeline.
    pub pipeline: Option<String>,
    /// The exception message recorded in the stage context.
    pub message: String,
}

/// A webhook Echo accepted and has not matched yet.
#[derive(Clone, Debug)]
pub(crate) struct PendingEvent {
    pub due_ms: u64,
    pub event_id: String,
    pub source: String,
    pub payload: Map<String, Value>,
}

/// An execution plus what Orca keeps next to it.
#[derive(Clone, Debug)]
pub(crate) struct Run {
    pub exec: Execution,
    pub config: PipelineConfig,
    /// Trigger-bound expected artifacts (by expected artifact id).
    pub bound: BTreeMap<String, Artifact>,
    /// Bake outputs by expected artifact id -> index into `State::bakes`.
    pub produced: BTreeMap<String, usize>,
    /// Virtual time at which each RUNNING stage (by index) completes.
    pub due: BTreeMap<usize, u64>,
}

/// Gate authentication the stand-in enforces.
#[derive(Clone, Debug, Default)]
pub enum GateAuth {
    /// Everything open.
    #[default]
    None,
    /// HTTP Basic with this user and password.
    Basic {
        /// User.
        user: String,
        /// Password.
        password: secrecy::SecretString,
    },
    /// Bearer token.
    Bearer {
        /// Token.
        token: secrecy::SecretString,
    },
    /// `POST /login` form, then a `SESSION` cookie.
    FormLogin {
        /// User.
        user: String,
        /// Password.
        password: secrecy::SecretString,
    },
}

/// Settings fixed at start.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub match_delay: Duration,
    /// Echo's `front50.polling-interval-ms` (0 = every event sees front50 as it is).
    pub cache_refresh: Duration,
    pub stage_duration: Duration,
    pub default_namespaces: BTreeMap<String, String>,
    pub auth: GateAuth,
    /// Gate's `security.webhooks.default-auth-enabled` (default false: webhooks are open).
    pub webhook_auth: bool,
}

/// All mutable state.
#[derive(Debug)]
pub(crate) struct State {
    pub settings: Settings,
    pub now_ms: u64,
    pub epoch_base_ms: i64,
    pub applications: BTreeSet<String>,
    pub pipelines: Vec<PipelineConfig>,
    /// Every pipeline version front50 stored, with the virtual time it was saved (what
    /// Echo's cache polls see).
    pub front50_log: Vec<(u64, PipelineConfig)>,
    pub events: Vec<PendingEvent>,
    /// Events Echo accepted and then dropped whole (event id, what Echo threw).
    pub dropped_events: Vec<(String, String)>,
    pub runs: Vec<Run>,
    pub bakes: Vec<Bake>,
    pub deployments: Vec<Deployment>,
    pub requests: Vec<RecordedRequest>,
    pub faults: Vec<Fault>,
    pub fail_rules: Vec<FailRule>,
    pub jenkins_rules: Vec<super::jenkins::JenkinsRule>,
    pub jenkins_builds: Vec<super::jenkins::JenkinsBuild>,
    pub sessions: BTreeSet<String>,
    pub seq: u64,
}

impl State {
    pub fn new(settings: Settings, pipelines: Vec<PipelineConfig>) -> Self {
        let epoch_base_ms = std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_millis() as i64)
            .unwrap_or(0);
        Self {
            settings,
            now_ms: 0,
            epoch_base_ms,
            applications: pipelines.iter().map(|p| p.application.clone()).collect(),
            pipelines,
            front50_log: Vec::new(),
            events: Vec::new(),
            dropped_events: Vec::new(),
            runs: Vec::new(),
            bakes: Vec::new(),
            deployments: Vec::new(),
            requests: Vec::new(),
            faults: Vec::new(),
            fail_rules: Vec::new(),
            jenkins_rules: Vec::new(),
            jenkins_builds: Vec::new(),
            sessions: BTreeSet::new(),
            seq: 0,
        }
    }

    /// Wall-clock-looking epoch milliseconds for the current virtual time.
    pub fn epoch_ms(&self) -> i64 {
        self.epoch_base_ms + self.now_ms as i64
    }

    /// A fresh ULID-shaped id (26 upper-case Crockford characters).
    pub fn new_ulid(&mut self) -> String {
        const ALPHABET: &[u8] = b"0123456789ABCDEFGHJKMNPQRSTVWXYZ";
        self.seq += 1;
        let mut n: u128 = ((self.epoch_ms() as u128) << 80)
            | (rand::random::<u64>() as u128) << 16
            | (self.seq as u128 & 0xFFFF);
        let mut out = [b'0'; 26];
        for slot in out.iter_mut().rev() {
            *slot = ALPHABET[(n & 31) as usize];
            n >>= 5;
        }
        String::from_utf8_lossy(&out).into_owned()
    }

    /// A fresh UUID-shaped id (Echo's event ids).
    pub fn new_uuid(&mut self) -> String {
        let h = format!("{:032x}", rand::random::<u128>());
        format!(
            "{}-{}-4{}-a{}-{}",
            &h[0..8],
            &h[8..12],
            &h[13..16],
            &h[17..20],
            &h[20..32]
        )
    }

    /// Saves a pipeline config the way front50 does (and registers its application): same id (or same application + name)
    /// replaces, otherwise it is added with a fresh id.
    pub fn save_pipeline(&mut self, mut config: PipelineConfig) {
        self.applications.insert(config.application.clone());
        let existing = self.pipelines.iter().position(|p| {
            (config.id.is_some() && p.id == config.id)
                || (p.application == config.application && p.name == config.name)
        });
        match existing {
            Some(i) => {
                if config.id.is_none() {
                    config.id = self.pipelines[i].id.clone();
                }
                self.front50_log.push((self.now_ms, config.clone()));
                self.pipelines[i] = config;
            }
            None => {
                if config.id.is_none() {
                    config.id = Some(self.new_uuid());
                }
                self.front50_log.push((self.now_ms, config.clone()));
                self.pipelines.push(config);
            }
        }
    }

    /// Takes the first fault that applies to this request, counting it down.
    pub fn take_fault(&mut self, method: &str, path: &str) -> Option<FaultKind> {
        let i = self.faults.iter().position(|f| {
            f.method.as_deref().is_none_or(|m| m == method) && path.starts_with(&f.path_prefix)
        })?;
        let kind = self.faults[i].kind.clone();
        if let Some(n) = self.faults[i].times.as_mut() {
            *n = n.saturating_sub(1);
            if *n == 0 {
                self.faults.remove(i);
            }
        }
        Some(kind)
    }
}
