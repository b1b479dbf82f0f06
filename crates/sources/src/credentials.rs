//! Credentials read from files named in the config (never inline secrets).

use std::path::PathBuf;

use secrecy::{ExposeSecret, SecretString};
use serde::{Deserialize, Serialize};

use crate::Error;

/// A username plus the file holding the password or token.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct CredentialsConfig {
    /// User name (for tokens, whatever the server expects, e.g. `x-access-token`).
    pub username: String,
    /// File whose content (trimmed of trailing newlines) is the password or token.
    pub password_file: PathBuf,
}

/// Loaded credentials. `Debug` does not show the password.
#[derive(Clone)]
pub struct Credentials {
    /// User name.
    pub username: String,
    /// Password or token.
    pub password: SecretString,
}

impl std::fmt::Debug for Credentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Credentials")
            .field("username", &self.username)
            .field("password", &"[redacted]")
            .finish()
    }
}

impl Credentials {
    /// Credentials from values already in memory (tests, env).
    pub fn new(username: impl Into<String>, password: impl Into<String>) -> Self {
        Credentials {
            username: username.into(),
            password: SecretString::from(password.into()),
        }
    }

    /// `Basic` header value.
    pub(crate) fn basic_header(&self) -> String {
        use base64::Engine as _;
        let raw = format!("{}:{}", self.username, self.password.expose_secret());
        format!(
            "Basic {}",
            base64::engine::general_purpose::STANDARD.encode(raw)
        )
    }
}

impl CredentialsConfig {
    /// Reads the password file. An empty file is an error naming the file.
    pub fn load(&self) -> Result<Credentials, Error> {
        let raw = std::fs::read_to_string(&self.password_file).map_err(|source| Error::Io {
            action: "read password file",
            path: self.password_file.display().to_string(),
            source,
        })?;
        let password = raw.trim_end_matches(['\n', '\r']).to_string();
        if password.is_empty() {
            return Err(Error::Config {
                key: "password_file".into(),
                reason: format!(
                    "{} is empty; put the password or token in it",
                    self.password_file.display()
                ),
            });
        }
        Ok(Credentials {
            username: self.username.clone(),
            password: SecretString::from(password),
        })
    }
}
