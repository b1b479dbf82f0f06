//! The git hosts that send push webhooks, and the headers each one uses.

use std::fmt;
use std::str::FromStr;

use http::HeaderMap;

use super::error::HookError;

/// A git host whose push webhooks baton accepts, named by the last path segment of
/// `POST /hooks/{provider}`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, utoipa::ToSchema)]
#[schema(rename_all = "lowercase")]
pub enum Provider {
    /// GitHub and GitHub Enterprise: `X-Hub-Signature-256: sha256=<hex HMAC-SHA256>`.
    GitHub,
    /// GitLab: `X-Gitlab-Token` carries the shared secret itself.
    GitLab,
    /// Gitea (and Forgejo): `X-Gitea-Signature: <hex HMAC-SHA256>` without a prefix.
    Gitea,
    /// Bitbucket Data Center (`repo:refs_changed`) and Cloud (`repo:push`):
    /// `X-Hub-Signature: sha256=<hex HMAC-SHA256>`.
    Bitbucket,
}

impl Provider {
    /// Every provider, in a fixed order (used to index counters).
    pub const ALL: [Provider; 4] = [
        Provider::GitHub,
        Provider::GitLab,
        Provider::Gitea,
        Provider::Bitbucket,
    ];

    /// The name used in the URL path and in metric labels.
    pub fn as_str(self) -> &'static str {
        match self {
            Provider::GitHub => "github",
            Provider::GitLab => "gitlab",
            Provider::Gitea => "gitea",
            Provider::Bitbucket => "bitbucket",
        }
    }

    /// Position in [`Provider::ALL`].
    pub(crate) fn index(self) -> usize {
        self as usize
    }

    /// The header naming the kind of event (`push`, `ping`, `Push Hook`, `repo:refs_changed`).
    pub fn event_header(self) -> &'static str {
        match self {
            Provider::GitHub => "x-github-event",
            Provider::GitLab => "x-gitlab-event",
            Provider::Gitea => "x-gitea-event",
            Provider::Bitbucket => "x-event-key",
        }
    }

    /// The headers carrying a delivery id that stays the same when the host redelivers the
    /// same event, most specific first. GitLab sends `Idempotency-Key` since 17.4 (kept on
    /// retries) and `X-Gitlab-Event-UUID` before that; Bitbucket Data Center sends
    /// `X-Request-Id`, Bitbucket Cloud `X-Request-UUID` (kept on retries).
    pub fn delivery_headers(self) -> &'static [&'static str] {
        match self {
            Provider::GitHub => &["x-github-delivery"],
            Provider::GitLab => &["idempotency-key", "x-gitlab-event-uuid"],
            Provider::Gitea => &["x-gitea-delivery"],
            Provider::Bitbucket => &["x-request-id", "x-request-uuid"],
        }
    }

    /// The event kind sent by this request, if the header is present and readable.
    pub fn event_kind(self, headers: &HeaderMap) -> Option<String> {
        header_str(headers, self.event_header()).map(str::to_owned)
    }

    /// The delivery id of this request, if the host sent one.
    pub fn delivery_id(self, headers: &HeaderMap) -> Option<String> {
        self.delivery_headers()
            .iter()
            .find_map(|name| header_str(headers, name))
            .map(str::to_owned)
    }
}

impl fmt::Display for Provider {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Provider {
    type Err = HookError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Provider::ALL
            .into_iter()
            .find(|p| p.as_str() == s)
            .ok_or_else(|| HookError::UnknownProvider(s.to_owned()))
    }
}

/// A header's value as trimmed, non-empty text.
pub(crate) fn header_str<'h>(headers: &'h HeaderMap, name: &str) -> Option<&'h str> {
    headers
        .get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::trim)
        .filter(|v| !v.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_round_trip_and_unknown_is_an_error() {
        for p in Provider::ALL {
            assert_eq!(p.as_str().parse::<Provider>().unwrap(), p);
            assert_eq!(Provider::ALL[p.index()], p);
        }
        let err = "svn".parse::<Provider>().unwrap_err();
        assert!(err.to_string().contains("svn"), "{err}");
        assert!(err.to_string().contains("github"), "{err}");
    }

    #[test]
    fn gitlab_prefers_the_idempotency_key() {
        let mut h = HeaderMap::new();
        h.insert("x-gitlab-event-uuid", "event-1".parse().unwrap());
        assert_eq!(Provider::GitLab.delivery_id(&h).as_deref(), Some("event-1"));
        h.insert("idempotency-key", "idem-1".parse().unwrap());
        assert_eq!(Provider::GitLab.delivery_id(&h).as_deref(), Some("idem-1"));
        h.insert("idempotency-key", "  ".parse().unwrap());
        assert_eq!(Provider::GitLab.delivery_id(&h).as_deref(), Some("event-1"));
    }
}
