//! Credentials for git remotes, chosen by URL prefix.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use crate::{Credentials, CredentialsConfig, Error};

/// `git.credentials[]`: the longest matching `url_prefix` wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitCredentialConfig {
    /// `https://github.com/acme/`.
    pub url_prefix: String,
    /// User name (`x-access-token` for GitHub app tokens).
    pub username: String,
    /// File holding the password or token.
    pub password_file: PathBuf,
}

/// Loads the credentials for `url`, if any prefix matches.
pub fn credentials_for(
    configs: &[GitCredentialConfig],
    url: &str,
) -> Result<Option<Credentials>, Error> {
    configs
        .iter()
        .filter(|c| url.starts_with(&c.url_prefix))
        .max_by_key(|c| c.url_prefix.len())
        .map(|c| {
            CredentialsConfig {
                username: c.username.clone(),
                password_file: c.password_file.clone(),
            }
            .load()
        })
        .transpose()
}
