//! The `api:` section: who may call the HTTP API and the limits that keep hostile or broken
//! clients from exhausting the server (docs/hardening.md "Server limits").
//!
//! Every route is covered, the push webhooks under `/hooks/*` included: the limits are applied
//! by [`crate::api::serve`] to the whole router after every merge.

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
        && c.listen
            .parse::<SocketAddr>()
            .is_ok_and(|l| l.port() == probe.port())
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
