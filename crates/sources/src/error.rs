//! The crate's error enum and the coarse [`ErrorKind`] observations carry.

use std::time::Duration;

/// Everything that can go wrong while checking a source.
#[non_exhaustive]
#[derive(Debug, thiserror::Error)]
pub enum Error {
    /// An image reference that Docker would not accept either.
    #[error(
        "invalid image reference {input:?}: {reason} (expected [host[:port]/]path[:tag][@sha256:<64 hex>])"
    )]
    InvalidReference {
        /// The reference as written.
        input: String,
        /// What is wrong with it.
        reason: String,
    },
    /// A configuration value that cannot be used.
    #[error("invalid config {key}: {reason}")]
    Config {
        /// Key path of the value.
        key: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A local file could not be read or written.
    #[error("{action} {path}")]
    Io {
        /// What we were doing.
        action: &'static str,
        /// The file.
        path: String,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The request did not complete (connect, TLS, reset, body read). The cause is the
    /// `source`, not part of this text: print it with `baton_http::chain`.
    #[error("{method} {}", crate::redact::text(url))]
    Transport {
        /// HTTP method.
        method: String,
        /// URL without credentials.
        url: String,
        /// The cause.
        #[source]
        source: reqwest::Error,
    },
    /// The request took longer than its timeout.
    #[error("{what}: no answer within {after:?}")]
    Timeout {
        /// What timed out.
        what: String,
        /// The limit.
        after: Duration,
    },
    /// A non-success answer from a server.
    #[error("{method} {}: HTTP {status}: {body}", crate::redact::text(url))]
    Api {
        /// HTTP method.
        method: String,
        /// URL.
        url: String,
        /// Status code.
        status: u16,
        /// Start of the body (at most 512 bytes).
        body: String,
    },
    /// 401/403 after every credential we have was tried.
    #[error(
        "{url}: access denied (HTTP {status}); check the registry credentials configured for {host}"
    )]
    Unauthorized {
        /// Registry host.
        host: String,
        /// URL.
        url: String,
        /// 401 or 403.
        status: u16,
    },
    /// HTTP 429, or a host still inside its `Retry-After` window.
    #[error("{host}: rate limited; retry after {retry_after:?}")]
    RateLimited {
        /// Host.
        host: String,
        /// The server's `Retry-After`, if it sent one.
        retry_after: Option<Duration>,
    },
    /// The configured per-registry request budget is spent for this window.
    #[error(
        "{host}: request budget of {limit} per {window:?} spent; raise registries[].budget or check less often"
    )]
    BudgetExhausted {
        /// Host.
        host: String,
        /// Requests per window.
        limit: u32,
        /// The window.
        window: Duration,
    },
    /// The server answered something that is not what the protocol says (HTML, garbage).
    #[error("{url}: unexpected answer: {reason}")]
    InvalidResponse {
        /// URL.
        url: String,
        /// What was wrong.
        reason: String,
    },
    /// A JSON document did not decode; `path` names where.
    #[error("{url}: cannot decode {what} at {path}")]
    Decode {
        /// URL or file.
        url: String,
        /// What document.
        what: &'static str,
        /// JSON path of the failure.
        path: String,
        /// The cause.
        #[source]
        source: serde_json::Error,
    },
    /// A YAML document did not parse or broke a budget.
    #[error("{what}:{line}:{column}: {message}")]
    Yaml {
        /// File or URL.
        what: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// The parser's message.
        message: String,
    },
    /// Downloaded content does not match the digest it was announced with.
    #[error("{url}: digest mismatch: expected {expected}, got {actual}")]
    DigestMismatch {
        /// URL.
        url: String,
        /// Announced digest.
        expected: String,
        /// Digest of what arrived.
        actual: String,
    },
    /// A body or archive larger than its cap.
    #[error("{what}: larger than the limit of {limit} bytes")]
    TooLarge {
        /// What was too large.
        what: String,
        /// The limit.
        limit: u64,
    },
    /// A chart archive we refuse (paths outside the chart folder, bombs, no Chart.yaml).
    #[error("chart archive {name}: {reason}")]
    UnsafeArchive {
        /// Archive name.
        name: String,
        /// Why it was refused.
        reason: String,
    },
    /// A chart archive that failed the checks before (see `helm::RefusedArchive`), skipped
    /// without downloading it again.
    #[error(
        "chart archive {name} {version}: refused at {at} ({reason}); not downloaded again until the repository publishes another archive for this version"
    )]
    RefusedBefore {
        /// Chart name.
        name: String,
        /// Chart version.
        version: String,
        /// When it was refused (RFC 3339).
        at: String,
        /// Why it was refused.
        reason: String,
    },
    /// No chart version satisfies the constraint.
    #[error("chart {chart}: no version matches {constraint:?} (available: {available})")]
    NoMatchingVersion {
        /// Chart name.
        chart: String,
        /// The configured version or range.
        constraint: String,
        /// A few of the versions found.
        available: String,
    },
    /// A git command failed.
    #[error(
        "git {} failed ({status}): {}",
        crate::redact::text(command),
        crate::redact::text(stderr)
    )]
    Git {
        /// The sub-command and its non-secret arguments.
        command: String,
        /// Exit status.
        status: String,
        /// Last lines of stderr.
        stderr: String,
    },
    /// A commit named by a push or an operator is not on the watched branch of the remote.
    #[error(
        "commit {commit} is not on branch {branch} of {}: {why}; name a commit of that branch \
         (git log {branch}) or leave the commit out to use the branch head",
        crate::redact::text(url)
    )]
    NotOnBranch {
        /// The commit as given.
        commit: String,
        /// The watched branch.
        branch: String,
        /// The remote (without credentials).
        url: String,
        /// What the check found.
        why: String,
    },
}

/// Coarse classification of an [`Error`], for observations and metrics.
#[non_exhaustive]
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum ErrorKind {
    /// Bad configuration or reference.
    Config,
    /// Network failure.
    Transport,
    /// Timed out.
    Timeout,
    /// Credentials refused.
    Auth,
    /// 404 or missing branch/tag.
    NotFound,
    /// 429, Retry-After window or spent budget.
    RateLimited,
    /// Other non-2xx answer.
    Server,
    /// HTML, garbage, bad digests.
    InvalidResponse,
    /// Content refused (YAML errors, bombs, unsafe archives, mismatched digest).
    InvalidContent,
    /// Local IO.
    Io,
}

impl Error {
    /// The coarse kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::InvalidReference { .. } | Error::Config { .. } => ErrorKind::Config,
            Error::Io { .. } => ErrorKind::Io,
            Error::Transport { .. } => ErrorKind::Transport,
            Error::Timeout { .. } => ErrorKind::Timeout,
            Error::Api { status: 404, .. } | Error::NoMatchingVersion { .. } => ErrorKind::NotFound,
            Error::Api { status: 429, .. }
            | Error::RateLimited { .. }
            | Error::BudgetExhausted { .. } => ErrorKind::RateLimited,
            Error::Api { .. } => ErrorKind::Server,
            Error::Unauthorized { .. } => ErrorKind::Auth,
            Error::InvalidResponse { .. } | Error::Decode { .. } => ErrorKind::InvalidResponse,
            Error::Yaml { .. }
            | Error::DigestMismatch { .. }
            | Error::TooLarge { .. }
            | Error::UnsafeArchive { .. }
            | Error::RefusedBefore { .. } => ErrorKind::InvalidContent,
            Error::Git { .. } => ErrorKind::Server,
            Error::NotOnBranch { .. } => ErrorKind::NotFound,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Error;

    #[tokio::test]
    async fn a_transport_error_names_each_cause_once() {
        // Nothing listens on port 9 of the loopback: connection refused.
        let url = "http://127.0.0.1:9/v2/";
        baton_http::install_crypto_provider();
        let source = reqwest::Client::new().get(url).send().await.unwrap_err();
        let err = Error::Transport {
            method: "GET".into(),
            url: url.into(),
            source,
        };
        let own = err.to_string();
        assert_eq!(own, format!("GET {url}"));
        let text = testkit::shown_once(&err);
        assert!(text.to_lowercase().contains("refused"), "{text}");
    }
}
