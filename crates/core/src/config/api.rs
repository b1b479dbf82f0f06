//! The `api:` section: who may call the HTTP API and the limits that keep hostile or broken
//! clients from exhausting the server (docs/hardening.md "Server limits").
//!
//! Every route is covered, the push webhooks under `/hooks/*` included: the limits are applied
//! by `baton_daemon::api::serve` to the whole router after every merge.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::model::Config;

/// How `/v1` requests are authenticated.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum ApiAuth {
    /// Bearer tokens from `api_tokens_file`; `serve` refuses to start without any.
    #[default]
    Tokens,
    /// No authentication at all: anyone who reaches the port may trigger rebuilds and promote.
    /// Only for a port no one else can reach; `serve` logs a warning at start.
    None,
}

super::model::named_variants!(ApiAuth {
    "tokens" => Tokens: "Bearer tokens from `api_tokens_file`; `serve` refuses to start without any.",
    "none" => None: "No authentication at all: anyone who reaches the port may trigger rebuilds and promote. Only for a port no one else can reach; `serve` logs a warning at start.",
});

/// An action a caller may be granted in `api.rights` (docs/operations.md "Rights").
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum Right {
    /// Every `GET` under `/v1` and the dashboard's pages; every caller has it.
    Read,
    /// Continue a waiting manual judgment (`promote`, the dashboard's Promote button).
    Promote,
    /// Stop a waiting manual judgment (`promote` with `stop: true`, the Stop button).
    Stop,
    /// Make an outbox record due again (`POST /v1/outbox/{id}/retry`, the Retry button).
    Retry,
    /// Forget an outbox record (`DELETE /v1/outbox/{id}`, the Drop button).
    Drop,
    /// Sync a product's chart (`POST .../sync`).
    Sync,
    /// Trigger a Jenkins rebuild (`POST .../rebuild`).
    Rebuild,
    /// Report a built image (`POST .../built`, what Jenkins jobs call).
    Built,
    /// Every right.
    #[serde(rename = "*")]
    All,
}

super::model::named_variants!(Right {
    "read" => Read: "Every `GET` under `/v1` and the dashboard's pages; every caller has it.",
    "promote" => Promote: "Continue a waiting manual judgment.",
    "stop" => Stop: "Stop a waiting manual judgment.",
    "retry" => Retry: "Make an outbox record due again.",
    "drop" => Drop: "Forget an outbox record.",
    "sync" => Sync: "Sync a product's chart.",
    "rebuild" => Rebuild: "Trigger a Jenkins rebuild.",
    "built" => Built: "Report a built image (what Jenkins jobs call).",
    "*" => All: "Every right.",
});

impl Right {
    /// Every right but `*`, in the order the docs list them.
    pub const EACH: [Right; 8] = [
        Right::Read,
        Right::Promote,
        Right::Stop,
        Right::Retry,
        Right::Drop,
        Right::Sync,
        Right::Rebuild,
        Right::Built,
    ];

    /// The name the config uses.
    pub fn name(self) -> &'static str {
        match self {
            Right::Read => "read",
            Right::Promote => "promote",
            Right::Stop => "stop",
            Right::Retry => "retry",
            Right::Drop => "drop",
            Right::Sync => "sync",
            Right::Rebuild => "rebuild",
            Right::Built => "built",
            Right::All => "*",
        }
    }
}

impl std::fmt::Display for Right {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The `api:` section.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize, Serialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ApiSettings {
    /// How `/v1` requests are authenticated.
    pub auth: ApiAuth,
    /// Longest time from the first byte of a request to the end of its headers (slow headers).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub header_timeout: Duration,
    /// Longest time from the end of the headers to the end of the answer, the body read
    /// included (slow bodies get a 408).
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub request_timeout: Duration,
    /// Longest time a keep-alive connection may sit with no request before it is closed.
    #[serde(with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub idle_timeout: Duration,
    /// Most connections open at once. At the cap the oldest connection that has no request
    /// being handled is closed to make room, so health probes still get in.
    pub max_connections: usize,
    /// A second address serving only `/healthz`, `/readyz` and `/metrics`, with a connection
    /// cap and timeouts of its own, so clients flooding `listen` cannot delay a health probe
    /// (docs/hardening.md "Probe listener"). Not bound unless set: a fixed default port would
    /// clash with a second baton on the host; the Helm chart sets `0.0.0.0:8081` and points its
    /// probes there.
    #[schemars(with = "Option<String>")]
    pub probe_listen: Option<SocketAddr>,
    /// Which caller may take which action: caller name (the NAME of a `NAME:TOKEN` line of
    /// `api_tokens_file`, or `token-<fingerprint>`) to rights (read, promote, stop, retry, drop,
    /// sync, rebuild, built, or `*` for all). Absent: every token has every right (a warning at
    /// start says how to restrict). Present: a caller not listed may only read.
    pub rights: Option<BTreeMap<String, Vec<Right>>>,
}

impl ApiSettings {
    /// Default header timeout.
    pub const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
    /// Default request timeout.
    pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);
    /// Default idle keep-alive timeout.
    pub const IDLE_TIMEOUT: Duration = Duration::from_secs(60);
    /// Default connection cap.
    pub const MAX_CONNECTIONS: usize = 1024;
}

impl Default for ApiSettings {
    fn default() -> Self {
        Self {
            auth: ApiAuth::default(),
            header_timeout: Self::HEADER_TIMEOUT,
            request_timeout: Self::REQUEST_TIMEOUT,
            idle_timeout: Self::IDLE_TIMEOUT,
            max_connections: Self::MAX_CONNECTIONS,
            probe_listen: None,
            rights: None,
        }
    }
}

/// What a daemon needs before it may serve: at least one product and sane limits. (API tokens
/// are required where they are read, in [`super::secrets::Secrets::load`], which `check` and
/// `serve` both call.)
pub(super) fn validate(c: &Config, err: &mut impl FnMut(String, String)) {
    if c.products.is_empty() {
        err(
            "products".into(),
            "no product is configured, so baton has nothing to watch or deliver; add one \
             (see crates/baton/examples/baton.yaml)"
                .into(),
        );
    }
    let a = &c.api;
    for (key, d) in [
        ("api.header_timeout", a.header_timeout),
        ("api.request_timeout", a.request_timeout),
        ("api.idle_timeout", a.idle_timeout),
    ] {
        if d < Duration::from_millis(100) {
            err(
                key.into(),
                format!("{d:?} is too short; use at least 100ms (e.g. 10s)"),
            );
        }
    }
    if let Some(probe) = a.probe_listen
        && probe.port() != 0
        && c.listen.port() == probe.port()
    {
        err(
            "api.probe_listen".into(),
            format!(
                "{probe} uses the port of listen ({}); give the probes a port of their own (e.g. {})",
                c.listen,
                SocketAddr::new(probe.ip(), 8081)
            ),
        );
    }
    if let Some(rights) = &a.rights
        && a.auth == ApiAuth::None
        && !rights.is_empty()
    {
        err(
            "api.rights".into(),
            "has no effect with api.auth: none (every caller is anonymous and may do \
             everything); set api.auth: tokens or remove api.rights"
                .into(),
        );
    }
    if a.max_connections < 8 {
        err(
            "api.max_connections".into(),
            format!(
                "{} leaves no room for probes and callers; use at least 8 (default {})",
                a.max_connections,
                ApiSettings::MAX_CONNECTIONS
            ),
        );
    }
}

/// Problems with `rights`' callers: each must name a line of `api_tokens_file` (`names` are the
/// callers those lines identify), so a typo cannot silently leave someone without rights.
pub(super) fn unknown_callers(
    rights: &BTreeMap<String, Vec<Right>>,
    names: &[String],
) -> Vec<super::Problem> {
    rights
        .keys()
        .filter(|caller| !names.contains(caller))
        .map(|caller| {
            super::Problem::new(
                format!("api.rights.{caller}"),
                format!(
                    "no line of api_tokens_file names the caller {caller:?}; use the NAME of a \
                     NAME:TOKEN line or token-<first 8 hex digits of the token's SHA-256> (what \
                     the daemon logs as caller), or add a line {caller}:TOKEN"
                ),
            )
        })
        .collect()
}

/// Paths the API and the webhooks own; the dashboard may not be mounted over them.
const TAKEN: [&str; 6] = [
    "/v1",
    "/hooks",
    "/healthz",
    "/readyz",
    "/metrics",
    "/openapi.json",
];

/// Checks a `ui.path_prefix`: `/` or `/seg[/seg..]` of URL-safe characters, not over an API
/// path.
pub fn check_ui_prefix(prefix: &str) -> Result<(), String> {
    let ok_chars = prefix
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '/' | '-' | '_' | '.' | '~'));
    if !prefix.starts_with('/') || !ok_chars || prefix.contains("//") || prefix.contains("/.") {
        return Err(format!(
            "{prefix:?} is not a URL path; write / or /segment[/segment], e.g. /ui or /baton/ui"
        ));
    }
    let trimmed = prefix.trim_end_matches('/');
    if let Some(t) = TAKEN
        .iter()
        .find(|t| trimmed == **t || trimmed.starts_with(&format!("{t}/")))
    {
        return Err(format!(
            "{prefix:?} is under {t}, which the API serves; pick another path, e.g. /ui"
        ));
    }
    Ok(())
}
