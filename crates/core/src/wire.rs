//! The JSON bodies baton sends to Spinnaker Echo webhooks (docs/wire.md). Pure data:
//! the outbox stores these bodies verbatim, so a redelivery sends the same bytes.

use serde::Serialize;
use serde_json::Value;

/// An artifact in a webhook body.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Artifact {
    /// Artifact type (`docker/image`, `embedded/base64`, `helm/chart`).
    #[serde(rename = "type")]
    pub kind: String,
    /// Name Spinnaker matches expected artifacts by.
    pub name: String,
    /// Reference (image ref, base64 content); absent for `helm/chart`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reference: Option<String>,
    /// Version (digest, chart version).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub version: Option<String>,
    /// Clouddriver account, for `helm/chart`.
    #[serde(rename = "artifactAccount", skip_serializing_if = "Option::is_none")]
    pub artifact_account: Option<String>,
    /// kork's free-form metadata; `{"digest": ...}` on a `helm/chart`, which carries no bytes
    /// to hash, so promotion can tell which chart an execution ran.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Value>,
}

/// An image built by Jenkins and pushed by digest.
#[derive(Debug, Clone)]
pub struct ImageEvent<'a> {
    /// Product (Spinnaker application).
    pub product: &'a str,
    /// Image name in the product.
    pub image: &'a str,
    /// `host/repo`, without tag or digest.
    pub repository: &'a str,
    /// `sha256:...`.
    pub digest: &'a str,
    /// Tag Jenkins pushed, if it said.
    pub tag: Option<&'a str>,
    /// baton event id.
    pub event_id: &'a str,
}

/// The image event body: `POST {gate}/webhooks/webhook/{image_webhook_source}`.
pub fn image_event(e: &ImageEvent<'_>) -> Value {
    let artifact = Artifact {
        kind: "docker/image".into(),
        name: e.repository.into(),
        reference: Some(format!("{}@{}", e.repository, e.digest)),
        version: Some(e.digest.into()),
        artifact_account: None,
        metadata: None,
    };
    serde_json::json!({
        "application": e.product,
        "parameters": {
            "product": e.product,
            "image": e.image,
            "digest": e.digest,
            "tag": e.tag.unwrap_or(""),
            "batonEvent": e.event_id,
        },
        "artifacts": [artifact],
    })
}

/// How the chart travels in a chart event.
#[derive(Debug, Clone)]
pub enum ChartArtifact<'a> {
    /// The .tgz, base64-encoded.
    Embedded {
        /// Base64 of the .tgz.
        base64: &'a str,
    },
    /// A `helm/chart` artifact clouddriver fetches from `account`.
    Reference {
        /// Clouddriver helm account.
        account: &'a str,
        /// `sha256:<hex>` of the chart `.tgz` (the repository index's digest), sent as
        /// `metadata.digest`.
        digest: &'a str,
    },
}

/// A chart (and values) change for some environments of a product.
#[derive(Debug, Clone)]
pub struct ChartEvent<'a> {
    /// Product (Spinnaker application).
    pub product: &'a str,
    /// Commit of the chart source.
    pub commit: &'a str,
    /// Chart name.
    pub chart: &'a str,
    /// Chart version.
    pub version: &'a str,
    /// The chart artifact.
    pub artifact: ChartArtifact<'a>,
    /// Environments this event is for, in config order.
    pub environments: Vec<&'a str>,
    /// `(environment, base64 of values-<env>.yaml)` for every environment of the product.
    pub values: Vec<(&'a str, String)>,
    /// baton event id.
    pub event_id: &'a str,
}

/// The chart event body: `POST {gate}/webhooks/webhook/{webhook_source}`.
///
/// `environments` is sent twice: inside `parameters` (docs/wire.md) and at the top level, because
/// Echo's `payloadConstraints` read top-level keys, so a pipeline can constrain it directly.
pub fn chart_event(e: &ChartEvent<'_>) -> Value {
    let chart = match &e.artifact {
        ChartArtifact::Embedded { base64 } => Artifact {
            kind: "embedded/base64".into(),
            name: format!("{}-{}.tgz", e.chart, e.version),
            reference: Some((*base64).into()),
            version: None,
            artifact_account: None,
            metadata: None,
        },
        ChartArtifact::Reference { account, digest } => Artifact {
            kind: "helm/chart".into(),
            name: e.chart.into(),
            reference: None,
            version: Some(e.version.into()),
            artifact_account: Some((*account).into()),
            metadata: Some(serde_json::json!({ "digest": digest })),
        },
    };
    let mut artifacts = vec![chart];
    artifacts.extend(e.values.iter().map(|(env, b64)| Artifact {
        kind: "embedded/base64".into(),
        name: format!("values-{env}.yaml"),
        reference: Some(b64.clone()),
        version: None,
        artifact_account: None,
        metadata: None,
    }));
    let environments = e.environments.join(",");
    serde_json::json!({
        "application": e.product,
        "environments": environments,
        "parameters": {
            "product": e.product,
            "commit": e.commit,
            "chart": e.chart,
            "chartVersion": e.version,
            "environments": environments,
            "batonEvent": e.event_id,
        },
        "artifacts": artifacts,
    })
}

/// Why an image is rebuilt (`CAUSE`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Cause {
    /// The base image's digest moved.
    BaseImage,
    /// The artifact-source repo got a commit.
    ArtifactSource,
    /// An operator asked.
    Manual,
}

impl Cause {
    /// The `CAUSE` parameter value.
    pub fn as_str(self) -> &'static str {
        match self {
            Cause::BaseImage => "base-image",
            Cause::ArtifactSource => "artifact-source",
            Cause::Manual => "manual",
        }
    }
}

/// What a Jenkins image rebuild is told.
#[derive(Debug, Clone)]
pub struct Rebuild<'a> {
    /// The base image as configured (`host/repo:tag`).
    pub base_image: &'a str,
    /// The base digest observed.
    pub base_digest: &'a str,
    /// Repository the job pushes to.
    pub target_image: &'a str,
    /// Artifact-source commit, if any.
    pub git_commit: Option<&'a str>,
    /// Why.
    pub cause: Cause,
    /// baton event id.
    pub event_id: &'a str,
}

/// The `buildWithParameters` parameters of an image rebuild (docs/wire.md).
pub fn rebuild_params(r: &Rebuild<'_>) -> std::collections::BTreeMap<String, String> {
    let repo = match crate::reference::ImageRef::parse(r.base_image) {
        Ok(parsed) => parsed.name(),
        Err(_) => r
            .base_image
            .split('@')
            .next()
            .unwrap_or(r.base_image)
            .to_owned(),
    };
    [
        ("BASE_IMAGE", r.base_image.to_owned()),
        ("BASE_DIGEST", r.base_digest.to_owned()),
        ("BASE_REF", format!("{repo}@{}", r.base_digest)),
        ("TARGET_IMAGE", r.target_image.to_owned()),
        ("GIT_COMMIT", r.git_commit.unwrap_or("").to_owned()),
        ("CAUSE", r.cause.as_str().to_owned()),
        ("BATON_EVENT", r.event_id.to_owned()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_owned(), v))
    .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn rebuild_params_match_the_documented_ones() {
        let p = rebuild_params(&Rebuild {
            base_image: "docker.wso2.com/wso2micro-gw:3.0.1",
            base_digest: D,
            target_image: "registry.internal:5000/acme/petstore",
            git_commit: None,
            cause: Cause::BaseImage,
            event_id: "ev-3",
        });
        let got: Vec<(&str, &str)> = p.iter().map(|(k, v)| (k.as_str(), v.as_str())).collect();
        let base_ref = format!("docker.wso2.com/wso2micro-gw@{D}");
        assert_eq!(
            got,
            [
                ("BASE_DIGEST", D),
                ("BASE_IMAGE", "docker.wso2.com/wso2micro-gw:3.0.1"),
                ("BASE_REF", base_ref.as_str()),
                ("BATON_EVENT", "ev-3"),
                ("CAUSE", "base-image"),
                ("GIT_COMMIT", ""),
                ("TARGET_IMAGE", "registry.internal:5000/acme/petstore"),
            ]
        );
    }

    const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

    #[test]
    fn image_event_matches_the_documented_body() {
        let body = image_event(&ImageEvent {
            product: "micro-gw",
            image: "petstore",
            repository: "registry.internal:5000/acme/petstore",
            digest: D,
            tag: Some("3.0.1-b7"),
            event_id: "ev-1",
        });
        let expected = json!({"application":"micro-gw",
         "parameters":{"product":"micro-gw","image":"petstore","digest":D,"tag":"3.0.1-b7","batonEvent":"ev-1"},
         "artifacts":[{"type":"docker/image","name":"registry.internal:5000/acme/petstore",
                       "reference":format!("registry.internal:5000/acme/petstore@{D}"),"version":D}]});
        assert_eq!(body, expected);
    }

    #[test]
    fn chart_event_matches_the_documented_body_in_both_deliveries() {
        let values = vec![
            ("dev", "ZGV2".to_owned()),
            ("staging", "c3Q=".to_owned()),
            ("prod", "cHI=".to_owned()),
        ];
        let mut e = ChartEvent {
            product: "micro-gw",
            commit: "abc123",
            chart: "microgateway",
            version: "3.0.1-1",
            artifact: ChartArtifact::Embedded { base64: "VEda" },
            environments: vec!["dev", "staging", "prod"],
            values,
            event_id: "ev-2",
        };
        let expected = json!({"application":"micro-gw","environments":"dev,staging,prod",
         "parameters":{"product":"micro-gw","commit":"abc123","chart":"microgateway","chartVersion":"3.0.1-1",
                       "environments":"dev,staging,prod","batonEvent":"ev-2"},
         "artifacts":[
          {"type":"embedded/base64","name":"microgateway-3.0.1-1.tgz","reference":"VEda"},
          {"type":"embedded/base64","name":"values-dev.yaml","reference":"ZGV2"},
          {"type":"embedded/base64","name":"values-staging.yaml","reference":"c3Q="},
          {"type":"embedded/base64","name":"values-prod.yaml","reference":"cHI="}]});
        assert_eq!(chart_event(&e), expected);

        e.artifact = ChartArtifact::Reference {
            account: "wso2-helm",
            digest: "sha256:0123",
        };
        e.environments = vec!["staging"];
        let body = chart_event(&e);
        assert_eq!(body["parameters"]["environments"], "staging");
        assert_eq!(
            body["environments"], "staging",
            "top level too, for payloadConstraints"
        );
        assert_eq!(
            body["artifacts"][0],
            json!({"type":"helm/chart","name":"microgateway","version":"3.0.1-1","artifactAccount":"wso2-helm",
                   "metadata":{"digest":"sha256:0123"}})
        );
    }
}
