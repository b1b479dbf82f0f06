//! Secrets named by `*_file` keys, read once at startup into [`SecretString`]s. Their values
//! never appear in `Debug`, errors or logs; problems name the key and the file only.

use std::path::Path;

use secrecy::SecretString;

use super::model::GateAuth;
use super::{ConfigError, Loaded, Problem};

/// Every secret the config names.
#[derive(Debug, Default)]
pub struct Secrets {
    /// API bearer tokens (one per line of `api_tokens_file`).
    pub api_tokens: Vec<SecretString>,
    /// Jenkins API token.
    pub jenkins_token: Option<SecretString>,
    /// Gate password (basic) or token (bearer), or the client key (x509).
    pub gate: Option<SecretString>,
    /// Registry passwords, by `registries[]` index.
    pub registry_passwords: Vec<Option<SecretString>>,
    /// Git passwords, by `git.credentials[]` index.
    pub git_passwords: Vec<SecretString>,
    /// HMAC secret of push webhooks.
    pub webhook_secret: Option<SecretString>,
    /// Receiver URLs of `notifications.targets[]` (inline or from `url_file`), by index.
    pub notify_urls: Vec<Option<SecretString>>,
}

impl Secrets {
    /// Reads every secret file; reports all unreadable or empty ones at once.
    pub fn load(loaded: &Loaded) -> Result<Self, ConfigError> {
        let c = &loaded.config;
        let mut problems = Vec::new();
        let mut read = |key: &str, path: &Path| -> Option<SecretString> {
            match read_secret(path) {
                Ok(s) => Some(s),
                Err(e) => {
                    problems.push(Problem::new(key, e));
                    None
                }
            }
        };
        let mut s = Secrets::default();
        if let Some(path) = &c.api_tokens_file
            && let Some(all) = read("api_tokens_file", path)
        {
            use secrecy::ExposeSecret;
            s.api_tokens = all
                .expose_secret()
                .lines()
                .map(str::trim)
                .filter(|l| !l.is_empty() && !l.starts_with('#'))
                .map(|l| SecretString::from(l.to_owned()))
                .collect();
        }
        if let Some(j) = &c.jenkins {
            s.jenkins_token = read("jenkins.token_file", &j.token_file);
        }
        if let Some(sp) = &c.spinnaker {
            s.gate = match &sp.auth {
                GateAuth::None => None,
                GateAuth::Basic { password_file, .. } => {
                    read("spinnaker.auth.password_file", password_file)
                }
                GateAuth::Bearer { token_file } => read("spinnaker.auth.token_file", token_file),
                GateAuth::X509 {
                    cert_file,
                    key_file,
                } => {
                    read("spinnaker.auth.cert_file", cert_file);
                    read("spinnaker.auth.key_file", key_file)
                }
            };
        }
        for (i, r) in c.registries.iter().enumerate() {
            let v = r
                .password_file
                .as_ref()
                .and_then(|p| read(&format!("registries[{i}].password_file"), p));
            s.registry_passwords.push(v);
        }
        if let Some(g) = &c.git {
            for (i, cred) in g.credentials.iter().enumerate() {
                if let Some(v) = read(
                    &format!("git.credentials[{i}].password_file"),
                    &cred.password_file,
                ) {
                    s.git_passwords.push(v);
                }
            }
            if let Some(p) = &g.webhook_secret_file {
                s.webhook_secret = read("git.webhook_secret_file", p);
            }
        }
        let mut bad_urls = Vec::new();
        for (i, t) in c.notifications.targets.iter().enumerate() {
            let url = match (&t.url, &t.url_file) {
                (Some(u), _) => Some(SecretString::from(u.as_str().to_owned())),
                (None, Some(p)) => {
                    let key = format!("notifications.targets[{i}].url_file");
                    read(&key, p).and_then(|u| {
                        use secrecy::ExposeSecret;
                        // The URL is the credential: the problem names the file, never the text.
                        match super::notifications::parse_url(u.expose_secret()) {
                            Ok(_) => Some(u),
                            Err(e) => {
                                bad_urls.push(Problem::new(
                                    key,
                                    format!(
                                        "the URL in {} {e} (its text is not shown: it is a secret)",
                                        p.display()
                                    ),
                                ));
                                None
                            }
                        }
                    })
                }
                (None, None) => None,
            };
            s.notify_urls.push(url);
        }
        problems.extend(bad_urls);
        if c.api_tokens_file.is_none() && c.api.auth == super::api::ApiAuth::Tokens {
            problems.push(Problem::new(
                "api_tokens_file",
                "is required: /v1 takes bearer tokens; name a file with one token per line, or \
                 set `api: {auth: none}` to serve /v1 without authentication (anyone who reaches \
                 the port can then trigger builds and promote)",
            ));
        }
        if c.api_tokens_file.is_some() && s.api_tokens.is_empty() && problems.is_empty() {
            problems.push(Problem::new(
                "api_tokens_file",
                "holds no token; write one token per line",
            ));
        }
        if let Some(rights) = &c.api.rights
            && c.api_tokens_file.is_some()
            && problems.is_empty()
        {
            let names = crate::tokens::Tokens::new(&s.api_tokens).names().to_vec();
            problems.extend(super::api::unknown_callers(rights, &names));
        }
        if problems.is_empty() {
            Ok(s)
        } else {
            Err(ConfigError {
                file: loaded.file.clone(),
                problems,
            })
        }
    }
}

/// Reads one secret file, trimming surrounding whitespace (editors add a final newline).
pub fn read_secret(path: &Path) -> Result<SecretString, String> {
    let text = std::fs::read_to_string(path).map_err(|e| {
        format!(
            "cannot read {}: {e}; create it or fix the path",
            path.display()
        )
    })?;
    let trimmed = text.trim();
    if trimmed.is_empty() {
        return Err(format!(
            "{} is empty; write the secret into it",
            path.display()
        ));
    }
    Ok(SecretString::from(trimmed.to_owned()))
}
