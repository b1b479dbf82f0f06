//! The base-image watch: one digest check per call, compared with the last observation.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

use serde::{Deserialize, Serialize};

use super::client::RegistryClient;
use super::config::RegistryConfig;
use super::manifest::{Platform, select_platform};
use super::reference::ImageReference;
use crate::{CheckReport, Error};

/// Registry clients by host, built from `registries[]`; unknown hosts get anonymous HTTPS.
#[derive(Debug, Default)]
pub struct Registries {
    configs: HashMap<String, RegistryConfig>,
    clients: Mutex<HashMap<String, Arc<RegistryClient>>>,
}

impl Registries {
    /// Builds the clients now so bad credentials files fail at start-up.
    pub fn new(configs: Vec<RegistryConfig>) -> Result<Self, Error> {
        let mut clients = HashMap::new();
        let mut by_host = HashMap::new();
        for c in configs {
            if by_host.contains_key(&c.host) {
                return Err(Error::Config {
                    key: format!("registries[{}]", c.host),
                    reason: "host listed twice".into(),
                });
            }
            clients.insert(c.host.clone(), Arc::new(RegistryClient::new(c.clone())?));
            by_host.insert(c.host.clone(), c);
        }
        Ok(Registries {
            configs: by_host,
            clients: Mutex::new(clients),
        })
    }

    /// Requests sent so far by every client: (host, method, status, count) — for metrics.
    pub fn request_counts(&self) -> Vec<(String, String, u16, u64)> {
        let clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        let mut out = Vec::new();
        for (host, c) in clients.iter() {
            for ((method, status), n) in c.request_counts() {
                out.push((host.clone(), method, status, n));
            }
        }
        out.sort();
        out
    }

    /// The client for `host` (as written in image references).
    pub fn client(&self, host: &str) -> Result<Arc<RegistryClient>, Error> {
        let mut clients = self.clients.lock().unwrap_or_else(|p| p.into_inner());
        if let Some(c) = clients.get(host) {
            return Ok(c.clone());
        }
        let cfg = self
            .configs
            .get(host)
            .cloned()
            .unwrap_or_else(|| RegistryConfig::anonymous(host));
        let c = Arc::new(RegistryClient::new(cfg)?);
        clients.insert(host.to_string(), c.clone());
        Ok(c)
    }
}

/// What to watch: an image reference and, optionally, one platform of it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ImageWatch {
    /// The image (`docker.wso2.com/wso2micro-gw:3.0.1`).
    pub reference: ImageReference,
    /// Track this platform's manifest instead of the index (`linux/amd64`, `linux/arm/v7`).
    pub platform: Option<Platform>,
}

/// One successful digest check.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RegistryObservation {
    /// The reference checked.
    pub reference: String,
    /// Digest the tag points at (index or single manifest).
    pub digest: String,
    /// Media type of that manifest.
    pub media_type: String,
    /// The platform watched, if any.
    pub platform: Option<Platform>,
    /// Digest of that platform's manifest, if a platform is watched.
    pub platform_digest: Option<String>,
    /// `RateLimit-Remaining` as last sent by the registry.
    pub rate_limit_remaining: Option<String>,
}

/// Which digest moved between two observations.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct Moved {
    /// The tag's own digest (index or single manifest).
    pub index: bool,
    /// The watched platform's digest.
    pub platform: bool,
}

impl RegistryObservation {
    /// The digest a rebuild should be keyed on: the platform's when one is watched.
    pub fn tracked_digest(&self) -> &str {
        self.platform_digest.as_deref().unwrap_or(&self.digest)
    }

    /// Which digests differ from `old`.
    pub fn moved_from(&self, old: &RegistryObservation) -> Moved {
        Moved {
            index: self.digest != old.digest,
            platform: self.platform_digest != old.platform_digest,
        }
    }
}

impl ImageWatch {
    /// Parses a reference and an optional platform string.
    pub fn new(reference: &str, platform: Option<&str>) -> Result<Self, Error> {
        Ok(ImageWatch {
            reference: ImageReference::parse(reference)?,
            platform: platform
                .map(|p| Platform::try_from(p.to_string()))
                .transpose()?,
        })
    }

    /// Checks the digest and compares it with `last`. Costs one `HEAD` when nothing moved;
    /// a digest that moved costs one manifest GET more, to verify the digest against the
    /// manifest's bytes before it is reported.
    pub async fn check(
        &self,
        registries: &Registries,
        last: Option<&RegistryObservation>,
    ) -> CheckReport<RegistryObservation> {
        CheckReport::timed(
            last,
            |old, new| old.tracked_digest() == new.tracked_digest(),
            self.observe(registries, last),
        )
        .await
    }

    /// One observation, without comparing.
    pub async fn observe(
        &self,
        registries: &Registries,
        last: Option<&RegistryObservation>,
    ) -> Result<RegistryObservation, Error> {
        let r = &self.reference;
        let client = registries.client(&r.registry)?;
        let head = client
            .manifest_digest(&r.repository, r.manifest_ref())
            .await?
            .ok_or_else(|| Error::Api {
                method: "HEAD".into(),
                url: r.to_string(),
                status: 404,
                body: "manifest unknown: the tag does not exist".into(),
            })?;
        // Verify what we trust: a digest not seen before is checked against the manifest the
        // registry serves for the tag before anyone acts on it, so a wrong
        // Docker-Content-Digest cannot trigger a rebuild with a digest nobody serves. (The
        // platform path below GETs the index by digest, which verifies it the same way.)
        let moved = last.is_none_or(|l| l.digest != head.digest);
        let index_read_below =
            self.platform.is_some() && (head.is_index() || head.media_type.is_empty());
        if moved && !head.from_get && !index_read_below {
            let (_, _, actual) = client.get_manifest(&r.repository, r.manifest_ref()).await?;
            if actual != head.digest {
                return Err(Error::DigestMismatch {
                    url: format!("{r} (Docker-Content-Digest vs the manifest served)"),
                    expected: head.digest,
                    actual,
                });
            }
        }
        let platform_digest = match &self.platform {
            None => None,
            Some(_) if !head.is_index() && !head.media_type.is_empty() => Some(head.digest.clone()),
            Some(p) => match last {
                // Same index, same children: no need to read it again.
                Some(l)
                    if l.digest == head.digest
                        && l.platform.as_ref() == Some(p)
                        && l.platform_digest.is_some() =>
                {
                    l.platform_digest.clone()
                }
                _ => {
                    let (body, media_type, _) =
                        client.get_manifest(&r.repository, &head.digest).await?;
                    let is_index = media_type == super::manifest::OCI_INDEX
                        || media_type == super::manifest::DOCKER_LIST
                        || serde_json::from_slice::<serde_json::Value>(&body)
                            .is_ok_and(|v| v.get("manifests").is_some());
                    // A single-platform image (type unknown from HEAD): its own digest.
                    let found = if is_index {
                        select_platform(&body, p, &r.to_string())?
                    } else {
                        Some(head.digest.clone())
                    };
                    Some(found.ok_or_else(|| Error::Api {
                        method: "GET".into(),
                        url: r.to_string(),
                        status: 404,
                        body: format!("the index has no {} manifest", String::from(p.clone())),
                    })?)
                }
            },
        };
        Ok(RegistryObservation {
            reference: r.to_string(),
            digest: head.digest,
            media_type: head.media_type,
            platform: self.platform.clone(),
            platform_digest,
            rate_limit_remaining: client.rate_limit_remaining(),
        })
    }
}
