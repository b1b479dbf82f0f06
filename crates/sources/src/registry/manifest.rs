//! Manifest operations: digest by HEAD, manifest and blob GETs, tag lists, platform choice.

use bytes::Bytes;
use http::Method;
use serde::Deserialize;

use super::client::{RegistryClient, header_str};
use crate::Error;
use crate::http::{
    body_excerpt, decode_json, is_sha256_digest, read_success, sha256_digest, verified_digest,
};

/// OCI image index.
pub const OCI_INDEX: &str = "application/vnd.oci.image.index.v1+json";
/// OCI image manifest.
pub const OCI_MANIFEST: &str = "application/vnd.oci.image.manifest.v1+json";
/// Docker manifest list.
pub const DOCKER_LIST: &str = "application/vnd.docker.distribution.manifest.list.v2+json";
/// Docker image manifest v2.
pub const DOCKER_MANIFEST: &str = "application/vnd.docker.distribution.manifest.v2+json";
/// All four, sent on every manifest request.
pub const MANIFEST_ACCEPT: [&str; 4] = [OCI_INDEX, OCI_MANIFEST, DOCKER_LIST, DOCKER_MANIFEST];
/// Largest manifest we read (the spec suggests registries cap at 4 MiB).
pub const MAX_MANIFEST_BYTES: u64 = 4 << 20;

/// What a manifest HEAD (or GET fallback) told us.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ManifestHead {
    /// `sha256:...` of the manifest bytes.
    pub digest: String,
    /// Its media type.
    pub media_type: String,
    /// True when the digest had to be computed from a GET (the registry omitted the header).
    pub from_get: bool,
}

impl ManifestHead {
    /// True for an OCI index or Docker manifest list.
    pub fn is_index(&self) -> bool {
        self.media_type == OCI_INDEX || self.media_type == DOCKER_LIST
    }
}

/// A platform such as `linux/amd64` or `linux/arm64/v8`.
#[derive(Debug, Clone, PartialEq, Eq, Hash, serde::Serialize, serde::Deserialize)]
#[serde(try_from = "String", into = "String")]
pub struct Platform {
    /// `linux`, `windows`, ...
    pub os: String,
    /// `amd64`, `arm64`, ...
    pub architecture: String,
    /// `v7`, `v8`, ... when given.
    pub variant: Option<String>,
}

impl TryFrom<String> for Platform {
    type Error = Error;
    fn try_from(s: String) -> Result<Self, Error> {
        let parts: Vec<&str> = s.split('/').collect();
        let bad = || Error::Config {
            key: "platform".into(),
            reason: format!("{s:?} is not os/arch[/variant], e.g. linux/amd64"),
        };
        if parts.iter().any(|p| p.is_empty()) {
            return Err(bad());
        }
        match parts.as_slice() {
            [os, arch] => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: None,
            }),
            [os, arch, v] => Ok(Platform {
                os: os.to_string(),
                architecture: arch.to_string(),
                variant: Some(v.to_string()),
            }),
            _ => Err(bad()),
        }
    }
}

impl From<Platform> for String {
    fn from(p: Platform) -> String {
        match p.variant {
            Some(v) => format!("{}/{}/{v}", p.os, p.architecture),
            None => format!("{}/{}", p.os, p.architecture),
        }
    }
}

#[derive(Deserialize)]
struct Index {
    #[serde(default)]
    manifests: Vec<IndexEntry>,
}

#[derive(Deserialize)]
struct IndexEntry {
    digest: String,
    #[serde(default)]
    platform: Option<IndexPlatform>,
}

#[derive(Deserialize)]
struct IndexPlatform {
    os: String,
    architecture: String,
    #[serde(default)]
    variant: Option<String>,
}

/// Picks `want` from an index document. A wanted variant must match; without one, an entry
/// without variant wins over one with (and `arm64` treats a missing variant as `v8`).
pub fn select_platform(
    index_json: &[u8],
    want: &Platform,
    url: &str,
) -> Result<Option<String>, Error> {
    let index: Index = decode_json(index_json, url, "image index")?;
    let norm = |arch: &str, v: Option<&str>| -> Option<String> {
        match (arch, v) {
            ("arm64", None) => Some("v8".to_string()),
            (_, v) => v.map(str::to_string),
        }
    };
    let want_variant = norm(&want.architecture, want.variant.as_deref());
    let mut best: Option<(u8, String)> = None;
    for m in index.manifests {
        let Some(p) = m.platform else { continue };
        if p.os != want.os || p.architecture != want.architecture {
            continue;
        }
        let have = norm(&p.architecture, p.variant.as_deref());
        let rank = match (&want_variant, &have) {
            (Some(w), Some(h)) if w == h => 0,
            (Some(_), _) => continue,
            (None, None) => 0,
            (None, Some(_)) => 1,
        };
        if best.as_ref().is_none_or(|(r, _)| rank < *r) {
            best = Some((rank, m.digest));
        }
    }
    Ok(best.map(|(_, d)| d))
}

impl RegistryClient {
    /// Digest of `repository:reference` with ONE `HEAD` carrying all four Accept types; falls
    /// back to GET + sha256 only when the registry omits `Docker-Content-Digest`.
    /// `Ok(None)` means the tag does not exist (404).
    pub async fn manifest_digest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<Option<ManifestHead>, Error> {
        let url = self.url(&format!("{repository}/manifests/{reference}"))?;
        let scope = pull_scope(repository);
        let resp = self
            .send(Method::HEAD, url.clone(), &MANIFEST_ACCEPT, &scope)
            .await?;
        let status = resp.status();
        if status == http::StatusCode::NOT_FOUND {
            return Ok(None);
        }
        if !status.is_success() {
            return Err(Error::Api {
                method: "HEAD".into(),
                url: url.to_string(),
                status: status.as_u16(),
                body: String::new(),
            });
        }
        let media_type = check_media_type(resp.headers(), url.as_str())?;
        match header_str(resp.headers(), "docker-content-digest") {
            Some(d) if is_sha256_digest(&d) => Ok(Some(ManifestHead {
                digest: d,
                media_type,
                from_get: false,
            })),
            Some(d) => Err(Error::InvalidResponse {
                url: url.to_string(),
                reason: format!("Docker-Content-Digest {d:?} is not sha256:<64 hex>"),
            }),
            None => {
                let (body, media_type, digest) = self.get_manifest(repository, reference).await?;
                drop(body);
                Ok(Some(ManifestHead {
                    digest,
                    media_type,
                    from_get: true,
                }))
            }
        }
    }

    /// GETs a manifest: (bytes, media type, sha256 of the bytes). A digest reference is verified.
    pub async fn get_manifest(
        &self,
        repository: &str,
        reference: &str,
    ) -> Result<(Bytes, String, String), Error> {
        let url = self.url(&format!("{repository}/manifests/{reference}"))?;
        let resp = self
            .send(
                Method::GET,
                url.clone(),
                &MANIFEST_ACCEPT,
                &pull_scope(repository),
            )
            .await?;
        let media_type = if resp.status().is_success() {
            check_media_type(resp.headers(), url.as_str())?
        } else {
            String::new()
        };
        let what = format!("manifest {url}");
        let body = read_success(resp, &url, MAX_MANIFEST_BYTES, &what).await?;
        if serde_json::from_slice::<serde::de::IgnoredAny>(&body).is_err() {
            return Err(Error::InvalidResponse {
                url: url.to_string(),
                reason: format!("manifest is not JSON: {}", body_excerpt(&body)),
            });
        }
        let digest = if reference.starts_with("sha256:") {
            verified_digest(&url, &body, reference)?
        } else {
            sha256_digest(&body)
        };
        Ok((body, media_type, digest))
    }

    /// GETs a blob of at most `limit` bytes and verifies its sha256.
    pub async fn get_blob(
        &self,
        repository: &str,
        digest: &str,
        limit: u64,
    ) -> Result<Bytes, Error> {
        let url = self.url(&format!("{repository}/blobs/{digest}"))?;
        let resp = self
            .send(Method::GET, url.clone(), &["*/*"], &pull_scope(repository))
            .await?;
        let body = read_success(resp, &url, limit, &format!("blob {url}")).await?;
        verified_digest(&url, &body, digest)?;
        Ok(body)
    }

    /// All tags of a repository (follows `Link` pagination, at most 100 pages).
    pub async fn list_tags(&self, repository: &str) -> Result<Vec<String>, Error> {
        #[derive(Deserialize)]
        struct Tags {
            #[serde(default)]
            tags: Option<Vec<String>>,
        }
        let mut url = self.url(&format!("{repository}/tags/list?n=1000"))?;
        let mut out = Vec::new();
        for _ in 0..100 {
            let resp = self
                .send(
                    Method::GET,
                    url.clone(),
                    &["application/json"],
                    &pull_scope(repository),
                )
                .await?;
            let link = header_str(resp.headers(), "link");
            let body = read_success(resp, &url, 16 << 20, &format!("tag list {url}")).await?;
            let tags: Tags = decode_json(&body, url.as_str(), "tag list")?;
            out.extend(tags.tags.unwrap_or_default());
            match link
                .as_deref()
                .and_then(|l| l.split(';').next())
                .map(|l| l.trim().trim_start_matches('<').trim_end_matches('>'))
            {
                Some(next) if !next.is_empty() => {
                    url = url.join(next).map_err(|e| Error::InvalidResponse {
                        url: url.to_string(),
                        reason: format!("bad Link {next:?}: {e}"),
                    })?;
                }
                _ => return Ok(out),
            }
        }
        Ok(out)
    }
}

pub(crate) fn pull_scope(repository: &str) -> String {
    format!("repository:{repository}:pull")
}

/// The answer's media type, refusing HTML and other non-manifest types.
fn check_media_type(h: &http::HeaderMap, url: &str) -> Result<String, Error> {
    let ct = header_str(h, "content-type").unwrap_or_default();
    let base = ct
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    // Some registries omit Content-Type on HEAD: unknown is allowed, a wrong type is not.
    let known = base.is_empty()
        || MANIFEST_ACCEPT.contains(&base.as_str())
        || base == "application/vnd.docker.distribution.manifest.v1+prettyjws"
        || base == "application/json";
    if !known {
        return Err(Error::InvalidResponse {
            url: url.to_string(),
            reason: format!("Content-Type {ct:?} is not a manifest type (is this a registry?)"),
        });
    }
    Ok(base)
}
