//! Per-registry configuration.

use std::path::PathBuf;
use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::{Credentials, CredentialsConfig, Error};

/// How baton talks to one registry (`registries[]` in the config).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RegistryConfig {
    /// Host as it appears in image references (`docker.io`, `127.0.0.1:5000`).
    pub host: String,
    /// User name for Basic auth or the token endpoint.
    pub username: Option<String>,
    /// File holding the password or token.
    pub password_file: Option<PathBuf>,
    /// Plain HTTP. Test rigs only.
    #[serde(default)]
    pub insecure: bool,
    /// Requests in flight at once to this registry.
    #[serde(default = "default_concurrency")]
    pub max_concurrency: usize,
    /// Optional request budget: at most `requests` per `per`.
    pub budget: Option<RequestBudget>,
    /// Timeout of one HTTP request.
    #[serde(default = "default_timeout", with = "humantime_serde")]
    pub timeout: Duration,
    /// Retries after 5xx / transport errors / short 429s.
    #[serde(default = "default_retries")]
    pub max_retries: u32,
    /// Other hosts (`host[:port]`; without a port, any port) that may receive the credentials
    /// when a token challenge names them as its realm, e.g. a separate auth service. Without
    /// this, credentials go only to the registry's own host (and Docker Hub's to
    /// `auth.docker.io`).
    #[serde(default)]
    pub token_hosts: Vec<String>,
    /// Send credentials over plain HTTP to a host that is not loopback. Off: they would cross
    /// the network readable by anyone on the path.
    #[serde(default)]
    pub credentials_over_http: bool,
}

/// A request budget for one registry.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct RequestBudget {
    /// Requests allowed per window.
    pub requests: u32,
    /// Window length.
    #[serde(with = "humantime_serde")]
    pub per: Duration,
}

fn default_concurrency() -> usize {
    8
}
fn default_timeout() -> Duration {
    Duration::from_secs(20)
}
fn default_retries() -> u32 {
    3
}

impl RegistryConfig {
    /// Anonymous HTTPS access with defaults.
    pub fn anonymous(host: impl Into<String>) -> Self {
        RegistryConfig {
            host: host.into(),
            username: None,
            password_file: None,
            insecure: false,
            max_concurrency: default_concurrency(),
            budget: None,
            timeout: default_timeout(),
            max_retries: default_retries(),
            token_hosts: Vec::new(),
            credentials_over_http: false,
        }
    }

    /// Reads the password file, if credentials are configured.
    pub fn credentials(&self) -> Result<Option<Credentials>, Error> {
        match (&self.username, &self.password_file) {
            (None, None) => Ok(None),
            (Some(username), Some(password_file)) => CredentialsConfig {
                username: username.clone(),
                password_file: password_file.clone(),
            }
            .load()
            .map(Some),
            _ => Err(Error::Config {
                key: format!("registries[{}]", self.host),
                reason: "username and password_file go together; set both or neither".into(),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_design_examples_parse() {
        let yaml = "- host: docker.wso2.com\n  username: me\n  password_file: /etc/baton/wso2-password\n- host: 127.0.0.1:5000\n  insecure: true\n  budget: {requests: 100, per: 6h}\n";
        let regs: Vec<RegistryConfig> = serde_saphyr::from_str(yaml).expect("parse");
        assert_eq!(regs[0].username.as_deref(), Some("me"));
        assert_eq!(regs[0].timeout, Duration::from_secs(20));
        assert!(regs[1].insecure && regs[1].username.is_none());
        assert_eq!(
            regs[1].budget,
            Some(RequestBudget {
                requests: 100,
                per: Duration::from_secs(6 * 3600)
            })
        );
        let err = serde_saphyr::from_str::<Vec<RegistryConfig>>("- host: x\n  password: inline\n")
            .expect_err("inline secret");
        assert!(err.to_string().contains("password"), "{err}");
    }

    #[test]
    fn half_configured_credentials_are_refused() {
        let mut c = RegistryConfig::anonymous("r.example.com");
        c.username = Some("me".into());
        let err = c.credentials().expect_err("no password file").to_string();
        assert!(
            err.contains("registries[r.example.com]") && err.contains("password_file"),
            "{err}"
        );
        c.password_file = Some("/nonexistent/baton-password".into());
        let err = c.credentials().expect_err("missing file").to_string();
        assert!(err.contains("/nonexistent/baton-password"), "{err}");
    }
}
