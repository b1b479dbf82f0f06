//! Why a webhook was refused, and how each refusal is answered over HTTP.

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::StatusCode;
use serde_json::json;

/// Why a signature check failed. The text names the failure only: never the secret, the
/// expected signature or the signature received.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum Rejection {
    /// The signature (or token) header is absent.
    #[error("signature missing")]
    Missing,
    /// The header is present but empty (or holds only an algorithm prefix).
    #[error("signature empty")]
    Empty,
    /// The header is well formed but does not match the body and the secret, or is not hex,
    /// or has the wrong length (a truncated signature).
    #[error("signature invalid")]
    Invalid,
    /// The signature uses another algorithm than HMAC-SHA256 (`sha1=...`, or GitHub's legacy
    /// `X-Hub-Signature` alone).
    #[error("signature wrong algorithm")]
    WrongAlgorithm,
}

/// Everything that can go wrong while taking in a push webhook.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum HookError {
    /// The path names no supported git host.
    #[error(
        "unknown webhook provider {0:?} in /hooks/{{provider}}; use github, gitlab, gitea or bitbucket"
    )]
    UnknownProvider(String),
    /// The configured webhook secret is empty, so no signature could ever be checked.
    #[error("the webhook secret (git.webhook_secret_file) is empty; put a random secret in it")]
    EmptySecret,
    /// The signature check failed.
    #[error(transparent)]
    Unauthorized(#[from] Rejection),
    /// The body is larger than the configured limit.
    #[error("request body is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: usize,
    },
    /// The request body could not be read.
    #[error("could not read the request body")]
    Body(#[source] axum::Error),
    /// A verified body is not the push payload this provider sends. The decode error is in
    /// the text (the sender reads only the text), not returned as `source()`.
    #[error("{provider} push payload does not decode at {path}: {cause}")]
    Payload {
        /// Which provider's payload shape was expected.
        provider: &'static str,
        /// The JSON path of the first value that did not fit.
        path: String,
        /// The decode error.
        cause: serde_json::Error,
    },
    /// The store of seen delivery ids failed; the host should redeliver.
    /// A form-encoded body (`application/x-www-form-urlencoded`) without a `payload=` field.
    #[error(
        "{provider} sent a form-encoded body without a payload= field; set the webhook's \
         content type to application/json"
    )]
    FormWithoutPayload {
        /// The provider.
        provider: &'static str,
    },
    /// The record of deliveries could not be consulted.
    #[error("the record of webhook deliveries is unavailable; redeliver later")]
    DedupeUnavailable(#[source] super::dedupe::DedupeError),
    /// The daemon no longer takes check requests (it is shutting down) or did not take this
    /// one in time; the host should redeliver.
    #[error("the daemon could not take the check request: {0}")]
    TriggerUnavailable(&'static str),
}

impl HookError {
    /// The HTTP status and the short `error` code of the JSON body.
    pub fn parts(&self) -> (StatusCode, &'static str) {
        match self {
            HookError::UnknownProvider(_) => (StatusCode::NOT_FOUND, "not_found"),
            HookError::EmptySecret => (StatusCode::INTERNAL_SERVER_ERROR, "internal"),
            HookError::Unauthorized(_) => (StatusCode::UNAUTHORIZED, "unauthorized"),
            HookError::TooLarge { .. } => (StatusCode::PAYLOAD_TOO_LARGE, "payload_too_large"),
            HookError::Body(_) => (StatusCode::BAD_REQUEST, "bad_request"),
            HookError::Payload { .. } | HookError::FormWithoutPayload { .. } => {
                (StatusCode::BAD_REQUEST, "bad_request")
            }
            HookError::TriggerUnavailable(_) | HookError::DedupeUnavailable(_) => {
                (StatusCode::SERVICE_UNAVAILABLE, "unavailable")
            }
        }
    }
}

impl IntoResponse for HookError {
    fn into_response(self) -> Response {
        let (status, code) = self.parts();
        let detail = match &self {
            HookError::EmptySecret => {
                "the webhook receiver is misconfigured; see the daemon log".to_owned()
            }
            other => other.to_string(),
        };
        (status, Json(json!({"error": code, "detail": detail}))).into_response()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rejection_details_are_the_documented_words() {
        let words: Vec<String> = [
            Rejection::Missing,
            Rejection::Empty,
            Rejection::Invalid,
            Rejection::WrongAlgorithm,
        ]
        .iter()
        .map(|r| HookError::from(*r).to_string())
        .collect();
        assert_eq!(
            words,
            [
                "signature missing",
                "signature empty",
                "signature invalid",
                "signature wrong algorithm"
            ]
        );
    }
}
