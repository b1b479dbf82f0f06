//! Stages of a pipeline configuration, with typed variants for the ones baton relies on.

use serde::de::{DeserializeOwned, Error as _};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value};

use super::artifact::{Artifact, ExpectedArtifact};

/// A stage of a pipeline configuration.
///
/// `type` selects the typed [`StageKind`]; unknown types keep every field in
/// [`StageKind::Other`], so a decode/encode round trip gives back the same JSON.
#[derive(Clone, Debug, PartialEq)]
pub struct Stage {
    /// Id other stages name in `requisiteStageRefIds`.
    pub ref_id: String,
    /// Stage type as written (`bakeManifest`, `deployManifest`, `manualJudgment`, ...).
    pub stage_type: String,
    /// Display name.
    pub name: Option<String>,
    /// Stages that must finish before this one starts.
    pub requisite_stage_ref_ids: Option<Vec<String>>,
    /// The type-specific part.
    pub kind: StageKind,
}

/// The type-specific part of a [`Stage`].
#[derive(Clone, Debug, PartialEq)]
#[non_exhaustive]
pub enum StageKind {
    /// `manualJudgment`.
    ManualJudgment(ManualJudgment),
    /// `bakeManifest`.
    BakeManifest(BakeManifest),
    /// `deployManifest`.
    DeployManifest(DeployManifest),
    /// Any other type: its fields, untouched.
    Other(Map<String, Value>),
}

/// `manualJudgment` stage fields.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ManualJudgment {
    /// Choices offered to the judge.
    pub judgment_inputs: Option<Vec<Value>>,
    /// Instructions shown to the judge.
    pub instructions: Option<String>,
    /// Whether `stop` fails the pipeline.
    pub fail_pipeline: Option<bool>,
    /// Keys not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// An input artifact of a bake: by expected-artifact id or inline.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct InputArtifact {
    /// Id of an expected artifact.
    pub id: Option<String>,
    /// Artifact account used to fetch it.
    pub account: Option<String>,
    /// The artifact itself, when given inline.
    pub artifact: Option<Artifact>,
    /// Keys not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `bakeManifest` stage fields (also the shape of its execution context).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BakeManifest {
    /// `HELM2`, `HELM3`, `KUSTOMIZE`, ...
    pub template_renderer: Option<String>,
    /// HELM: `[0]` is the chart, `[1..]` are values files in order.
    pub input_artifacts: Option<Vec<InputArtifact>>,
    /// The baked manifest; Spinnaker requires exactly one.
    pub expected_artifacts: Option<Vec<ExpectedArtifact>>,
    /// Helm release name.
    pub output_name: Option<String>,
    /// Namespace rendered into the manifests.
    pub namespace: Option<String>,
    /// `--set` overrides.
    pub overrides: Option<Map<String, Value>>,
    /// Keys not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

/// `deployManifest` stage fields.
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DeployManifest {
    /// `artifact` (use `manifestArtifactId`) or `text` (use `manifests`).
    pub source: Option<String>,
    /// Expected artifact holding the manifests, with `source: artifact`.
    pub manifest_artifact_id: Option<String>,
    /// Inline manifests, with `source: text`.
    pub manifests: Option<Vec<Value>>,
    /// Expected artifacts (e.g. images) bound into the manifests.
    pub required_artifact_ids: Option<Vec<String>>,
    /// Namespace that replaces the manifests' own.
    pub namespace_override: Option<String>,
    /// Kubernetes account.
    pub account: Option<String>,
    /// Moniker (app, cluster).
    pub moniker: Option<Map<String, Value>>,
    /// Keys not modelled here.
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl BakeManifest {
    /// HELM renderers: the chart input (`inputArtifacts[0]`).
    pub fn chart_input(&self) -> Option<&InputArtifact> {
        self.input_artifacts.as_deref().and_then(<[_]>::first)
    }

    /// HELM renderers: the values-file inputs (`inputArtifacts[1..]`), in override order.
    pub fn values_inputs(&self) -> &[InputArtifact] {
        self.input_artifacts
            .as_deref()
            .and_then(|all| all.get(1..))
            .unwrap_or_default()
    }

    /// The single output artifact, if exactly one is declared (Spinnaker requires that).
    pub fn output(&self) -> Option<&ExpectedArtifact> {
        match self.expected_artifacts.as_deref() {
            Some([one]) => Some(one),
            _ => None,
        }
    }
}

impl Stage {
    /// A stage of the given kind.
    pub fn new(ref_id: impl Into<String>, name: impl Into<String>, kind: StageKind) -> Self {
        let stage_type = match &kind {
            StageKind::ManualJudgment(_) => "manualJudgment",
            StageKind::BakeManifest(_) => "bakeManifest",
            StageKind::DeployManifest(_) => "deployManifest",
            StageKind::Other(fields) => fields.get("type").and_then(Value::as_str).unwrap_or(""),
        };
        Self {
            ref_id: ref_id.into(),
            stage_type: stage_type.to_owned(),
            name: Some(name.into()),
            requisite_stage_ref_ids: Some(Vec::new()),
            kind,
        }
    }

    /// The same stage, running after `ref_ids`.
    pub fn after(mut self, ref_ids: &[&str]) -> Self {
        self.requisite_stage_ref_ids = Some(ref_ids.iter().map(|s| (*s).to_owned()).collect());
        self
    }

    /// The requisite stage ref ids (empty when absent).
    pub fn requisites(&self) -> &[String] {
        self.requisite_stage_ref_ids.as_deref().unwrap_or_default()
    }

    /// Expected artifacts this stage produces (a bake's output), empty otherwise.
    pub fn produced_artifacts(&self) -> &[ExpectedArtifact] {
        match &self.kind {
            StageKind::BakeManifest(b) => b.expected_artifacts.as_deref().unwrap_or_default(),
            _ => &[],
        }
    }
}

const COMMON: [&str; 4] = ["refId", "type", "name", "requisiteStageRefIds"];

fn typed<T: DeserializeOwned, E: serde::de::Error>(rest: Map<String, Value>) -> Result<T, E> {
    serde_path_to_error::deserialize(Value::Object(rest))
        .map_err(|e| E::custom(format!("{}: {}", e.path(), e.inner())))
}

impl<'de> Deserialize<'de> for Stage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let mut rest = Map::<String, Value>::deserialize(deserializer)?;
        let text = |rest: &mut Map<String, Value>, key: &str| match rest.remove(key) {
            None => Ok(None),
            Some(Value::String(s)) => Ok(Some(s)),
            Some(other) => Err(D::Error::custom(format!(
                "{key}: expected a string, got {other}"
            ))),
        };
        let ref_id = text(&mut rest, "refId")?.unwrap_or_default();
        let stage_type = text(&mut rest, "type")?.unwrap_or_default();
        let name = text(&mut rest, "name")?;
        let requisite_stage_ref_ids = rest
            .remove("requisiteStageRefIds")
            .map(|v| {
                serde_json::from_value::<Vec<String>>(v)
                    .map_err(|e| D::Error::custom(format!("requisiteStageRefIds: {e}")))
            })
            .transpose()?;
        let kind = match stage_type.as_str() {
            "manualJudgment" => StageKind::ManualJudgment(typed(rest)?),
            "bakeManifest" => StageKind::BakeManifest(typed(rest)?),
            "deployManifest" => StageKind::DeployManifest(typed(rest)?),
            _ => StageKind::Other(rest),
        };
        Ok(Stage {
            ref_id,
            stage_type,
            name,
            requisite_stage_ref_ids,
            kind,
        })
    }
}

impl Serialize for Stage {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::Error as _;
        let mut map = match &self.kind {
            StageKind::ManualJudgment(v) => to_map(v),
            StageKind::BakeManifest(v) => to_map(v),
            StageKind::DeployManifest(v) => to_map(v),
            StageKind::Other(m) => Ok(m.clone()),
        }
        .map_err(S::Error::custom)?;
        for key in COMMON {
            map.remove(key);
        }
        map.insert("refId".into(), Value::String(self.ref_id.clone()));
        map.insert("type".into(), Value::String(self.stage_type.clone()));
        if let Some(name) = &self.name {
            map.insert("name".into(), Value::String(name.clone()));
        }
        if let Some(ids) = &self.requisite_stage_ref_ids {
            map.insert("requisiteStageRefIds".into(), ids.clone().into());
        }
        map.serialize(serializer)
    }
}

fn to_map<T: Serialize>(v: &T) -> Result<Map<String, Value>, serde_json::Error> {
    match serde_json::to_value(v)? {
        Value::Object(m) => Ok(m),
        _ => Ok(Map::new()),
    }
}
