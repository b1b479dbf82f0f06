//! A small OCI distribution client: what the watches need and nothing else.
//!
//! `oci-client` is not used for the requests themselves: its HEAD helper does not let us see
//! `Retry-After` / `RateLimit-Remaining`, choose the Accept list, bound retries or refuse to
//! carry credentials across a redirect to another host. This client does those in one place.

use std::sync::Arc;
use std::time::{Duration, SystemTime};

use http::{HeaderMap, Method, StatusCode, header};
use secrecy::ExposeSecret as _;
use tokio::sync::Semaphore;
use tokio::time::Instant;
use url::Url;

use super::auth::{Auth, DEFAULT_TOKEN_LIFETIME, RegistryState, TokenResponse};
use super::challenge::{Challenge, parse_challenge};
use super::config::RegistryConfig;
use super::retry::{open_pause, parse_retry_after, retry_delays};
use crate::http::{body_excerpt, decode_json, install_crypto_provider, read_success, transport};
use crate::{Credentials, Error};

/// 429 waits up to this long are waited out in-line; longer ones fail the check.
const MAX_INLINE_WAIT: Duration = Duration::from_secs(10);
/// Redirects followed per request.
const MAX_REDIRECTS: usize = 5;

/// A client for one registry host.
pub struct RegistryClient {
    pub(crate) config: RegistryConfig,
    base: Url,
    http: reqwest::Client,
    credentials: Option<Credentials>,
    permits: Arc<Semaphore>,
    state: RegistryState,
}

impl std::fmt::Debug for RegistryClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RegistryClient")
            .field("host", &self.config.host)
            .finish_non_exhaustive()
    }
}

impl RegistryClient {
    /// Builds a client; reads the password file now so a bad path fails at start-up.
    pub fn new(config: RegistryConfig) -> Result<Self, Error> {
        install_crypto_provider();
        let credentials = config.credentials()?;
        let api_host = if config.host == super::DOCKER_HUB {
            super::DOCKER_HUB_API
        } else {
            config.host.as_str()
        };
        let scheme = if config.insecure { "http" } else { "https" };
        let base = Url::parse(&format!("{scheme}://{api_host}/")).map_err(|e| Error::Config {
            key: format!("registries[{}].host", config.host),
            reason: format!("not a host[:port]: {e}"),
        })?;
        let http = baton_http::client_builder(crate::http::USER_AGENT, config.timeout)
            .build()
            .map_err(|source| Error::Transport {
                method: "BUILD".into(),
                url: base.to_string(),
                source,
            })?;
        let permits = Arc::new(Semaphore::new(config.max_concurrency.max(1)));
        Ok(RegistryClient {
            config,
            base,
            http,
            credentials,
            permits,
            state: RegistryState::default(),
        })
    }

    /// The last `RateLimit-Remaining` header the registry sent, if any.
    pub fn rate_limit_remaining(&self) -> Option<String> {
        self.state.rate_limit_remaining()
    }

    /// Requests sent so far, by (method, status) — for metrics and tests.
    pub fn request_counts(&self) -> std::collections::BTreeMap<(String, u16), u64> {
        self.state.requests()
    }

    /// URL of `/v2/<path>` on this registry.
    pub(crate) fn url(&self, path: &str) -> Result<Url, Error> {
        self.base
            .join(&format!("v2/{path}"))
            .map_err(|e| Error::Config {
                key: "reference".into(),
                reason: format!("cannot build a URL for {path}: {e}"),
            })
    }

    /// Sends a request with auth, the 429 window, budget, bounded 5xx retries and safe
    /// redirects. Returns any final answer that is not 401/403/429/5xx; callers read the rest.
    pub(crate) async fn send(
        &self,
        method: Method,
        url: Url,
        accept: &[&str],
        scope: &str,
    ) -> Result<reqwest::Response, Error> {
        let mut attempt = 0u32;
        let mut auth_rounds = 0u32;
        let mut delays = retry_delays();
        loop {
            if let Some(wait) = self.state.blocked_for(Instant::now()) {
                if wait > MAX_INLINE_WAIT || attempt >= self.config.max_retries {
                    return Err(Error::RateLimited {
                        host: self.config.host.clone(),
                        retry_after: Some(wait),
                    });
                }
                attempt += 1;
                tokio::time::sleep(wait).await;
            }
            let resp = {
                let _permit = self
                    .permits
                    .acquire()
                    .await
                    .expect("semaphore is never closed");
                // A 429 may have opened the pause while this request waited for its permit:
                // with thousands of tags queued, sending anyway would hammer the registry.
                if self.state.blocked_for(Instant::now()).is_some() {
                    continue;
                }
                if !self.state.take_budget(self.config.budget, Instant::now()) {
                    let b = self.config.budget.expect("budget checked");
                    return Err(Error::BudgetExhausted {
                        host: self.config.host.clone(),
                        limit: b.requests,
                        window: b.per,
                    });
                }
                let auth = self.state.auth_for(scope, Instant::now());
                self.send_following_redirects(&method, url.clone(), accept, &auth)
                    .await
            };
            let resp = match resp {
                Ok(r) => r,
                Err(e)
                    if attempt < self.config.max_retries
                        && matches!(e.kind(), crate::ErrorKind::Transport) =>
                {
                    tokio::time::sleep(delays.next().unwrap_or_default()).await;
                    attempt += 1;
                    continue;
                }
                Err(e) => return Err(e),
            };
            let status = resp.status();
            let remaining = header_str(resp.headers(), "ratelimit-remaining");
            self.state
                .record(method.as_str(), status.as_u16(), remaining);
            match status {
                StatusCode::UNAUTHORIZED if auth_rounds < 2 => {
                    auth_rounds += 1;
                    let challenge = resp
                        .headers()
                        .get(header::WWW_AUTHENTICATE)
                        .and_then(|v| v.to_str().ok())
                        .and_then(parse_challenge);
                    match challenge {
                        Some(Challenge::Bearer {
                            realm,
                            service,
                            scope: ch_scope,
                        }) => {
                            self.state.drop_token(scope);
                            self.fetch_token(
                                &realm,
                                service.as_deref(),
                                ch_scope.as_deref().unwrap_or(scope),
                                scope,
                            )
                            .await?;
                        }
                        Some(Challenge::Basic)
                            if self.credentials.is_some() && auth_rounds == 1 =>
                        {
                            self.state.use_basic()
                        }
                        _ => return Err(self.unauthorized(&url, status)),
                    }
                }
                StatusCode::UNAUTHORIZED | StatusCode::FORBIDDEN => {
                    return Err(self.unauthorized(&url, status));
                }
                StatusCode::TOO_MANY_REQUESTS => {
                    let ra = header_str(resp.headers(), "retry-after")
                        .and_then(|v| parse_retry_after(&v, SystemTime::now()));
                    open_pause(&self.state, &self.config.host, ra, Instant::now());
                    if !(attempt < self.config.max_retries
                        && ra.is_some_and(|d| d <= MAX_INLINE_WAIT))
                    {
                        return Err(Error::RateLimited {
                            host: self.config.host.clone(),
                            retry_after: ra,
                        });
                    }
                }
                s if s.is_server_error() => {
                    if attempt >= self.config.max_retries {
                        let body = resp
                            .bytes()
                            .await
                            .map(|b| body_excerpt(&b))
                            .unwrap_or_default();
                        return Err(Error::Api {
                            method: method.to_string(),
                            url: url.to_string(),
                            status: s.as_u16(),
                            body,
                        });
                    }
                    tokio::time::sleep(delays.next().unwrap_or_default()).await;
                    attempt += 1;
                }
                _ => return Ok(resp),
            }
        }
    }

    fn unauthorized(&self, url: &Url, status: StatusCode) -> Error {
        Error::Unauthorized {
            host: self.config.host.clone(),
            url: url.to_string(),
            status: status.as_u16(),
        }
    }

    async fn send_following_redirects(
        &self,
        method: &Method,
        mut url: Url,
        accept: &[&str],
        auth: &Auth,
    ) -> Result<reqwest::Response, Error> {
        for _ in 0..=MAX_REDIRECTS {
            let mut req = self.http.request(method.clone(), url.clone());
            for a in accept {
                req = req.header(header::ACCEPT, *a);
            }
            // Credentials go only to the registry's own origin, never to a redirect target.
            if url.origin() == self.base.origin()
                && self.credentials.is_some()
                && !matches!(auth, Auth::None)
            {
                self.may_send_credentials(&url)?;
            }
            if url.origin() == self.base.origin() {
                req = match (auth, &self.credentials) {
                    (Auth::Bearer(t), _) => req.header(
                        header::AUTHORIZATION,
                        format!("Bearer {}", t.expose_secret()),
                    ),
                    (Auth::Basic, Some(c)) => req.header(header::AUTHORIZATION, c.basic_header()),
                    _ => req,
                };
            }
            let resp = req
                .send()
                .await
                .map_err(|source| transport(method.as_str(), &url, source, self.config.timeout))?;
            if !resp.status().is_redirection() {
                return Ok(resp);
            }
            let Some(loc) = header_str(resp.headers(), "location") else {
                return Ok(resp);
            };
            let next = url.join(&loc).map_err(|e| Error::InvalidResponse {
                url: url.to_string(),
                reason: format!("bad Location {loc:?}: {e}"),
            })?;
            if next.scheme() == "http" && url.scheme() == "https" {
                return Err(Error::InvalidResponse {
                    url: url.to_string(),
                    reason: format!("refusing redirect from https to {next}"),
                });
            }
            url = next;
        }
        Err(Error::InvalidResponse {
            url: url.to_string(),
            reason: format!("more than {MAX_REDIRECTS} redirects"),
        })
    }

    async fn fetch_token(
        &self,
        realm: &str,
        service: Option<&str>,
        scope: &str,
        cache_scope: &str,
    ) -> Result<(), Error> {
        let mut url = Url::parse(realm).map_err(|e| Error::InvalidResponse {
            url: realm.to_string(),
            reason: format!("bad token realm: {e}"),
        })?;
        if url.scheme() != "https" && !(url.scheme() == "http" && self.config.insecure) {
            return Err(Error::InvalidResponse {
                url: realm.to_string(),
                reason: "token realm must be https (or http with insecure: true)".into(),
            });
        }
        {
            let mut q = url.query_pairs_mut();
            if let Some(s) = service {
                q.append_pair("service", s);
            }
            q.append_pair("scope", scope);
        }
        let mut req = self.http.get(url.clone());
        if let Some(c) = &self.credentials {
            self.may_send_credentials(&url)?;
            req = req.header(header::AUTHORIZATION, c.basic_header());
        }
        let resp = req
            .send()
            .await
            .map_err(|source| transport("GET", &url, source, self.config.timeout))?;
        let status = resp.status();
        self.state.record("TOKEN", status.as_u16(), None);
        if status == StatusCode::UNAUTHORIZED || status == StatusCode::FORBIDDEN {
            return Err(self.unauthorized(&url, status));
        }
        let body = read_success(resp, &url, 1 << 20, "token response").await?;
        let tok: TokenResponse = decode_json(&body, url.as_str(), "token response")?;
        let token = tok
            .token
            .or(tok.access_token)
            .filter(|t| !t.is_empty())
            .ok_or_else(|| Error::InvalidResponse {
                url: url.to_string(),
                reason: "token response has neither token nor access_token".into(),
            })?;
        let lifetime = tok
            .expires_in
            .map_or(DEFAULT_TOKEN_LIFETIME, Duration::from_secs);
        self.state
            .store_token(cache_scope, token.into(), lifetime, Instant::now());
        Ok(())
    }
}

impl RegistryClient {
    /// Whether this registry's credentials may go to `url`: its own host, a configured
    /// `token_hosts` entry (or Docker Hub's auth service), and over plain HTTP only to a
    /// loopback host unless `credentials_over_http` allows it.
    pub(crate) fn may_send_credentials(&self, url: &Url) -> Result<(), Error> {
        let refuse = |reason: String| Error::Config {
            key: format!("registries[{}]", self.config.host),
            reason,
        };
        let host = url.host_str().unwrap_or_default();
        let port = url.port_or_known_default();
        let own = host == self.base.host_str().unwrap_or_default()
            && port == self.base.port_or_known_default();
        let hub = self.config.host == super::DOCKER_HUB && host == "auth.docker.io";
        let listed = self.config.token_hosts.iter().any(|h| {
            match h
                .rsplit_once(':')
                .and_then(|(n, p)| Some((n, p.parse::<u16>().ok()?)))
            {
                Some((name, p)) => name.eq_ignore_ascii_case(host) && Some(p) == port,
                None => h.eq_ignore_ascii_case(host),
            }
        });
        if !(own || hub || listed) {
            let origin = match url.port() {
                Some(p) => format!("{host}:{p}"),
                None => host.to_owned(),
            };
            return Err(refuse(format!(
                "the token realm {url} is on another host than the registry; its credentials are \
                 not sent there. If {origin} is this registry's auth service, add it to \
                 token_hosts"
            )));
        }
        if url.scheme() == "http" && !is_loopback(url) && !self.config.credentials_over_http {
            return Err(refuse(format!(
                "refusing to send credentials over plain HTTP to {host}; use https, or set \
                 credentials_over_http: true for this registry if the network is trusted"
            )));
        }
        Ok(())
    }
}

fn is_loopback(url: &Url) -> bool {
    match url.host() {
        Some(url::Host::Ipv4(ip)) => ip.is_loopback(),
        Some(url::Host::Ipv6(ip)) => ip.is_loopback(),
        Some(url::Host::Domain(d)) => d.eq_ignore_ascii_case("localhost"),
        None => false,
    }
}

pub(crate) fn header_str(h: &HeaderMap, name: &str) -> Option<String> {
    h.get(name)
        .and_then(|v| v.to_str().ok())
        .map(str::to_string)
}
