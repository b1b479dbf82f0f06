//! Credentials for git remotes, chosen by URL prefix: a user and password file for HTTP, a key
//! file (and known-hosts file) for ssh.

use std::path::PathBuf;

use serde::{Deserialize, Serialize};

use super::command::{Git, SshAuth};
use crate::{Credentials, CredentialsConfig, Error};

/// `git.credentials[]`: the longest matching `url_prefix` wins.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct GitCredentialConfig {
    /// `https://github.com/acme/` or `ssh://git@github.com/acme/`.
    pub url_prefix: String,
    /// HTTP user name (`x-access-token` for GitHub app tokens).
    pub username: Option<String>,
    /// File holding the HTTP password or token.
    pub password_file: Option<PathBuf>,
    /// Private key for ssh remotes.
    pub ssh_key_file: Option<PathBuf>,
    /// known_hosts for ssh remotes (default: the user's); unknown host keys are refused.
    pub known_hosts_file: Option<PathBuf>,
}

fn best<'a>(configs: &'a [GitCredentialConfig], url: &str) -> Option<&'a GitCredentialConfig> {
    configs
        .iter()
        .filter(|c| url.starts_with(&c.url_prefix))
        .max_by_key(|c| c.url_prefix.len())
}

/// Loads the HTTP credentials for `url`, if the best matching prefix has them.
pub fn credentials_for(
    configs: &[GitCredentialConfig],
    url: &str,
) -> Result<Option<Credentials>, Error> {
    let Some(c) = best(configs, url) else {
        return Ok(None);
    };
    match (&c.username, &c.password_file) {
        (Some(username), Some(password_file)) => CredentialsConfig {
            username: username.clone(),
            password_file: password_file.clone(),
        }
        .load()
        .map(Some),
        (None, None) => Ok(None),
        _ => Err(Error::Config {
            key: format!("git.credentials[{}]", c.url_prefix),
            reason: "username and password_file go together; set both or neither".into(),
        }),
    }
}

/// A [`Git`] runner carrying the credentials configured for `url` (HTTP and ssh).
pub fn git_for(configs: &[GitCredentialConfig], url: &str, base: Git) -> Result<Git, Error> {
    let mut git = base.with_credentials(credentials_for(configs, url)?);
    if let Some(c) = best(configs, url)
        && let Some(key) = &c.ssh_key_file
    {
        for f in std::iter::once(key).chain(c.known_hosts_file.as_ref()) {
            if !f.is_file() {
                return Err(Error::Config {
                    key: format!("git.credentials[{}]", c.url_prefix),
                    reason: format!("{} is not a readable file", f.display()),
                });
            }
        }
        git.ssh = Some(SshAuth {
            key_file: key.clone(),
            known_hosts_file: c.known_hosts_file.clone(),
        });
    }
    Ok(git)
}
