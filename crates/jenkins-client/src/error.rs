//! The one error type of this crate.

use std::time::Duration;

/// Everything that can go wrong talking to Jenkins. Secrets never appear in messages.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum Error {
    /// The base URL is unusable.
    #[error("jenkins base URL {url:?}: {reason}")]
    InvalidBaseUrl {
        /// The URL given (credentials removed).
        url: String,
        /// What is wrong and how to fix it.
        reason: String,
    },
    /// A job path is unusable.
    #[error("job path {path:?}: {reason}")]
    InvalidJobPath {
        /// The path given.
        path: String,
        /// What is wrong.
        reason: &'static str,
    },
    /// The HTTP client could not be built. The cause is the `source`: print it with
    /// `baton_http::chain`.
    #[error("cannot build the HTTP client for Jenkins")]
    HttpClient {
        /// Cause.
        #[source]
        source: reqwest::Error,
    },
    /// The request got no usable answer: connecting, sending or reading failed, or the
    /// answer was larger than the client reads (a huge console page, a proxy's download).
    #[error(transparent)]
    Request(#[from] baton_http::RequestError),
    /// 401: Jenkins rejected the user or API token.
    #[error(
        "{url}: 401 Unauthorized: Jenkins rejected the credentials of user {}; check the \
         user name and API token (create a token at <jenkins>/user/<user>/security)",
        user.as_deref().map_or_else(|| "(none: anonymous)".to_owned(), |u| format!("{u:?}"))
    )]
    Unauthorized {
        /// URL called.
        url: String,
        /// User sent, if any.
        user: Option<String>,
    },
    /// 403: authenticated but not allowed.
    #[error(
        "{url}: 403 Forbidden: authenticated as {authenticated_as:?} without permission \
         {required_permission:?}; grant it to this user in Jenkins' security settings ({body})"
    )]
    Forbidden {
        /// URL called.
        url: String,
        /// `X-You-Are-Authenticated-As`.
        authenticated_as: Option<String>,
        /// `X-Required-Permission`.
        required_permission: Option<String>,
        /// Short excerpt of the answer.
        body: String,
    },
    /// 403 "No valid crumb" even after fetching a crumb.
    #[error(
        "{url}: 403 No valid crumb was included in the request, even after fetching one from \
         crumbIssuer; use an API token (exempt from crumbs) instead of a password"
    )]
    NoValidCrumb {
        /// URL called.
        url: String,
    },
    /// 403 "No valid crumb", and `crumbIssuer` answered 404, so no crumb could be fetched.
    #[error(
        "{url}: 403 No valid crumb was included in the request, and crumbIssuer/api/json answered \
         404 so none could be fetched; use an API token (exempt from crumbs) or let this user \
         see the crumb issuer"
    )]
    NoCrumbIssuer {
        /// URL called.
        url: String,
    },
    /// 404 for a job.
    #[error(
        "job {job:?} not found at {url} (404); check the folder/name path and that the user can see it"
    )]
    JobNotFound {
        /// Job path.
        job: String,
        /// URL called.
        url: String,
    },
    /// 400 from `buildWithParameters` on a job without parameters.
    #[error("job {job:?} is not parameterized (400); trigger it with build() instead: {body}")]
    NotParameterized {
        /// Job path.
        job: String,
        /// Short excerpt of the answer.
        body: String,
    },
    /// 409: the job is disabled.
    #[error("job {job:?} is disabled (409 not buildable); enable it in Jenkins: {body}")]
    JobDisabled {
        /// Job path.
        job: String,
        /// Short excerpt of the answer.
        body: String,
    },
    /// 405: Jenkins wants POST.
    #[error("{url}: 405 Method Not Allowed: Jenkins requires POST here")]
    MethodNotAllowed {
        /// URL called.
        url: String,
    },
    /// The queue item is unknown.
    #[error(
        "queue item {id} not found (404): Jenkins forgets items about 5 minutes after they \
         leave the queue, so poll sooner or look the build up by queueId"
    )]
    QueueItemNotFound {
        /// Queue id.
        id: u64,
    },
    /// `cancelItem` on an item that already left the queue (its build started, or it was
    /// cancelled): Jenkins answers 500 "Could not cancel run for id N" (`Queue.doCancelItem`:
    /// the left item is still found for about 5 minutes, and cancelling it fails).
    #[error(
        "queue item {id} already left the queue (Jenkins: 500 Could not cancel run for id {id}); \
         stop its build instead if one started"
    )]
    QueueItemAlreadyLeft {
        /// Queue id.
        id: u64,
    },
    /// The queue item was cancelled before a build started.
    #[error("queue item {id} was cancelled before it started a build")]
    QueueItemCancelled {
        /// Queue id.
        id: u64,
    },
    /// A build is unknown.
    #[error("build #{number} of job {job:?} not found (404)")]
    BuildNotFound {
        /// Job path.
        job: String,
        /// Build number.
        number: u32,
    },
    /// Any other non-success answer.
    #[error("{method} {url}: HTTP {status}: {body}")]
    Api {
        /// HTTP method.
        method: String,
        /// URL called.
        url: String,
        /// Status code.
        status: u16,
        /// Short excerpt of the answer.
        body: String,
        /// The `Retry-After` header as sent (seconds or an HTTP date), if any.
        retry_after: Option<String>,
    },
    /// A trigger answer without a usable `Location`.
    #[error("{url}: answer {status} has no usable Location header: {detail}")]
    BadLocation {
        /// URL called.
        url: String,
        /// Status code.
        status: u16,
        /// What was wrong.
        detail: String,
    },
    /// A header Jenkins always sends is missing.
    #[error("{url}: header {header} is missing; is this URL a Jenkins server?")]
    MissingHeader {
        /// URL called.
        url: String,
        /// Header name.
        header: &'static str,
    },
    /// JSON did not match the model. The decoder's message is the `source`: print it with
    /// `baton_http::chain`.
    #[error("{url}: cannot decode JSON at `{path}`")]
    Decode {
        /// URL called.
        url: String,
        /// JSON path of the failure.
        path: String,
        /// Cause.
        #[source]
        source: serde_json::Error,
    },
    /// `wait_for_build` ran out of time.
    #[error("gave up on queue item {queue_id} after {waited:?}: {stage}")]
    DeadlineExceeded {
        /// Queue id.
        queue_id: u64,
        /// Time waited.
        waited: Duration,
        /// Where it was (queued, building #N).
        stage: String,
    },
    /// The caller's cancellation token fired.
    #[error("cancelled while {what}")]
    Cancelled {
        /// What was going on.
        what: String,
    },
}

impl Error {
    /// The HTTP status behind this error, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Error::Unauthorized { .. } => Some(401),
            Error::Forbidden { .. } | Error::NoValidCrumb { .. } | Error::NoCrumbIssuer { .. } => {
                Some(403)
            }
            Error::JobNotFound { .. }
            | Error::QueueItemNotFound { .. }
            | Error::BuildNotFound { .. } => Some(404),
            Error::QueueItemAlreadyLeft { .. } => Some(500),
            Error::NotParameterized { .. } => Some(400),
            Error::JobDisabled { .. } => Some(409),
            Error::MethodNotAllowed { .. } => Some(405),
            Error::Api { status, .. } | Error::BadLocation { status, .. } => Some(*status),
            Error::Request(e) => e.status(),
            _ => None,
        }
    }

    /// Whether trying again later may help (transport failures, 5xx, 429).
    pub fn is_transient(&self) -> bool {
        match self {
            Error::Request(e) => e.is_transient(),
            Error::Api { status, .. } => *status >= 500 || *status == 429,
            _ => false,
        }
    }
}

/// Up to 300 characters of an answer body, HTML tags removed and whitespace collapsed.
pub(crate) fn excerpt(body: &[u8]) -> String {
    let text = String::from_utf8_lossy(body);
    let mut out = String::new();
    let mut in_tag = false;
    let mut last_space = true;
    for c in text.chars() {
        match c {
            '<' => in_tag = true,
            '>' if in_tag => {
                in_tag = false;
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            _ if in_tag => {}
            c if c.is_whitespace() => {
                if !last_space {
                    out.push(' ');
                    last_space = true;
                }
            }
            c => {
                out.push(c);
                last_space = false;
            }
        }
        if out.chars().count() >= 300 {
            out.push('…');
            break;
        }
    }
    out.trim().to_owned()
}

#[cfg(test)]
mod tests {
    use super::excerpt;

    #[test]
    fn excerpts_strip_html_and_stay_short() {
        let page = b"<html><head><title>Error 409 a is not buildable</title></head>\n<body><h2>HTTP ERROR 409</h2></body></html>";
        assert_eq!(excerpt(page), "Error 409 a is not buildable HTTP ERROR 409");
        let long = "x".repeat(1000);
        assert_eq!(excerpt(long.as_bytes()).chars().count(), 301);
    }
}
