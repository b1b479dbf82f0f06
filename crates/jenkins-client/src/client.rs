//! The client, its builder, and the request path every call goes through: preemptive Basic
//! auth, a per-request timeout, crumb retry on 403 "No valid crumb", and status mapping.

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use baton_http::RequestError;
use reqwest::{Method, StatusCode, header::HeaderMap};
use secrecy::{ExposeSecret, SecretString};
use url::Url;

use crate::Error;
use crate::error::excerpt;
use crate::model::{self, Crumb};

/// Default per-request timeout.
pub const DEFAULT_TIMEOUT: Duration = Duration::from_secs(30);

/// Default connect timeout.
pub const DEFAULT_CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Largest answer read from Jenkins: a build with its actions or a console chunk fits easily;
/// anything bigger is refused rather than buffered.
pub const MAX_BODY: u64 = 64 << 20;

/// An async Jenkins client. Cheap to clone; clones share the crumb and the connection pool.
#[derive(Clone)]
pub struct JenkinsClient {
    pub(crate) inner: Arc<Inner>,
}

pub(crate) struct Inner {
    pub http: reqwest::Client,
    pub base: Url,
    pub user: Option<String>,
    pub token: Option<SecretString>,
    pub timeout: Duration,
    pub crumb: tokio::sync::Mutex<Option<Crumb>>,
}

impl fmt::Debug for JenkinsClient {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JenkinsClient")
            .field("base", &self.inner.base.as_str())
            .field("user", &self.inner.user)
            .field("token", &self.inner.token.as_ref().map(|_| "[REDACTED]"))
            .finish_non_exhaustive()
    }
}

/// Builds a [`JenkinsClient`].
pub struct JenkinsClientBuilder {
    base: String,
    user: Option<String>,
    token: Option<SecretString>,
    timeout: Duration,
    connect_timeout: Duration,
    user_agent: String,
    http: Option<reqwest::Client>,
}

impl fmt::Debug for JenkinsClientBuilder {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("JenkinsClientBuilder")
            .field("base", &self.base)
            .field("user", &self.user)
            .field("token", &self.token.as_ref().map(|_| "[REDACTED]"))
            .field("timeout", &self.timeout)
            .finish_non_exhaustive()
    }
}

impl JenkinsClientBuilder {
    /// User and API token, sent preemptively as Basic auth on every request.
    pub fn credentials(mut self, user: impl Into<String>, token: SecretString) -> Self {
        self.user = Some(user.into());
        self.token = Some(token);
        self
    }

    /// Per-request timeout (default 30 s); applied to an injected client too.
    pub fn timeout(mut self, d: Duration) -> Self {
        self.timeout = d;
        self
    }

    /// Connect timeout (default 10 s); ignored with an injected client.
    pub fn connect_timeout(mut self, d: Duration) -> Self {
        self.connect_timeout = d;
        self
    }

    /// User agent (default `baton-jenkins-client/<version>`); ignored with an injected client.
    pub fn user_agent(mut self, ua: impl Into<String>) -> Self {
        self.user_agent = ua.into();
        self
    }

    /// Uses this `reqwest::Client`. It must not follow redirects (`redirect::Policy::none()`),
    /// or 303 answers cannot be seen, and needs a cookie store for crumbs with password auth.
    pub fn http_client(mut self, client: reqwest::Client) -> Self {
        self.http = Some(client);
        self
    }

    /// Builds the client.
    pub fn build(self) -> Result<JenkinsClient, Error> {
        let base = parse_base(&self.base)?;
        let http = match self.http {
            Some(c) => c,
            None => baton_http::client_builder(&self.user_agent, self.timeout)
                .cookie_store(true)
                .connect_timeout(self.connect_timeout)
                .build()
                .map_err(|source| Error::HttpClient { source })?,
        };
        Ok(JenkinsClient {
            inner: Arc::new(Inner {
                http,
                base,
                user: self.user,
                token: self.token,
                timeout: self.timeout,
                crumb: tokio::sync::Mutex::new(None),
            }),
        })
    }
}

fn parse_base(text: &str) -> Result<Url, Error> {
    let bad = |reason: &str| Error::InvalidBaseUrl {
        url: text.to_owned(),
        reason: reason.to_owned(),
    };
    let mut url = Url::parse(text).map_err(|e| {
        bad(&format!(
            "{e}; write e.g. https://jenkins.example.com/jenkins"
        ))
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(bad("scheme must be http or https"));
    }
    if !url.username().is_empty() || url.password().is_some() {
        return Err(Error::InvalidBaseUrl {
            url: format!("{}://…@{}", url.scheme(), url.host_str().unwrap_or("")),
            reason: "must not contain credentials; pass them to credentials()".to_owned(),
        });
    }
    if url.query().is_some() || url.fragment().is_some() {
        return Err(bad("must not have a query or fragment"));
    }
    if !url.path().ends_with('/') {
        let p = format!("{}/", url.path());
        url.set_path(&p);
    }
    Ok(url)
}

/// A read answer.
pub(crate) struct Reply {
    pub status: StatusCode,
    pub headers: HeaderMap,
    pub body: Vec<u8>,
    pub url: String,
}

impl Reply {
    pub fn header(&self, name: &str) -> Option<String> {
        self.headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    }

    pub fn decode<T: serde::de::DeserializeOwned>(&self) -> Result<T, Error> {
        model::decode(&self.body).map_err(|e| Error::Decode {
            url: self.url.clone(),
            path: e.path().to_string(),
            source: e.into_inner(),
        })
    }

    pub fn excerpt(&self) -> String {
        excerpt(&self.body)
    }
}

/// Body of a POST.
pub(crate) enum Body<'a> {
    None,
    Form(&'a [(String, String)]),
}

impl JenkinsClient {
    /// Starts a builder for a base URL, with or without a context path (`https://host/jenkins`).
    pub fn builder(base_url: impl Into<String>) -> JenkinsClientBuilder {
        JenkinsClientBuilder {
            base: base_url.into(),
            user: None,
            token: None,
            timeout: DEFAULT_TIMEOUT,
            connect_timeout: DEFAULT_CONNECT_TIMEOUT,
            user_agent: format!("baton-jenkins-client/{}", env!("CARGO_PKG_VERSION")),
            http: None,
        }
    }

    /// The base URL, ending with `/`.
    pub fn base_url(&self) -> &Url {
        &self.inner.base
    }

    pub(crate) fn url(&self, rel: &str) -> Result<Url, Error> {
        self.inner
            .base
            .join(rel)
            .map_err(|e| Error::InvalidBaseUrl {
                url: self.inner.base.to_string(),
                reason: format!("cannot join {rel:?}: {e}"),
            })
    }

    async fn send_once(
        &self,
        method: &Method,
        url: &Url,
        body: &Body<'_>,
        crumb: Option<&Crumb>,
    ) -> Result<Reply, Error> {
        let mut req = self
            .inner
            .http
            .request(method.clone(), url.clone())
            .timeout(self.inner.timeout);
        if let (Some(user), Some(token)) = (&self.inner.user, &self.inner.token) {
            req = req.basic_auth(user, Some(token.expose_secret()));
        }
        if let Some(c) = crumb {
            req = req.header(c.crumb_request_field.as_str(), c.crumb.as_str());
        }
        if let Body::Form(pairs) = body {
            req = req.form(pairs);
        }
        let rsp = req
            .send()
            .await
            .map_err(|e| RequestError::transport(method.as_str(), url.as_str(), e))?;
        if rsp.url() != url {
            return Err(Error::Api {
                method: method.to_string(),
                url: url.to_string(),
                status: rsp.status().as_u16(),
                body: format!(
                    "the HTTP client followed a redirect to {}; build it with redirect::Policy::none()",
                    rsp.url()
                ),
                retry_after: None,
            });
        }
        let status = rsp.status();
        let headers = rsp.headers().clone();
        let body = baton_http::body::read_limited(rsp, MAX_BODY)
            .await
            .map_err(|e| RequestError::body(method.as_str(), url.as_str(), e))?
            .to_vec();
        tracing::debug!(%method, %url, status = status.as_u16(), "jenkins call");
        Ok(Reply {
            status,
            headers,
            body,
            url: url.to_string(),
        })
    }

    /// Sends a request; POSTs carry the kept crumb and retry once with a fresh crumb on
    /// 403 "No valid crumb". Answers every status (mapping is the caller's).
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        body: Body<'_>,
    ) -> Result<Reply, Error> {
        let post = method == Method::POST;
        let kept = if post {
            self.inner.crumb.lock().await.clone()
        } else {
            None
        };
        let reply = self.send_once(&method, &url, &body, kept.as_ref()).await?;
        if !(post && is_crumb_rejection(&reply)) {
            return Ok(reply);
        }
        let Some(crumb) = self.fetch_crumb().await? else {
            // A crumb is demanded but the issuer is not there (or hidden from this user).
            return Err(Error::NoCrumbIssuer {
                url: url.to_string(),
            });
        };
        *self.inner.crumb.lock().await = Some(crumb.clone());
        let retry = self.send_once(&method, &url, &body, Some(&crumb)).await?;
        if is_crumb_rejection(&retry) {
            return Err(Error::NoValidCrumb {
                url: url.to_string(),
            });
        }
        Ok(retry)
    }

    /// `GET crumbIssuer/api/json`; `None` when CSRF protection is off (404).
    pub async fn fetch_crumb(&self) -> Result<Option<Crumb>, Error> {
        let url = self.url("crumbIssuer/api/json")?;
        let reply = self
            .send_once(&Method::GET, &url, &Body::None, None)
            .await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let reply = self.check(Method::GET, reply)?;
        reply.decode().map(Some)
    }

    /// Maps 401, 403 and other non-success statuses to errors; 2xx and 3xx pass.
    pub(crate) fn check(&self, method: Method, reply: Reply) -> Result<Reply, Error> {
        let s = reply.status;
        if s.is_success() || s.is_redirection() {
            return Ok(reply);
        }
        Err(match s {
            StatusCode::UNAUTHORIZED => Error::Unauthorized {
                url: reply.url.clone(),
                user: self.inner.user.clone(),
            },
            StatusCode::FORBIDDEN if is_crumb_rejection(&reply) => Error::NoValidCrumb {
                url: reply.url.clone(),
            },
            StatusCode::FORBIDDEN => Error::Forbidden {
                authenticated_as: reply.header("X-You-Are-Authenticated-As"),
                required_permission: reply.header("X-Required-Permission"),
                body: reply.excerpt(),
                url: reply.url.clone(),
            },
            StatusCode::METHOD_NOT_ALLOWED => Error::MethodNotAllowed {
                url: reply.url.clone(),
            },
            _ => Error::Api {
                method: method.to_string(),
                status: s.as_u16(),
                body: reply.excerpt(),
                url: reply.url.clone(),
                retry_after: reply.header("Retry-After"),
            },
        })
    }

    /// GET and decode JSON; `None` on 404.
    pub(crate) async fn get_json_opt<T: serde::de::DeserializeOwned>(
        &self,
        rel: &str,
    ) -> Result<Option<(T, Reply)>, Error> {
        let url = self.url(rel)?;
        let reply = self.send(Method::GET, url, Body::None).await?;
        if reply.status == StatusCode::NOT_FOUND {
            return Ok(None);
        }
        let reply = self.check(Method::GET, reply)?;
        if reply.status.is_redirection() {
            return Err(Error::Api {
                method: "GET".to_owned(),
                status: reply.status.as_u16(),
                body: format!(
                    "redirected to {:?} instead of answering JSON; check the base URL (a login page or proxy?)",
                    reply.header("Location").unwrap_or_default()
                ),
                url: reply.url,
                retry_after: None,
            });
        }
        let value = reply.decode()?;
        Ok(Some((value, reply)))
    }
}

fn is_crumb_rejection(reply: &Reply) -> bool {
    reply.status == StatusCode::FORBIDDEN
        && String::from_utf8_lossy(&reply.body).contains("No valid crumb")
}
