//! The Gate client: construction, authentication and the request plumbing.
//!
//! The calls themselves live in [`calls`] (webhooks, executions, pipelines) and [`waiting`]
//! (deadlines, judgments).

mod calls;
mod waiting;

use std::sync::Arc;
use std::time::Duration;

use baton_http::RequestError;
use baton_http::body::BodyError;
use bytes::Bytes;
use reqwest::{Method, StatusCode};
use secrecy::{ExposeSecret, SecretString};
use serde::Serialize;
use url::Url;

use crate::error::{ApiErrorKind, Error, KorkError};

pub use waiting::{Judgment, JudgmentGiven};

/// How the client authenticates to Gate.
#[derive(Clone, Debug, Default)]
#[non_exhaustive]
pub enum Auth {
    /// No authentication.
    #[default]
    None,
    /// HTTP Basic on every request.
    Basic {
        /// User name.
        user: String,
        /// Password.
        password: SecretString,
    },
    /// `Authorization: Bearer <token>` on every request.
    Bearer {
        /// The token.
        token: SecretString,
    },
    /// X.509 client certificate (mutual TLS through rustls).
    X509 {
        /// PEM with the certificate chain and the private key.
        pem: SecretString,
    },
    /// Form login (`POST /login` with `username` and `password`) and a session cookie, as Gate
    /// does for LDAP and basic-form setups. The client logs in on first use and again once
    /// when the session expires (a 401).
    FormLogin {
        /// User name.
        user: String,
        /// Password.
        password: SecretString,
    },
}

pub use baton_http::install_crypto_provider;

/// Builds a [`Client`].
#[derive(Debug)]
pub struct ClientBuilder {
    base: String,
    auth: Auth,
    timeout: Duration,
    connect_timeout: Duration,
    extra_root_pem: Option<Vec<u8>>,
}

impl ClientBuilder {
    /// Authentication (default: none).
    pub fn auth(mut self, auth: Auth) -> Self {
        self.auth = auth;
        self
    }

    /// Whole-request timeout (default 30 s).
    pub fn timeout(mut self, timeout: Duration) -> Self {
        self.timeout = timeout;
        self
    }

    /// Connect timeout (default 10 s).
    pub fn connect_timeout(mut self, timeout: Duration) -> Self {
        self.connect_timeout = timeout;
        self
    }

    /// Trusts this PEM CA certificate in addition to the system roots.
    pub fn root_certificate_pem(mut self, pem: Vec<u8>) -> Self {
        self.extra_root_pem = Some(pem);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<Client, Error> {
        install_crypto_provider();
        let mut base = Url::parse(&self.base).map_err(|source| Error::InvalidUrl {
            url: self.base.clone(),
            source,
        })?;
        if !base.path().ends_with('/') {
            let path = format!("{}/", base.path());
            base.set_path(&path);
        }
        let setup = |what: &str| {
            let what = what.to_owned();
            move |source| Error::Setup { what, source }
        };
        let http = baton_http::client_builder(
            concat!("baton-spinnaker-client/", env!("CARGO_PKG_VERSION")),
            self.timeout,
        )
        .connect_timeout(self.connect_timeout)
        .cookie_store(matches!(self.auth, Auth::FormLogin { .. }));
        let tls_error = |what| move |source| Error::Tls { what, source };
        let mut tls = baton_http::tls::ClientTls::default();
        if let Auth::X509 { pem } = &self.auth {
            tls = tls
                .identity_pem(pem.expose_secret().as_bytes())
                .map_err(tls_error("client certificate"))?;
        }
        if let Some(pem) = &self.extra_root_pem {
            tls = tls
                .extra_roots_pem(pem)
                .map_err(tls_error("CA certificate"))?;
        }
        let http = tls.apply(http).map_err(tls_error("TLS"))?;
        let http = http.build().map_err(setup("HTTP client"))?;
        Ok(Client {
            inner: Arc::new(Inner {
                http,
                base,
                auth: self.auth,
                session: tokio::sync::Mutex::new(false),
            }),
        })
    }
}

/// An async client for Spinnaker Gate. Cheap to clone.
#[derive(Clone)]
pub struct Client {
    inner: Arc<Inner>,
}

struct Inner {
    http: reqwest::Client,
    base: Url,
    auth: Auth,
    /// Whether a form-login session is believed to be open.
    session: tokio::sync::Mutex<bool>,
}

impl std::fmt::Debug for Client {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Client")
            .field("base", &self.inner.base.as_str())
            .field("auth", &self.inner.auth)
            .finish()
    }
}

impl Client {
    /// Starts building a client for the Gate at `base_url`.
    pub fn builder(base_url: impl Into<String>) -> ClientBuilder {
        ClientBuilder {
            base: base_url.into(),
            auth: Auth::None,
            timeout: Duration::from_secs(30),
            connect_timeout: Duration::from_secs(10),
            extra_root_pem: None,
        }
    }

    /// The Gate base URL.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    fn url(&self, segments: &[&str], query: &[(&str, &str)]) -> Url {
        let mut url = self.inner.base.clone();
        url.path_segments_mut()
            .expect("base URL was checked to be a http(s) URL")
            .pop_if_empty()
            .extend(segments);
        if !query.is_empty() {
            url.query_pairs_mut().extend_pairs(query);
        }
        url
    }

    async fn login(&self, session: &mut bool) -> Result<(), Error> {
        let Auth::FormLogin { user, password } = &self.inner.auth else {
            return Ok(());
        };
        let url = self.url(&["login"], &[]);
        let form = [
            ("username", user.as_str()),
            ("password", password.expose_secret()),
        ];
        let resp = self
            .inner
            .http
            .post(url.clone())
            .form(&form)
            .send()
            .await
            .map_err(|source| transport("POST", &url, source))?;
        let refused_by_redirect = resp
            .headers()
            .get(reqwest::header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .is_some_and(|l| l.contains("error"));
        let status = resp.status();
        if refused_by_redirect || !(status.is_success() || status.is_redirection()) {
            *session = false;
            return Err(Error::LoginRefused {
                url: url.to_string(),
                user: user.clone(),
            });
        }
        *session = true;
        Ok(())
    }

    /// Sends a request and returns the body of a 2xx answer.
    async fn send<B: Serialize + ?Sized>(
        &self,
        method: Method,
        url: Url,
        json: Option<&B>,
    ) -> Result<Bytes, Error> {
        let form_login = matches!(self.inner.auth, Auth::FormLogin { .. });
        if form_login {
            let mut session = self.inner.session.lock().await;
            if !*session {
                self.login(&mut session).await?;
            }
        }
        let mut relogged = false;
        loop {
            let mut req = self.inner.http.request(method.clone(), url.clone());
            req = match &self.inner.auth {
                Auth::Basic { user, password } => {
                    req.basic_auth(user, Some(password.expose_secret()))
                }
                Auth::Bearer { token } => req.bearer_auth(token.expose_secret()),
                _ => req,
            };
            if let Some(body) = json {
                req = req.json(body);
            }
            let resp = req
                .send()
                .await
                .map_err(|source| transport(method.as_str(), &url, source))?;
            let status = resp.status();
            // An expired form-login session shows as 401, or as a redirect to the login page.
            let to_login = status.is_redirection()
                && resp
                    .headers()
                    .get(reqwest::header::LOCATION)
                    .and_then(|l| l.to_str().ok())
                    .is_some_and(|l| l.contains("/login"));
            if (status == StatusCode::UNAUTHORIZED || to_login) && form_login && !relogged {
                relogged = true;
                self.login(&mut *self.inner.session.lock().await).await?;
                continue;
            }
            let retry_after = baton_http::retry::retry_after_header(resp.headers());
            let body = baton_http::body::read_limited(resp, MAX_BODY)
                .await
                .map_err(|e| body_error(method.as_str(), &url, e))?;
            if status.is_success() {
                return Ok(body);
            }
            let mut e = api_error(method.as_str(), &url, status.as_u16(), &body);
            if let Error::Api { retry_after: r, .. } = &mut e {
                *r = retry_after;
            }
            return Err(e);
        }
    }
}

fn redacted(url: &Url) -> String {
    let mut url = url.clone();
    let _ = url.set_password(None);
    let _ = url.set_username("");
    url.to_string()
}

/// Largest answer read from Gate: an `executions/search` page with its stages fits easily;
/// anything bigger is a proxy's error page or a misrouted download.
const MAX_BODY: u64 = 64 << 20;

fn body_error(method: &str, url: &Url, e: BodyError) -> Error {
    match e {
        BodyError::Transport(source) => transport(method, url, source),
        e => RequestError::body(method, redacted(url), e).into(),
    }
}

fn transport(method: &str, url: &Url, source: reqwest::Error) -> Error {
    RequestError::transport(method, redacted(url), source.without_url()).into()
}

fn api_error(method: &str, url: &Url, status: u16, body: &[u8]) -> Error {
    let kork: Option<KorkError> = serde_json::from_slice(body)
        .ok()
        .filter(|k: &KorkError| k.message.is_some() || k.error.is_some());
    let message = kork
        .as_ref()
        .and_then(|k| k.message.clone().or_else(|| k.error.clone()))
        .unwrap_or_else(|| {
            let text = String::from_utf8_lossy(body);
            let text = text.trim();
            if text.is_empty() {
                "(empty body)".to_owned()
            } else {
                text.chars().take(300).collect()
            }
        });
    Error::Api {
        method: method.to_owned(),
        url: redacted(url),
        status,
        kind: ApiErrorKind::of(status),
        message,
        body: kork.map(Box::new),
        retry_after: None,
    }
}
