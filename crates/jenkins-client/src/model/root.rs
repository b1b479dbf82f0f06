//! Root (`/api/json`), `whoAmI`, `me` and the crumb issuer.

use serde::Deserialize;

use super::JobRef;

/// `/api/json` of the Jenkins root (`hudson.model.Hudson`).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct RootInfo {
    /// Java class.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Whether CSRF crumbs are on.
    pub use_crumbs: bool,
    /// Whether security is on.
    pub use_security: bool,
    /// Configured root URL.
    pub url: Option<String>,
    /// NORMAL or EXCLUSIVE.
    pub mode: Option<String>,
    /// Executors on the built-in node.
    pub num_executors: Option<u32>,
    /// Whether Jenkins is quieting down (no new builds start).
    pub quieting_down: bool,
    /// Top-level jobs and folders.
    pub jobs: Vec<JobRef>,
}

/// `/whoAmI/api/json` (`hudson.security.WhoAmI`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct WhoAmI {
    /// User name ("anonymous" when not logged in).
    pub name: String,
    /// Whether the caller is anonymous.
    #[serde(default)]
    pub anonymous: bool,
    /// Whether the caller is authenticated.
    #[serde(default)]
    pub authenticated: bool,
    /// Granted authorities.
    #[serde(default)]
    pub authorities: Vec<String>,
}

/// A user (`/me/api/json`, `/user/X/api/json`).
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct User {
    /// User id.
    pub id: String,
    /// Full name.
    pub full_name: Option<String>,
    /// Absolute URL of the user page.
    pub absolute_url: Option<String>,
}

/// `/crumbIssuer/api/json`.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Crumb {
    /// The crumb value.
    pub crumb: String,
    /// Header (or form field) to send it in, usually `Jenkins-Crumb`.
    pub crumb_request_field: String,
}
