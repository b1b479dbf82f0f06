//! Charts in OCI registries: tag choice, manifest HEAD, chart layer download.

use serde::Deserialize;

use super::refused::Guard;
use super::version::{VersionSpec, select};
use super::watch::{Chart, ChartObservation, ChartWatch};
use super::{HELM_CHART_LAYER_MEDIA_TYPE, HELM_CONFIG_MEDIA_TYPE, HelmClient};
use crate::Error;
use crate::http::decode_json;
use crate::registry::{ImageReference, RegistryClient};

#[derive(Deserialize)]
struct Manifest {
    config: Descriptor,
    #[serde(default)]
    layers: Vec<Descriptor>,
}

#[derive(Deserialize)]
struct Descriptor {
    #[serde(rename = "mediaType")]
    media_type: String,
    digest: String,
    #[serde(default)]
    size: u64,
}

impl ChartWatch {
    pub(crate) async fn observe_oci(
        &self,
        client: &HelmClient,
        last: Option<&ChartObservation>,
        guard: &mut Guard,
    ) -> Result<ChartObservation, Error> {
        let base = self
            .repository
            .trim_start_matches("oci://")
            .trim_end_matches('/');
        let r = ImageReference::parse(&format!("{base}/{}", self.name))?;
        let registry = client.registries.client(&r.registry)?;
        let version = match &self.version {
            VersionSpec::Exact(v) => v.clone(),
            VersionSpec::Range(_) => {
                // OCI tags cannot hold '+': Helm writes it as '_'.
                let tags = registry.list_tags(&r.repository).await?;
                let entries: Vec<super::ChartEntry> = tags
                    .iter()
                    .map(|t| super::ChartEntry {
                        name: self.name.clone(),
                        version: t.replace('_', "+"),
                        app_version: None,
                        urls: vec![],
                        digest: None,
                        created: None,
                        deprecated: false,
                    })
                    .collect();
                select(&self.name, &entries, &self.version, self.prereleases)?
                    .version
                    .clone()
            }
        };
        let tag = version.replace('+', "_");
        let head = registry
            .manifest_digest(&r.repository, &tag)
            .await?
            .ok_or_else(|| Error::NoMatchingVersion {
                chart: self.name.clone(),
                constraint: self.version.to_string(),
                available: format!("no tag {tag} in {}", r.name()),
            })?;
        if let Some(l) = last
            && l.manifest_digest.as_deref() == Some(head.digest.as_str())
        {
            return Ok(l.clone());
        }
        guard.skip(self, &version, &head.digest)?;
        let shown = format!("oci://{}:{tag}", r.name());
        let chart = guard
            .fetch(
                self,
                &version,
                head.digest.clone(),
                self.fetch_oci(client, &registry, &r, &head.digest, &shown, &version),
            )
            .await?;
        let source = format!("oci://{}@{}", r.name(), head.digest);
        Ok(self.observed(chart, source, None, Some(head.digest)))
    }

    /// The chart of manifest `digest`: its layer downloaded (or from the cache) and checked.
    async fn fetch_oci(
        &self,
        client: &HelmClient,
        registry: &RegistryClient,
        r: &ImageReference,
        digest: &str,
        shown: &str,
        version: &str,
    ) -> Result<Chart, Error> {
        let (body, _, _) = registry.get_manifest(&r.repository, digest).await?;
        let m: Manifest = decode_json(&body, shown, "chart manifest")?;
        if m.config.media_type != HELM_CONFIG_MEDIA_TYPE {
            return Err(Error::InvalidResponse {
                url: shown.to_owned(),
                reason: format!(
                    "config media type {:?} is not a Helm chart",
                    m.config.media_type
                ),
            });
        }
        let layer = m
            .layers
            .iter()
            .find(|l| l.media_type == HELM_CHART_LAYER_MEDIA_TYPE)
            .ok_or_else(|| Error::InvalidResponse {
                url: shown.to_owned(),
                reason: format!("no {HELM_CHART_LAYER_MEDIA_TYPE} layer"),
            })?;
        let limit = client.limits.archive.max_compressed;
        if layer.size > limit {
            return Err(Error::TooLarge {
                what: format!("chart layer of {shown}"),
                limit,
            });
        }
        let tgz = match client.cached(&layer.digest) {
            Some(t) => t,
            None => {
                registry
                    .get_blob(&r.repository, &layer.digest, limit)
                    .await?
            }
        };
        self.accept(client, shown, &tgz, version)
    }
}
