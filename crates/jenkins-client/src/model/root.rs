//! Root (`/api/json`), `whoAmI`, `me` and the crumb issuer.

use serde::Deserialize;

use super::JobRef;

/// `/api/json` of the Jenkins root (`hudson.model.Hudson`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct RootInfo {
    /// Java class.
    #[serde(rename = "_class", default)]
    pub class: Option<String>,
    /// Whether CSRF crumbs are on.
    #[serde(default)]
    pub use_crumbs: bool,
    /// Whether security is on.
    #[serde(default)]
    pub use_security: bool,
    /// Configured root URL.
    #[serde(default)]
    pub url: Option<String>,
    /// NORMAL or EXCLUSIVE.
    #[serde(default)]
    pub mode: Option<String>,
    /// Executors on the built-in node.
    #[serde(default)]
    pub num_executors: Option<u32>,
    /// Whether Jenkins is quieting down (no new builds start).
    #[serde(default)]
    pub quieting_down: bool,
    /// Top-level jobs and folders.
    #[serde(default)]
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
    #[serde(default)]
    pub full_name: Option<String>,
    /// Absolute URL of the user page.
    #[serde(default)]
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
