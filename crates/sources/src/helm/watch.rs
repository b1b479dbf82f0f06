//! The chart watch: which version the configuration selects, and its archive.

use bytes::Bytes;
use serde::{Deserialize, Serialize};
use url::Url;

use super::archive::read_chart;
use super::client::{HelmClient, IndexFetch, IndexValidators};
use super::refused::Guard;
use super::version::{VersionSpec, select};
use crate::http::sha256_digest;
use crate::{CheckReport, Error};

/// What to watch: `chart` in `repository` at `version` (exact or range).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChartWatch {
    /// `https://charts.example.com` or `oci://host/path`.
    pub repository: String,
    /// Chart name.
    pub name: String,
    /// Exact version or SemVer range, parsed once (where the watch is made).
    pub version: VersionSpec,
    /// Let ranges pick pre-releases.
    pub prereleases: bool,
}

/// The version the watch selects, with the digest of its archive.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartObservation {
    /// Repository as configured.
    pub repository: String,
    /// Chart name from `Chart.yaml`.
    pub name: String,
    /// Chart version from `Chart.yaml`.
    pub version: String,
    /// `appVersion` from `Chart.yaml`.
    pub app_version: Option<String>,
    /// `sha256:<hex>` of the .tgz (the key of the local cache).
    pub digest: String,
    /// Where the archive came from (URL, or `oci://...@manifest-digest`).
    pub source: String,
    /// Index validators (classic repositories).
    pub index: Option<IndexValidators>,
    /// Manifest digest (OCI repositories).
    pub manifest_digest: Option<String>,
}

/// A chart archive with its metadata.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Chart {
    /// Chart name.
    pub name: String,
    /// Chart version.
    pub version: String,
    /// `appVersion`.
    pub app_version: Option<String>,
    /// The .tgz bytes.
    pub tgz: Bytes,
    /// `sha256:<hex>` of `tgz`.
    pub digest: String,
}

impl ChartWatch {
    /// Checks the repository and compares with `last`. An unchanged classic index costs one
    /// 304; an unchanged OCI chart costs one manifest HEAD.
    pub async fn check(
        &self,
        client: &HelmClient,
        last: Option<&ChartObservation>,
    ) -> CheckReport<ChartObservation> {
        self.check_remembering(client, last, &mut None).await
    }

    /// One observation, downloading (into the cache) only when the selection changed.
    pub async fn observe(
        &self,
        client: &HelmClient,
        last: Option<&ChartObservation>,
    ) -> Result<ChartObservation, Error> {
        self.observe_guarded(client, last, &mut Guard::default())
            .await
    }

    /// [`ChartWatch::observe`] that skips (and remembers) archives failing the checks.
    pub(crate) async fn observe_guarded(
        &self,
        client: &HelmClient,
        last: Option<&ChartObservation>,
        guard: &mut Guard,
    ) -> Result<ChartObservation, Error> {
        let last = last.filter(|l| l.repository == self.repository);
        if self.repository.starts_with("oci://") {
            return self.observe_oci(client, last, guard).await;
        }
        let repo = repo_url(&self.repository)?;
        let index_url = repo
            .join("index.yaml")
            .map(|u| u.to_string())
            .unwrap_or_default();
        let (entries, validators) = match client
            .fetch_index(&repo, &self.name, last.and_then(|l| l.index.as_ref()))
            .await?
        {
            IndexFetch::NotModified => {
                return last.cloned().ok_or_else(|| Error::InvalidResponse {
                    url: index_url,
                    reason: "304 without a previous index".into(),
                });
            }
            IndexFetch::Fetched {
                entries,
                validators,
            } => (entries, validators),
        };
        let entry = select(&self.name, &entries, &self.version, self.prereleases)?;
        let want_hex = entry
            .digest
            .as_deref()
            .map(str::to_ascii_lowercase)
            .filter(|d| d.len() == 64 && d.bytes().all(|b| b.is_ascii_hexdigit()));
        if let (Some(l), Some(hex)) = (last, &want_hex)
            && l.version == entry.version
            && l.digest == format!("sha256:{hex}")
        {
            return Ok(ChartObservation {
                index: Some(validators),
                ..l.clone()
            });
        }
        let raw_url = entry.urls.first().ok_or_else(|| Error::InvalidResponse {
            url: index_url.clone(),
            reason: format!("{} {} has no urls", self.name, entry.version),
        })?;
        let url = repo.join(raw_url).map_err(|e| Error::InvalidResponse {
            url: index_url.clone(),
            reason: format!("bad chart URL {raw_url:?}: {e}"),
        })?;
        let key = match &want_hex {
            Some(hex) => format!("sha256:{hex}"),
            None => format!("{url} created {}", entry.created.as_deref().unwrap_or("-")),
        };
        guard.skip(self, &entry.version, &key)?;
        let chart = guard
            .fetch(self, &entry.version, key, async {
                let tgz = client.download(&repo, &url, want_hex.as_deref()).await?;
                self.accept(client, url.as_ref(), &tgz, &entry.version)
            })
            .await?;
        Ok(self.observed(chart, url.to_string(), Some(validators), None))
    }

    /// The observation of an accepted `chart` from `source`.
    pub(crate) fn observed(
        &self,
        chart: Chart,
        source: String,
        index: Option<IndexValidators>,
        manifest_digest: Option<String>,
    ) -> ChartObservation {
        ChartObservation {
            repository: self.repository.clone(),
            name: chart.name,
            version: chart.version,
            app_version: chart.app_version,
            digest: chart.digest,
            source,
            index,
            manifest_digest,
        }
    }

    /// Reads, checks and caches an archive; `Chart.yaml` must name this chart and version.
    pub(crate) fn accept(
        &self,
        client: &HelmClient,
        source: &str,
        tgz: &Bytes,
        version: &str,
    ) -> Result<Chart, Error> {
        let meta = read_chart(source, tgz, &client.limits.archive)?;
        if meta.name != self.name
            || meta.version.trim_start_matches('v') != version.trim_start_matches('v')
        {
            return Err(Error::UnsafeArchive {
                name: source.to_string(),
                reason: format!(
                    "Chart.yaml says {} {}, the repository says {} {version}",
                    meta.name, meta.version, self.name
                ),
            });
        }
        let digest = sha256_digest(tgz);
        client.store(&digest, tgz)?;
        Ok(Chart {
            name: meta.name,
            version: meta.version,
            app_version: meta.app_version,
            tgz: tgz.clone(),
            digest,
        })
    }

    /// The archive of an observation, from the cache (downloaded by `check`).
    pub fn load(client: &HelmClient, obs: &ChartObservation) -> Result<Chart, Error> {
        let tgz = client.cached(&obs.digest).ok_or_else(|| Error::Io {
            action: "read cached chart",
            path: client.cache_path(&obs.digest).display().to_string(),
            source: std::io::Error::new(
                std::io::ErrorKind::NotFound,
                "not in the cache; run the check again",
            ),
        })?;
        Ok(Chart {
            name: obs.name.clone(),
            version: obs.version.clone(),
            app_version: obs.app_version.clone(),
            tgz,
            digest: obs.digest.clone(),
        })
    }
}

/// The repository URL with a trailing slash, so relative chart URLs resolve under it.
fn repo_url(repo: &str) -> Result<Url, Error> {
    let with_slash = if repo.ends_with('/') {
        repo.to_string()
    } else {
        format!("{repo}/")
    };
    let url = Url::parse(&with_slash).map_err(|e| Error::Config {
        key: "chart.repository".into(),
        reason: format!("{repo:?} is not a URL: {e}"),
    })?;
    if !matches!(url.scheme(), "http" | "https") {
        return Err(Error::Config {
            key: "chart.repository".into(),
            reason: format!("{repo:?}: use https://, http:// or oci://"),
        });
    }
    Ok(url)
}
