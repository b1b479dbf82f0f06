//! The crate's error type and kork's error body.

use serde::{Deserialize, Serialize};

/// The JSON body Spinnaker services (kork `GenericExceptionHandlers`) send with an error.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct KorkError {
    /// Epoch milliseconds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub timestamp: Option<i64>,
    /// HTTP status code.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub status: Option<u16>,
    /// HTTP reason phrase (`Not Found`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub error: Option<String>,
    /// Java exception class.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub exception: Option<String>,
    /// Human-readable message.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub message: Option<String>,
}

/// Which kind of non-2xx answer Gate gave.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum ApiErrorKind {
    /// 400: the request was malformed (bad JSON, invalid pipeline).
    BadRequest,
    /// 401: no or wrong credentials.
    Unauthorized,
    /// 403: authenticated but not allowed.
    Forbidden,
    /// 404: no such application, pipeline, execution or stage.
    NotFound,
    /// 415: wrong `Content-Type`.
    UnsupportedMediaType,
    /// 5xx: Spinnaker failed; usually worth retrying.
    Server,
    /// Any other status.
    Other,
}

impl ApiErrorKind {
    /// The kind of a status code.
    pub fn of(status: u16) -> Self {
        match status {
            400 => Self::BadRequest,
            401 => Self::Unauthorized,
            403 => Self::Forbidden,
            404 => Self::NotFound,
            415 => Self::UnsupportedMediaType,
            500..=599 => Self::Server,
            _ => Self::Other,
        }
    }
}

/// Everything that can go wrong talking to Spinnaker or decoding its documents.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The Gate URL or a path built from it is not a valid URL. Why is the `source`: print
    /// it with `baton_http::chain`.
    #[error("invalid Spinnaker URL {url:?}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why it is invalid.
        #[source]
        source: url::ParseError,
    },
    /// Client set-up failed (the HTTP client). The cause is the `source`: print it
    /// with `baton_http::chain`.
    #[error("cannot set up the Spinnaker client: {what}")]
    Setup {
        /// What was being set up.
        what: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The client's TLS could not be set up: its CA certificate, its client certificate and
    /// key. The cause is the `source`: print it with `baton_http::chain`.
    #[error("cannot set up the Spinnaker client's {what}")]
    Tls {
        /// What was being set up (`client certificate`, `CA certificate`, `TLS`).
        what: &'static str,
        /// The cause.
        #[source]
        source: baton_http::tls::TlsError,
    },
    /// The request got no usable answer: no answer at all (connect, TLS, timeout, reset), or
    /// one larger than the client reads (a proxy's page, a misrouted download).
    #[error(transparent)]
    Request(#[from] baton_http::RequestError),
    /// Gate answered with a non-2xx status.
    #[error("{method} {url} answered {status}: {message}")]
    Api {
        /// HTTP method.
        method: String,
        /// URL without credentials.
        url: String,
        /// Status code.
        status: u16,
        /// Which kind of failure.
        kind: ApiErrorKind,
        /// The kork message, or the start of the body.
        message: String,
        /// The kork error body, when there was one.
        body: Option<Box<KorkError>>,
        /// The `Retry-After` header as sent (seconds or an HTTP date), if any.
        retry_after: Option<String>,
    },
    /// A JSON document did not decode into the model. The decoder's message is the `source`:
    /// print it with `baton_http::chain`.
    #[error("cannot decode {what} at {path}")]
    Decode {
        /// What was decoded.
        what: String,
        /// JSON path of the failure (`stages[2].inputArtifacts[0].id`).
        path: String,
        /// The decoder's message.
        #[source]
        source: serde_json::Error,
    },
    /// Form login at `/login` was refused.
    #[error("login at {url} was refused for user {user:?}; check the user and password file")]
    LoginRefused {
        /// Login URL.
        url: String,
        /// User name.
        user: String,
    },
    /// Echo did not process the webhook (`eventProcessed: false` or no `eventId`).
    #[error("Echo did not process the webhook for source {source_name:?}")]
    WebhookNotProcessed {
        /// Webhook source.
        source_name: String,
    },
    /// The execution has no RUNNING manualJudgment stage.
    #[error("execution {execution_id} has no pending manual judgment (status {status})")]
    NoPendingJudgment {
        /// Execution id.
        execution_id: String,
        /// Execution status.
        status: String,
    },
    /// Starting a pipeline answered without a usable `ref`.
    #[error("starting pipeline {name:?} returned no execution ref: {body}")]
    NoExecutionRef {
        /// Pipeline name.
        name: String,
        /// What came back.
        body: String,
    },
    /// A wait ran past its deadline.
    #[error("gave up waiting for {what} after {waited_ms} ms (last seen: {last_seen})")]
    Deadline {
        /// What was awaited.
        what: String,
        /// How long it waited.
        waited_ms: u128,
        /// The last observed state.
        last_seen: String,
    },
}

impl Error {
    /// The HTTP status of an API error.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Api { status, .. } => Some(*status),
            _ => None,
        }
    }

    /// The kind of an API error.
    pub fn api_kind(&self) -> Option<ApiErrorKind> {
        match self {
            Self::Api { kind, .. } => Some(*kind),
            _ => None,
        }
    }

    /// Whether retrying the same request later may succeed (transport failures and 5xx).
    pub fn is_transient(&self) -> bool {
        match self {
            Self::Request(e) => e.is_transient(),
            Self::Api { kind, .. } => *kind == ApiErrorKind::Server,
            _ => false,
        }
    }
}
