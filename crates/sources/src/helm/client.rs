//! HTTP side of classic Helm repositories, the chart cache and limits.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{StatusCode, header};
use serde::{Deserialize, Serialize};
use url::Url;

use futures::StreamExt as _;
use tokio_util::io::{StreamReader, SyncIoBridge};

use super::archive::ArchiveLimits;
use super::index::{ChartEntry, from_scan, parse_index_reader};
use super::scan::ChartScan;
use crate::http::{body_excerpt, read_success, sha256_digest, transport, verified_digest};
use crate::registry::Registries;
use crate::{Credentials, CredentialsConfig, Error};

/// Size limits for Helm sources.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct HelmLimits {
    /// Largest `index.yaml`.
    pub max_index_bytes: u64,
    /// Archive limits (the compressed cap also bounds downloads).
    pub archive: ArchiveLimits,
}

impl Default for HelmLimits {
    /// 64 MiB index, default archive limits.
    fn default() -> Self {
        HelmLimits {
            max_index_bytes: 64 << 20,
            archive: ArchiveLimits::default(),
        }
    }
}

/// Credentials for a classic Helm repository, chosen by URL prefix.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct HelmCredentialConfig {
    /// Repository URL prefix.
    pub url_prefix: String,
    /// User name.
    pub username: String,
    /// File holding the password.
    pub password_file: PathBuf,
}

/// Validators of the last `index.yaml` we parsed.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct IndexValidators {
    /// `ETag`.
    pub etag: Option<String>,
    /// `Last-Modified`.
    pub last_modified: Option<String>,
}

/// Result of a conditional index fetch.
pub(crate) enum IndexFetch {
    NotModified,
    Fetched {
        entries: Vec<ChartEntry>,
        validators: IndexValidators,
    },
}

/// Shared client for Helm sources: HTTP, OCI registries, cache folder, limits.
#[derive(Debug, Clone)]
pub struct HelmClient {
    pub(crate) http: reqwest::Client,
    pub(crate) registries: Arc<Registries>,
    pub(crate) cache_dir: PathBuf,
    pub(crate) limits: HelmLimits,
    credentials: Vec<(String, Credentials)>,
    timeout: Duration,
    counters: Arc<Counters>,
}

/// Index fetches by answer, for metrics and tests.
#[derive(Debug, Default)]
struct Counters {
    index_full: std::sync::atomic::AtomicU64,
    index_not_modified: std::sync::atomic::AtomicU64,
    downloads: std::sync::atomic::AtomicU64,
}

/// How many requests a [`HelmClient`] made, by kind.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct HelmRequestCounts {
    /// `index.yaml` answered in full (200).
    pub index_full: u64,
    /// `index.yaml` answered 304.
    pub index_not_modified: u64,
    /// Chart archives downloaded (cache misses).
    pub downloads: u64,
}

impl HelmClient {
    /// Builds the client; reads password files now. `registries` serves `oci://` repositories.
    pub fn new(
        cache_dir: PathBuf,
        registries: Arc<Registries>,
        credentials: &[HelmCredentialConfig],
        timeout: Duration,
    ) -> Result<Self, Error> {
        let http = baton_http::client_builder(crate::http::USER_AGENT, timeout)
            // reqwest drops Authorization when a redirect changes host or port.
            .redirect(reqwest::redirect::Policy::limited(5))
            .build()
            .map_err(|source| Error::Transport {
                method: "BUILD".into(),
                url: String::new(),
                source,
            })?;
        let credentials = credentials
            .iter()
            .map(|c| {
                Ok((
                    c.url_prefix.clone(),
                    CredentialsConfig {
                        username: c.username.clone(),
                        password_file: c.password_file.clone(),
                    }
                    .load()?,
                ))
            })
            .collect::<Result<_, Error>>()?;
        Ok(HelmClient {
            http,
            registries,
            cache_dir,
            limits: HelmLimits::default(),
            credentials,
            timeout,
            counters: Arc::default(),
        })
    }

    /// Replaces the limits.
    pub fn with_limits(mut self, limits: HelmLimits) -> Self {
        self.limits = limits;
        self
    }

    /// Requests made so far.
    pub fn request_counts(&self) -> HelmRequestCounts {
        use std::sync::atomic::Ordering::Relaxed;
        HelmRequestCounts {
            index_full: self.counters.index_full.load(Relaxed),
            index_not_modified: self.counters.index_not_modified.load(Relaxed),
            downloads: self.counters.downloads.load(Relaxed),
        }
    }

    fn credentials_for(&self, url: &Url) -> Option<&Credentials> {
        self.credentials
            .iter()
            .filter(|(p, _)| url.as_str().starts_with(p.as_str()))
            .max_by_key(|(p, _)| p.len())
            .map(|(_, c)| c)
    }

    /// The entries of `chart` in `<repo>/index.yaml`, with `If-None-Match` /
    /// `If-Modified-Since` from `last`. The body is scanned as it arrives and never held: only
    /// the chart's block is kept, and reading stops where the block ends. An unusual layout
    /// costs a second, unconditional GET parsed as a stream on a blocking thread.
    pub(crate) async fn fetch_index(
        &self,
        repo: &Url,
        chart: &str,
        last: Option<&IndexValidators>,
    ) -> Result<IndexFetch, Error> {
        let url = repo.join("index.yaml").map_err(|e| Error::Config {
            key: "chart.repository".into(),
            reason: format!("{repo}: {e}"),
        })?;
        let Some((resp, validators)) = self.get_index(repo, &url, last).await? else {
            return Ok(IndexFetch::NotModified);
        };
        let limit = self.limits.max_index_bytes;
        let too_large = || Error::TooLarge {
            what: format!("index {url}"),
            limit,
        };
        let mut scan = ChartScan::new(chart, url.as_str());
        let mut read = 0u64;
        let mut body = resp.bytes_stream();
        while !scan.complete() {
            let Some(chunk) = body.next().await else {
                break;
            };
            let chunk = chunk.map_err(|source| transport("GET", &url, source, self.timeout))?;
            read += chunk.len() as u64;
            if read > limit {
                return Err(too_large());
            }
            scan.feed(&chunk)?;
        }
        drop(body);
        if let Some(entries) = from_scan(scan, chart, read as usize)? {
            return Ok(IndexFetch::Fetched {
                entries,
                validators,
            });
        }
        let Some((resp, validators)) = self.get_index(repo, &url, None).await? else {
            return Err(Error::InvalidResponse {
                url: url.to_string(),
                reason: "304 to a GET without validators".into(),
            });
        };
        let mut read = 0u64;
        let stream = resp.bytes_stream().map(move |chunk| {
            let chunk = chunk.map_err(std::io::Error::other)?;
            read += chunk.len() as u64;
            if read > limit {
                return Err(std::io::Error::other(format!(
                    "the index is larger than the limit of {limit} bytes"
                )));
            }
            Ok(chunk)
        });
        let reader = SyncIoBridge::new(StreamReader::new(stream));
        let (chart, source) = (chart.to_string(), url.to_string());
        let entries =
            tokio::task::spawn_blocking(move || parse_index_reader(reader, &chart, &source, limit))
                .await
                .map_err(|e| Error::InvalidResponse {
                    url: url.to_string(),
                    reason: format!("index parse stopped: {e}"),
                })??;
        Ok(IndexFetch::Fetched {
            entries,
            validators,
        })
    }

    /// Sends the index GET and checks the answer: `None` for 304, else the response (body not
    /// yet read) and its validators. Errors read at most a short excerpt of the body.
    async fn get_index(
        &self,
        repo: &Url,
        url: &Url,
        last: Option<&IndexValidators>,
    ) -> Result<Option<(reqwest::Response, IndexValidators)>, Error> {
        let mut req = self
            .http
            .get(url.clone())
            .header(header::ACCEPT, "application/x-yaml, text/yaml, */*");
        if let Some(v) = last {
            if let Some(e) = &v.etag {
                req = req.header(header::IF_NONE_MATCH, e);
            }
            if let Some(m) = &v.last_modified {
                req = req.header(header::IF_MODIFIED_SINCE, m);
            }
        }
        if let Some(c) = self.credentials_for(repo) {
            req = req.header(header::AUTHORIZATION, c.basic_header());
        }
        let resp = req
            .send()
            .await
            .map_err(|source| transport("GET", url, source, self.timeout))?;
        let status = resp.status();
        if status == StatusCode::NOT_MODIFIED {
            self.counters
                .index_not_modified
                .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
            return Ok(None);
        }
        self.counters
            .index_full
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let h = |n: header::HeaderName| {
            resp.headers()
                .get(n)
                .and_then(|v| v.to_str().ok())
                .map(str::to_string)
        };
        let validators = IndexValidators {
            etag: h(header::ETAG),
            last_modified: h(header::LAST_MODIFIED),
        };
        let html = h(header::CONTENT_TYPE).is_some_and(|ct| ct.starts_with("text/html"));
        if !status.is_success() {
            return Err(Error::Api {
                method: "GET".into(),
                url: url.to_string(),
                status: status.as_u16(),
                body: excerpt(resp).await,
            });
        }
        if html {
            return Err(Error::InvalidResponse {
                url: url.to_string(),
                reason: format!("answered HTML, not an index: {}", excerpt(resp).await),
            });
        }
        Ok(Some((resp, validators)))
    }

    /// Downloads a chart archive; credentials only go to the repository's own origin.
    pub(crate) async fn download(
        &self,
        repo: &Url,
        url: &Url,
        want_sha256_hex: Option<&str>,
    ) -> Result<Bytes, Error> {
        if let Some(hex) = want_sha256_hex
            && let Some(cached) = self.cached(&format!("sha256:{hex}"))
        {
            return Ok(cached);
        }
        self.counters
            .downloads
            .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        let mut req = self.http.get(url.clone());
        if url.origin() == repo.origin()
            && let Some(c) = self.credentials_for(repo)
        {
            req = req.header(header::AUTHORIZATION, c.basic_header());
        }
        let resp = req
            .send()
            .await
            .map_err(|source| transport("GET", url, source, self.timeout))?;
        let limit = self.limits.archive.max_compressed;
        let body = read_success(resp, url, limit, &format!("chart {url}")).await?;
        if let Some(hex) = want_sha256_hex {
            verified_digest(url, &body, &format!("sha256:{}", hex.to_ascii_lowercase()))?;
        }
        Ok(body)
    }

    /// Path of the cached archive with this `sha256:<hex>` digest.
    pub fn cache_path(&self, digest: &str) -> PathBuf {
        self.cache_dir
            .join(format!("{}.tgz", digest.trim_start_matches("sha256:")))
    }

    /// The cached archive, if present and intact.
    pub fn cached(&self, digest: &str) -> Option<Bytes> {
        let bytes = std::fs::read(self.cache_path(digest)).ok()?;
        (sha256_digest(&bytes) == digest).then(|| Bytes::from(bytes))
    }

    /// Stores an archive under its digest (write to a temp name, then rename).
    pub(crate) fn store(&self, digest: &str, tgz: &[u8]) -> Result<(), Error> {
        let path = self.cache_path(digest);
        let io = |source| Error::Io {
            action: "write chart cache",
            path: path.display().to_string(),
            source,
        };
        std::fs::create_dir_all(&self.cache_dir).map_err(io)?;
        let tmp = path.with_extension(format!("tmp{}", std::process::id()));
        std::fs::write(&tmp, tgz).map_err(io)?;
        std::fs::rename(&tmp, &path).map_err(io)
    }
}

/// The first bytes of an error body (at most one chunk), for messages.
async fn excerpt(mut resp: reqwest::Response) -> String {
    match resp.chunk().await {
        Ok(Some(chunk)) => body_excerpt(&chunk),
        _ => String::new(),
    }
}
