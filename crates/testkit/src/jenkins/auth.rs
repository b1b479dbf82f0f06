//! Basic authentication, permissions and crumbs, as Jenkins answers them.
//!
//! - A bad user or secret answers 401 with `WWW-Authenticate: Basic realm="Jenkins"` (Spring's
//!   `BasicAuthenticationEntryPoint` with realm "Jenkins", set up in `SecurityRealm`).
//! - Missing permission answers 403 with `X-You-Are-Authenticated-As`,
//!   `X-You-Are-In-Group-Disabled` and `X-Required-Permission` (`AccessDeniedException3`).
//! - POSTs need a crumb unless authenticated by API token (`ApiCrumbExclusion`); a missing or
//!   wrong crumb answers 403 "No valid crumb was included in the request" (`CrumbFilter`).
//!   Crumbs are tied to the user and the session (`DefaultCrumbIssuer`), so the crumb issuer
//!   starts a `JSESSIONID.<hash>` session when the caller has none.

use axum::http::HeaderMap;
use base64::Engine;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};

use super::spec::UserSpec;

/// Who is calling.
#[derive(Debug, Clone)]
pub(crate) enum Caller {
    Anonymous,
    User {
        name: String,
        via_token: bool,
        read_only: bool,
    },
}

impl Caller {
    pub fn name(&self) -> Option<&str> {
        match self {
            Caller::Anonymous => None,
            Caller::User { name, .. } => Some(name),
        }
    }

    /// Name as Jenkins reports it in `X-You-Are-Authenticated-As`.
    pub fn shown(&self) -> &str {
        self.name().unwrap_or("anonymous")
    }
}

/// Checks the `Authorization` header against the users' configured tokens and passwords and the
/// tokens generated since start (`generated`: user, token); `Err(user)` means 401 for that user.
pub(crate) fn authenticate(
    headers: &HeaderMap,
    users: &[UserSpec],
    generated: &[(String, SecretString)],
) -> Result<Caller, String> {
    let Some(value) = headers.get(http::header::AUTHORIZATION) else {
        return Ok(Caller::Anonymous);
    };
    let text = value.to_str().unwrap_or_default();
    let Some(encoded) = text.strip_prefix("Basic ") else {
        return Err(String::new());
    };
    let decoded = base64::engine::general_purpose::STANDARD
        .decode(encoded.trim())
        .ok()
        .and_then(|b| String::from_utf8(b).ok())
        .unwrap_or_default();
    let (user, secret) = decoded.split_once(':').unwrap_or((decoded.as_str(), ""));
    let Some(spec) = users.iter().find(|u| u.name == user) else {
        return Err(user.to_owned());
    };
    let token_ok = constant_eq(spec.api_token.expose_secret(), secret)
        || generated
            .iter()
            .any(|(u, t)| u == user && constant_eq(t.expose_secret(), secret));
    let password_ok = spec
        .password
        .as_ref()
        .is_some_and(|p| constant_eq(p.expose_secret(), secret));
    if !token_ok && !password_ok {
        return Err(user.to_owned());
    }
    Ok(Caller::User {
        name: user.to_owned(),
        via_token: token_ok,
        read_only: spec.read_only,
    })
}

/// Comparison whose time does not depend on where the inputs differ (length still shows).
fn constant_eq(a: &str, b: &str) -> bool {
    a.len() == b.len()
        && a.bytes()
            .zip(b.bytes())
            .fold(0u8, |acc, (x, y)| acc | (x ^ y))
            == 0
}

/// The session id from a `JSESSIONID.*` cookie, if any.
pub(crate) fn session(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(http::header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|pair| pair.trim().split_once('='))
        .find(|(k, _)| k.starts_with("JSESSIONID."))
        .map(|(_, v)| v.to_owned())
}

/// The crumb for a user in a session.
pub(crate) fn crumb(salt: &str, user: &str, session: &str) -> String {
    let mut h = Sha256::new();
    h.update(format!("{user};{session}").as_bytes());
    h.update(salt.as_bytes());
    hex::encode(h.finalize())
}
