//! What an execution ran, read from its trigger artifacts as Orca records them: the chart
//! (name, version, digest), the environment's values file (digest) and an image (digest).
//!
//! Promotion compares artifacts, not events (issue 16): a staging-only values change is a new
//! chart event, but the chart it runs is the one dev already ran. So the identity of what ran
//! is taken from what Spinnaker recorded (`trigger.artifacts`, then the bound artifacts of
//! `trigger.resolvedExpectedArtifacts`), never from baton's own bookkeeping:
//!
//! - `embedded/base64` content: its digest is the sha256 of the decoded bytes (for the chart
//!   that is the `.tgz`, the same digest a Helm repository index lists);
//! - `remote/base64` (Orca's artifact store, `ref://<app>/<sha256 hex>`): the store keys content
//!   by its sha256, so the reference names the digest;
//! - `helm/chart` carries no bytes: baton puts the index digest into the artifact's
//!   `metadata.digest` ([`baton_core::wire::chart_event`]) and kork keeps metadata;
//! - `docker/image`: `version` when it is a digest, else the digest after `@` in `reference`.

use serde::{Deserialize, Serialize};
use sha2::Digest as _;
use spinnaker_client::model::artifact::{
    Artifact, DOCKER_IMAGE, EMBEDDED_BASE64, HELM_CHART, REMOTE_BASE64,
};
use spinnaker_client::model::execution::Execution;
use utoipa::ToSchema;

use super::find::trigger_parameter;

/// A chart an execution ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ChartRan {
    /// Chart name.
    pub name: String,
    /// Chart version, when recorded.
    pub version: Option<String>,
    /// `sha256:<hex>` of the chart `.tgz`, when it can be told.
    pub digest: Option<String>,
}

/// What one execution ran.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Ran {
    /// The chart, when the execution had one.
    pub chart: Option<ChartRan>,
    /// `sha256:<hex>` of the environment's `values-<env>.yaml`.
    pub values_digest: Option<String>,
    /// The image repository and digest, when an image event started it.
    pub image: Option<ImageRan>,
}

/// An image an execution ran.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ImageRan {
    /// `host/repo`.
    pub repository: String,
    /// `sha256:<hex>`.
    pub digest: String,
}

fn sha256(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

/// The digest of base64 content: hashed when embedded, named by the store when remote.
fn content_digest(a: &Artifact) -> Option<String> {
    match a.type_str() {
        EMBEDDED_BASE64 => a.embedded_bytes()?.ok().map(|b| sha256(&b)),
        REMOTE_BASE64 => {
            let hex = a
                .reference
                .as_deref()?
                .strip_prefix("ref://")?
                .rsplit('/')
                .next()?;
            (hex.len() == 64 && hex.bytes().all(|c| c.is_ascii_hexdigit()))
                .then(|| format!("sha256:{}", hex.to_ascii_lowercase()))
        }
        _ => None,
    }
}

fn image_digest(a: &Artifact) -> Option<String> {
    a.version
        .as_deref()
        .filter(|v| v.starts_with("sha256:"))
        .or_else(|| a.reference.as_deref()?.rsplit_once('@').map(|(_, d)| d))
        .filter(|d| d.starts_with("sha256:"))
        .map(str::to_owned)
}

impl Ran {
    /// What `x`, an execution of environment `env`'s pipeline, ran.
    pub fn of(x: &Execution, env: &str) -> Self {
        let t = &x.trigger;
        let bound = t
            .resolved_expected_artifacts
            .iter()
            .flatten()
            .filter_map(|e| e.bound_artifact.as_ref());
        let values_name = format!("values-{env}.yaml");
        let mut ran = Ran::default();
        for a in t.artifacts.iter().flatten().chain(bound) {
            let name = a.name.as_deref().unwrap_or_default();
            match a.type_str() {
                EMBEDDED_BASE64 | REMOTE_BASE64 if name == values_name => {
                    ran.values_digest = ran.values_digest.or_else(|| content_digest(a));
                }
                EMBEDDED_BASE64 | REMOTE_BASE64
                    if name.ends_with(".tgz") && ran.chart.is_none() =>
                {
                    let chart = trigger_parameter(x, "chart");
                    let version = trigger_parameter(x, "chartVersion");
                    ran.chart = Some(ChartRan {
                        name: chart
                            .unwrap_or_else(|| name.trim_end_matches(".tgz"))
                            .to_owned(),
                        version: version.map(str::to_owned),
                        digest: content_digest(a),
                    });
                }
                HELM_CHART if ran.chart.is_none() => {
                    ran.chart = Some(ChartRan {
                        name: name.to_owned(),
                        version: a.version.clone(),
                        digest: a
                            .metadata_value("digest")
                            .and_then(|d| d.as_str())
                            .map(str::to_owned),
                    });
                }
                DOCKER_IMAGE if ran.image.is_none() => {
                    ran.image = image_digest(a).map(|digest| ImageRan {
                        repository: name.to_owned(),
                        digest,
                    });
                }
                _ => {}
            }
        }
        ran
    }

    /// Whether this ran nothing baton can identify.
    pub fn is_empty(&self) -> bool {
        self.chart.is_none() && self.image.is_none()
    }

    /// Whether `other` ran the same artifact as this, for promotion: the same chart digest
    /// when this has a chart, and the same image digest when this has an image; values do
    /// not count (they are per environment by design).
    pub fn same_artifact(&self, other: &Ran) -> bool {
        let chart = match (&self.chart, &other.chart) {
            (None, _) => true,
            (Some(a), Some(b)) => a.identity() == b.identity(),
            (Some(_), None) => false,
        };
        let image = match (&self.image, &other.image) {
            (None, _) => true,
            (Some(a), Some(b)) => a.digest == b.digest,
            (Some(_), None) => false,
        };
        !self.is_empty() && chart && image
    }

    /// The artifact in words: `chart microgateway 3.0.1-1 (sha256:0123456789ab)`, `image
    /// registry/acme/petstore@sha256:0123456789ab`, both joined with ` + `, or `no chart or image`.
    pub fn describe(&self) -> String {
        let mut parts = Vec::new();
        if let Some(c) = &self.chart {
            let version = c
                .version
                .as_deref()
                .map(|v| format!(" {v}"))
                .unwrap_or_default();
            let digest = c
                .digest
                .as_deref()
                .map_or("digest unknown".to_owned(), short);
            parts.push(format!("chart {}{version} ({digest})", c.name));
        }
        if let Some(i) = &self.image {
            parts.push(format!("image {}@{}", i.repository, short(&i.digest)));
        }
        if parts.is_empty() {
            return "no chart or image".to_owned();
        }
        parts.join(" + ")
    }
}

impl ChartRan {
    /// The digest, or `name@version` when the digest is unknown (a `helm/chart` sent before
    /// baton recorded digests).
    fn identity(&self) -> String {
        match &self.digest {
            Some(d) => d.clone(),
            None => format!("{}@{}", self.name, self.version.as_deref().unwrap_or("?")),
        }
    }
}

/// `sha256:` and the first 12 hex digits.
pub fn short(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ => digest.to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn execution(trigger: serde_json::Value) -> Execution {
        serde_json::from_value(json!({"id": "X", "status": "SUCCEEDED", "trigger": trigger}))
            .unwrap()
    }

    #[test]
    fn embedded_chart_and_values_are_hashed_and_images_read_by_digest() {
        let d = format!("sha256:{}", "ab".repeat(32));
        // trigger.artifacts as the stand-in (and Orca) record them: kork's NON_NULL fields,
        // customKind and metadata always present.
        let x = execution(json!({"type": "webhook",
            "parameters": {"chart": "microgateway", "chartVersion": "3.0.1-1"},
            "artifacts": [
                {"type": "embedded/base64", "name": "microgateway-3.0.1-1.tgz", "reference": "dGd6",
                 "customKind": false, "metadata": {}},
                {"type": "embedded/base64", "name": "values-dev.yaml", "reference": "ZGV2",
                 "customKind": false, "metadata": {}},
                {"type": "embedded/base64", "name": "values-staging.yaml", "reference": "c3Q=",
                 "customKind": false, "metadata": {}},
                {"type": "docker/image", "name": "reg/acme/petstore", "reference": format!("reg/acme/petstore@{d}"),
                 "customKind": false, "metadata": {}}]}));
        let ran = Ran::of(&x, "staging");
        let chart = ran.chart.clone().unwrap();
        assert_eq!(chart.name, "microgateway");
        assert_eq!(chart.version.as_deref(), Some("3.0.1-1"));
        assert_eq!(chart.digest, Some(sha256(b"tgz")));
        assert_eq!(ran.values_digest, Some(sha256(b"st")));
        assert_eq!(ran.image.as_ref().unwrap().digest, d);
        assert_eq!(
            ran.describe(),
            format!(
                "chart microgateway 3.0.1-1 ({}) + image reg/acme/petstore@sha256:abababababab",
                short(&sha256(b"tgz"))
            )
        );
        // dev's values differ, the artifact is the same
        let dev = Ran::of(&x, "dev");
        assert_ne!(dev.values_digest, ran.values_digest);
        assert!(ran.same_artifact(&dev));
    }

    #[test]
    fn helm_chart_digest_comes_from_metadata_and_remote_content_from_its_reference() {
        let hex = "b323f5f973e9393855b3af136a9989677d2ea51e64d871f4b50d66a1a92adc7c";
        let x = execution(json!({"type": "webhook", "artifacts": [
            {"type": "helm/chart", "name": "nginx", "version": "0.2.4", "artifactAccount": "helm",
             "customKind": false, "metadata": {"digest": "sha256:01"}},
            // reference shape from the recorded execution (tests/fixtures SOURCES.md)
            {"type": "remote/base64", "name": "values-prod.yaml",
             "reference": format!("ref://kubernetesapp/{hex}"), "customKind": false, "metadata": {}}]}));
        let ran = Ran::of(&x, "prod");
        assert_eq!(
            ran.chart.as_ref().unwrap().digest.as_deref(),
            Some("sha256:01")
        );
        assert_eq!(ran.values_digest, Some(format!("sha256:{hex}")));
        let other = Ran {
            chart: Some(ChartRan {
                name: "nginx".into(),
                version: Some("0.2.4".into()),
                digest: Some("sha256:02".into()),
            }),
            ..Ran::default()
        };
        assert!(!ran.same_artifact(&other), "same version, other digest");
        assert!(
            !Ran::default().same_artifact(&Ran::default()),
            "nothing known"
        );
    }
}
