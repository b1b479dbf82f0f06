//! A request that got no usable answer, said the same way by every client: no answer at all
//! (connect, TLS, timeout, reset), or one larger than the client reads. What a client makes of
//! an answer it did read (Jenkins' crumbs, Gate's kork errors) stays in that client's error.

use crate::body::BodyError;

/// A request that got no usable answer. The Jenkins and Spinnaker clients wrap it as their
/// `Error::Request`; its URL has no credentials.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum RequestError {
    /// Connecting, sending or reading failed (includes timeouts and resets). The cause is
    /// the `source`, not part of this text: print it with [`chain`](crate::chain).
    #[error("{method} {url}")]
    Transport {
        /// HTTP method.
        method: String,
        /// URL called, without credentials.
        url: String,
        /// The cause; `source.is_timeout()` tells timeouts apart.
        #[source]
        source: reqwest::Error,
    },
    /// The answer was larger than the client reads (a huge page, a proxy's error page, a
    /// misrouted download).
    #[error("{method} {url}: the answer is larger than {limit} bytes")]
    TooLarge {
        /// HTTP method.
        method: String,
        /// URL called, without credentials.
        url: String,
        /// The limit in bytes.
        limit: u64,
    },
}

impl RequestError {
    /// Sending `method url` failed with `source`.
    pub fn transport(method: &str, url: impl Into<String>, source: reqwest::Error) -> Self {
        Self::Transport {
            method: method.to_owned(),
            url: url.into(),
            source,
        }
    }

    /// Reading the answer to `method url` with [`read_limited`](crate::body::read_limited)
    /// failed with `e`.
    pub fn body(method: &str, url: impl Into<String>, e: BodyError) -> Self {
        match e {
            BodyError::Transport(source) => Self::transport(method, url, source),
            BodyError::TooLarge { limit } => Self::TooLarge {
                method: method.to_owned(),
                url: url.into(),
                limit,
            },
        }
    }

    /// The HTTP status the cause carries, if any.
    pub fn status(&self) -> Option<u16> {
        match self {
            Self::Transport { source, .. } => source.status().map(|s| s.as_u16()),
            Self::TooLarge { .. } => None,
        }
    }

    /// Whether trying again later may help: a transport failure may, a too large answer
    /// will be as large again.
    pub fn is_transient(&self) -> bool {
        matches!(self, Self::Transport { .. })
    }

    /// Whether the request ran past its timeout.
    pub fn is_timeout(&self) -> bool {
        matches!(self, Self::Transport { source, .. } if source.is_timeout())
    }
}
