//! kork `Artifact` and `ExpectedArtifact`, with Spinnaker's matching rule.

use base64::Engine as _;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

/// Artifact type of inline content (base64 in `reference`).
pub const EMBEDDED_BASE64: &str = "embedded/base64";
/// Artifact type Orca gives stored embedded content (`ref://...` references).
pub const REMOTE_BASE64: &str = "remote/base64";
/// Artifact type of a Helm chart in a clouddriver Helm account.
pub const HELM_CHART: &str = "helm/chart";
/// Artifact type of a container image.
pub const DOCKER_IMAGE: &str = "docker/image";
/// Artifact type of a file behind an HTTP URL.
pub const HTTP_FILE: &str = "http/file";
/// Artifact type of a git repository (kork spells it `git/repo`, not `gitrepo`).
pub const GIT_REPO: &str = "git/repo";

/// A Spinnaker artifact (kork `Artifact`).
///
/// String fields accept JSON numbers and booleans as their text, as Jackson's
/// `StringDeserializer` does (`"version": 3` reads as `"3"`, `1.0` as `"1.0"`).
///
/// Absent fields stay absent on output (kork writes with `NON_NULL`). kork folds unknown keys
/// into `metadata`; this model keeps them in [`Artifact::extra`] so a decode/encode round trip
/// gives back the same JSON, and [`Artifact::metadata_value`] looks in both places.
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Artifact {
    /// Artifact type, e.g. `embedded/base64`, `helm/chart`, `docker/image`.
    #[serde(
        rename = "type",
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::triggering::java_string"
    )]
    pub artifact_type: Option<String>,
    /// Whether this is a custom artifact kind.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub custom_kind: Option<bool>,
    /// Name (for images: `registry/repository`).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::triggering::java_string"
    )]
    pub name: Option<String>,
    /// Version (chart version, image digest or tag).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::triggering::java_string"
    )]
    pub version: Option<String>,
    /// Location (e.g. a namespace or region).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::triggering::java_string"
    )]
    pub location: Option<String>,
    /// Reference: the base64 content for `embedded/base64`, a URL, or `name@digest`.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::triggering::java_string"
    )]
    pub reference: Option<String>,
    /// Free-form metadata.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub metadata: Option<Map<String, Value>>,
    /// The clouddriver artifact account that can fetch this artifact.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::triggering::java_string"
    )]
    pub artifact_account: Option<String>,
    /// Provenance (the URL of what produced it).
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::triggering::java_string"
    )]
    pub provenance: Option<String>,
    /// Unique id of this artifact instance.
    #[serde(
        default,
        skip_serializing_if = "Option::is_none",
        deserialize_with = "super::triggering::java_string"
    )]
    pub uuid: Option<String>,
    /// Keys kork does not know (e.g. Deck's legacy `kind`, `id`); kept for a faithful round trip.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl Artifact {
    fn typed(artifact_type: &str, name: impl Into<String>) -> Self {
        Self {
            artifact_type: Some(artifact_type.to_owned()),
            name: Some(name.into()),
            ..Self::default()
        }
    }

    /// `embedded/base64`: the bytes go base64-encoded into `reference`.
    pub fn embedded_base64(name: impl Into<String>, bytes: &[u8]) -> Self {
        Self {
            reference: Some(base64::engine::general_purpose::STANDARD.encode(bytes)),
            ..Self::typed(EMBEDDED_BASE64, name)
        }
    }

    /// `helm/chart` in a clouddriver Helm account.
    pub fn helm_chart(
        name: impl Into<String>,
        version: impl Into<String>,
        artifact_account: impl Into<String>,
    ) -> Self {
        Self {
            version: Some(version.into()),
            artifact_account: Some(artifact_account.into()),
            ..Self::typed(HELM_CHART, name)
        }
    }

    /// `docker/image` pinned by digest: reference `name@digest`, version `digest`.
    pub fn docker_image_digest(name: impl Into<String>, digest: impl Into<String>) -> Self {
        let (name, digest) = (name.into(), digest.into());
        Self {
            reference: Some(format!("{name}@{digest}")),
            version: Some(digest),
            ..Self::typed(DOCKER_IMAGE, name)
        }
    }

    /// `docker/image` by tag: reference `name:tag`, version `tag`.
    pub fn docker_image_tag(name: impl Into<String>, tag: impl Into<String>) -> Self {
        let (name, tag) = (name.into(), tag.into());
        Self {
            reference: Some(format!("{name}:{tag}")),
            version: Some(tag),
            ..Self::typed(DOCKER_IMAGE, name)
        }
    }

    /// `http/file` fetched from `url` through `artifact_account`.
    pub fn http_file(
        name: impl Into<String>,
        url: impl Into<String>,
        artifact_account: impl Into<String>,
    ) -> Self {
        Self {
            reference: Some(url.into()),
            artifact_account: Some(artifact_account.into()),
            ..Self::typed(HTTP_FILE, name)
        }
    }

    /// `git/repo`: `reference` is the clone URL, `version` the branch, tag or commit.
    pub fn git_repo(url: impl Into<String>, version: impl Into<String>) -> Self {
        let url = url.into();
        Self {
            reference: Some(url.clone()),
            version: Some(version.into()),
            ..Self::typed(GIT_REPO, url)
        }
    }

    /// The type, or `""` when absent.
    pub fn type_str(&self) -> &str {
        self.artifact_type.as_deref().unwrap_or("")
    }

    /// A metadata key as kork sees it: from `metadata`, else from the unknown top-level keys.
    pub fn metadata_value(&self, key: &str) -> Option<&Value> {
        self.metadata
            .as_ref()
            .and_then(|m| m.get(key))
            .or_else(|| self.extra.get(key))
    }

    /// The decoded content of an `embedded/base64` artifact (`None` for other types or no
    /// reference; `Some(Err)` when the reference is not base64).
    pub fn embedded_bytes(&self) -> Option<Result<Vec<u8>, base64::DecodeError>> {
        if self.type_str() != EMBEDDED_BASE64 {
            return None;
        }
        let reference = self.reference.as_deref()?;
        Some(base64::engine::general_purpose::STANDARD.decode(reference))
    }
}

/// An expected artifact of a pipeline or stage (kork `ExpectedArtifact`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ExpectedArtifact {
    /// Id other parts of the pipeline use to refer to this expected artifact.
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub id: String,
    /// Pattern an incoming artifact must match (see [`ExpectedArtifact::matches`]).
    pub match_artifact: Option<Artifact>,
    /// Fall back to the artifact of the previous execution.
    pub use_prior_artifact: Option<bool>,
    /// Fall back to `defaultArtifact`.
    pub use_default_artifact: Option<bool>,
    /// The artifact used when nothing matched and `useDefaultArtifact` is set.
    pub default_artifact: Option<Artifact>,
    /// The artifact this expectation was bound to (in executions).
    pub bound_artifact: Option<Artifact>,
    /// Name shown in Deck.
    pub display_name: Option<String>,
    /// Keys not modelled here, kept as they were.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// A `matchArtifact` field that is not a valid regular expression.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BadPattern {
    /// The field (`type`, `name`, `version`, `location`, `reference`).
    pub field: &'static str,
    /// The pattern as written.
    pub pattern: String,
    /// What the regex parser said.
    pub reason: String,
    /// True when the pattern uses a Java construct this crate cannot evaluate (Java may
    /// accept it), false when it is invalid.
    pub unsupported: bool,
}

impl ExpectedArtifact {
    /// An expected artifact that matches on `type` and `name` (both may be regexes).
    pub fn matching(id: impl Into<String>, artifact_type: &str, name: impl Into<String>) -> Self {
        Self {
            id: id.into(),
            match_artifact: Some(Artifact::typed(artifact_type, name)),
            use_prior_artifact: Some(false),
            use_default_artifact: Some(false),
            ..Self::default()
        }
    }

    /// kork's rule: the fields type, name, version, location and reference of `matchArtifact`
    /// are compared (account is not); an empty field matches anything; otherwise the incoming
    /// value must be equal or FULLY match the field as a regex. `embedded/base64` and
    /// `remote/base64` match each other. A field that is not a valid regex matches only by
    /// equality (kork would throw; [`ExpectedArtifact::bad_patterns`] reports it), and so does
    /// one this crate cannot evaluate (see [`ExpectedArtifact::match_verdict`]).
    pub fn matches(&self, other: &Artifact) -> bool {
        self.match_verdict(other) == super::triggering::Verdict::Holds
    }

    /// Like [`ExpectedArtifact::matches`], but says when a field's pattern could not be
    /// evaluated or kork would throw (an incoming artifact without a type against a typed
    /// expectation: `other.getType().equals` on null).
    pub fn match_verdict(&self, other: &Artifact) -> super::triggering::Verdict {
        use super::triggering::Verdict;
        let Some(m) = &self.match_artifact else {
            return Verdict::Holds;
        };
        let typed = m.artifact_type.as_deref().is_some_and(|t| !t.is_empty());
        let fields = [
            (m.artifact_type.as_deref(), other.artifact_type.as_deref()),
            (m.name.as_deref(), other.name.as_deref()),
            (m.version.as_deref(), other.version.as_deref()),
            (m.location.as_deref(), other.location.as_deref()),
            (m.reference.as_deref(), other.reference.as_deref()),
        ];
        for (i, (ours, theirs)) in fields.into_iter().enumerate() {
            match field_verdict(ours, theirs) {
                Verdict::Holds => {}
                Verdict::Fails if i == 0 && base64_pair(m.type_str(), other.type_str()) => {}
                Verdict::Fails if i == 0 && typed && other.artifact_type.is_none() => {
                    return Verdict::EchoThrows(
                        "java.lang.NullPointerException: the artifact has no type".into(),
                    );
                }
                other => return other,
            }
        }
        Verdict::Holds
    }

    /// The `matchArtifact` fields that are not valid regular expressions.
    pub fn bad_patterns(&self) -> Vec<BadPattern> {
        let Some(m) = &self.match_artifact else {
            return Vec::new();
        };
        let fields = [
            ("type", &m.artifact_type),
            ("name", &m.name),
            ("version", &m.version),
            ("location", &m.location),
            ("reference", &m.reference),
        ];
        fields
            .into_iter()
            .filter_map(|(field, value)| {
                let pattern = value.as_deref().filter(|p| !p.is_empty())?;
                let err = super::patterns::full_match(pattern, "").err()?;
                Some(BadPattern {
                    field,
                    pattern: pattern.to_owned(),
                    unsupported: matches!(err, super::PatternError::Unsupported(_)),
                    reason: err.to_string(),
                })
            })
            .collect()
    }
}

fn base64_pair(a: &str, b: &str) -> bool {
    (a == EMBEDDED_BASE64 && b == REMOTE_BASE64) || (a == REMOTE_BASE64 && b == EMBEDDED_BASE64)
}

fn field_verdict(ours: Option<&str>, other: Option<&str>) -> super::triggering::Verdict {
    use super::triggering::Verdict;
    let Some(ours) = ours.filter(|s| !s.is_empty()) else {
        return Verdict::Holds;
    };
    let Some(other) = other else {
        return Verdict::Fails;
    };
    if ours == other {
        return Verdict::Holds;
    }
    match super::patterns::full_match(ours, other) {
        Ok(true) => Verdict::Holds,
        Ok(false) => Verdict::Fails,
        Err(super::PatternError::Invalid(e)) => {
            Verdict::EchoThrows(format!("java.util.regex.PatternSyntaxException: {e}"))
        }
        Err(e @ super::PatternError::Unsupported(_)) => Verdict::CannotEvaluate(e.to_string()),
    }
}
