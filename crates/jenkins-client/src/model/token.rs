//! API token generation (`POST /me/descriptorByName/jenkins.security.ApiTokenProperty/generateNewToken`).

use secrecy::SecretString;
use serde::Deserialize;

/// The answer of `generateNewToken`: Jenkins' `okJSON` envelope around the new token.
#[derive(Debug, Clone, Deserialize)]
#[non_exhaustive]
pub struct ApiTokenResponse {
    /// `ok` on success, `error` otherwise.
    pub status: String,
    /// The new token (absent when `status` is not `ok`).
    pub data: Option<GeneratedApiToken>,
    /// Error text Jenkins sends with `status: error`.
    pub message: Option<String>,
}

/// A freshly generated API token. Jenkins shows its value only this once; Debug redacts it.
#[derive(Debug, Clone, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct GeneratedApiToken {
    /// Name given (or Jenkins' "Token created on …" when the name was blank).
    pub token_name: String,
    /// Id for renaming or revoking the token.
    pub token_uuid: String,
    /// The token, to use as the password of Basic auth.
    pub token_value: SecretString,
}
