//! Rights: which caller may take which action (`api.rights`, docs/operations.md "Rights").
//!
//! A valid token says who calls ([`super::auth::Caller`]); this module says what that caller
//! may do, in one place for the API and the dashboard: [`require`] answers 403 naming the
//! caller, the missing right and the config line that grants it, and logs the refusal.
//!
//! Policy: without `api.rights` every token has every right (existing installs keep working;
//! [`warn_if_open`] says so at start). With it, a caller has the rights listed under its name
//! (`*` = all) and everyone has `read`. With `api.auth: none` nothing is checked (config
//! validation refuses `api.rights` there).

use axum::extract::{MatchedPath, Request};
use axum::http::Method;

use super::AppState;
use super::error::ApiError;
use baton_core::config::api::{ApiAuth, ApiSettings, Right};

/// Whether `caller` has `right` under `settings`.
pub fn allowed(settings: &ApiSettings, caller: &str, right: Right) -> bool {
    let Some(rights) = &settings.rights else {
        return true;
    };
    settings.auth == ApiAuth::None
        || right == Right::Read
        || rights
            .get(caller)
            .is_some_and(|r| r.contains(&right) || r.contains(&Right::All))
}

/// `Ok` when `caller` has `right`; otherwise logs the refusal and gives the 403.
pub fn require(s: &AppState, caller: &str, right: Right) -> Result<(), ApiError> {
    if allowed(&s.config.config.api, caller, right) {
        return Ok(());
    }
    tracing::warn!(caller, action = %right, "refused: the caller lacks the right");
    Err(ApiError::Forbidden(format!(
        "caller {caller:?} lacks the right {right:?}; grant it in the daemon's config: add \
         {right} to api.rights.{caller} (e.g. `api: {{rights: {{{caller}: [{right}]}}}}`)",
        right = right.name()
    )))
}

/// What a `/v1` route needs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Need {
    /// This right.
    One(Right),
    /// Promote or stop, as the body says: [`super::promote::judge`] checks the one the body
    /// asks for (the API's promote and the dashboard's buttons both go through it).
    Judgment,
}

/// What the route `method path` (as the route table spells it) needs; `None` for a route this
/// module does not know, which [`check_route`] refuses (a new route must be given a right).
pub fn need(method: &Method, path: &str) -> Option<Need> {
    let last = path.rsplit('/').next().unwrap_or_default();
    match (method.as_str(), last) {
        ("GET", _) => Some(Need::One(Right::Read)),
        ("POST", "sync") => Some(Need::One(Right::Sync)),
        ("POST", "rebuild") => Some(Need::One(Right::Rebuild)),
        ("POST", "built") => Some(Need::One(Right::Built)),
        ("POST", "retry") => Some(Need::One(Right::Retry)),
        ("POST", "promote") => Some(Need::Judgment),
        ("DELETE", "{id}") if path.starts_with("/v1/outbox/") => Some(Need::One(Right::Drop)),
        _ => None,
    }
}

/// The check [`super::auth::require_token`] runs once the caller is known.
pub fn check_route(s: &AppState, caller: &str, request: &Request) -> Result<(), ApiError> {
    let path = request
        .extensions()
        .get::<MatchedPath>()
        .map_or_else(|| request.uri().path(), MatchedPath::as_str);
    match need(request.method(), path) {
        Some(Need::One(right)) => require(s, caller, right),
        // Which of the two depends on the body: judge() checks it once the body is read.
        Some(Need::Judgment) => Ok(()),
        None => {
            tracing::error!(caller, %path, "refused: the route has no right assigned");
            Err(ApiError::Forbidden(format!(
                "{path} has no right assigned in baton, so it is refused; report this as a bug"
            )))
        }
    }
}

/// Logs once, at start, that every token may do everything when `api.rights` is absent.
pub fn warn_if_open(settings: &ApiSettings) {
    if settings.auth == ApiAuth::Tokens && settings.rights.is_none() {
        tracing::warn!(
            "api.rights is not set: every API token may promote, stop, retry, drop, sync, rebuild \
             and report builds; restrict with api.rights (e.g. `api: {{rights: {{ci: [built, \
             sync, rebuild], alice: [promote, stop]}}}}`; see docs/operations.md)"
        );
    }
}

#[cfg(test)]
mod tests;
