//! The shared table of Echo/Orca cases (`crates/testkit/cases/echo_orca.json`): what Echo and
//! Orca do with one webhook, each case citing its source (an Echo spec or a source file).
//! The stand-in, spinnaker-client's model and `baton explain` are all tested against it, so
//! a rule two of them share cannot hide a mistake.

use serde::Deserialize;
use serde_json::{Map, Value, json};
use spinnaker_client::model::pipeline::PipelineConfig;

/// The application every case's pipeline belongs to.
pub const APPLICATION: &str = "cases";

const TABLE: &str = include_str!("../../cases/echo_orca.json");

/// What should happen.
#[derive(Clone, Debug, Default, Deserialize, PartialEq, Eq)]
#[serde(deny_unknown_fields)]
pub struct Expect {
    /// Executions that start (including those Orca then fails on startup).
    #[serde(default)]
    pub starts: usize,
    /// Of those, executions Orca fails on startup.
    #[serde(default)]
    pub failed: usize,
    /// Echo accepts the event and then drops it whole.
    #[serde(default)]
    pub dropped: bool,
    /// A piece of the startup failure message.
    pub failure_contains: Option<String>,
}

/// One case as written in the table.
#[derive(Clone, Debug, Deserialize)]
#[serde(deny_unknown_fields)]
pub struct Case {
    /// Short name.
    pub name: String,
    /// Where the fact comes from.
    pub cite: String,
    /// `"fake"` when only the stand-in can check the case, with `why`.
    pub only: Option<String>,
    /// Why a case is checked against the stand-in only.
    pub why: Option<String>,
    #[serde(default)]
    constraints: Option<Map<String, Value>>,
    #[serde(default, rename = "expectedArtifactIds")]
    expected_artifact_ids: Option<Vec<String>>,
    #[serde(default)]
    triggers: Option<Vec<Value>>,
    #[serde(default, rename = "expectedArtifacts")]
    expected_artifacts: Option<Vec<Value>>,
    #[serde(default)]
    pipeline: Option<Map<String, Value>>,
    #[serde(default)]
    post_to: Option<String>,
    #[serde(default)]
    body: Option<Map<String, Value>>,
    #[serde(default)]
    body_ref: Option<String>,
    /// Pipeline fields saved through Gate after the stand-in started (Echo's cache).
    pub saved_later: Option<Map<String, Value>>,
    /// What happens.
    pub expect: Expect,
    /// What happens to the same webhook once Echo's cache has polled again.
    pub expect_after_refresh: Option<Expect>,
    #[serde(skip)]
    bodies: Map<String, Value>,
}

#[derive(Deserialize)]
struct Table {
    cases: Vec<Case>,
    bodies: Map<String, Value>,
}

/// Every case of the table.
pub fn all() -> Vec<Case> {
    let table: Table = serde_json::from_str(TABLE).expect("cases/echo_orca.json is valid");
    table
        .cases
        .into_iter()
        .map(|mut c| {
            c.bodies = table.bodies.clone();
            c
        })
        .collect()
}

/// The cases spinnaker-client and `baton explain` are checked against too (all but the
/// stand-in-only ones); panics if the table lost cases, so a broken load cannot pass.
pub fn for_clients() -> Vec<Case> {
    let list: Vec<Case> = all().into_iter().filter(Case::for_clients).collect();
    assert!(
        list.len() >= 40,
        "cases/echo_orca.json lost cases: {}",
        list.len()
    );
    list
}

impl Case {
    /// Whether spinnaker-client and baton explain are checked against this case too.
    pub fn for_clients(&self) -> bool {
        self.only.is_none()
    }

    /// The webhook source the body is posted to.
    pub fn source(&self) -> &str {
        self.post_to.as_deref().unwrap_or("case")
    }

    /// The webhook body.
    pub fn body(&self) -> Map<String, Value> {
        match (&self.body, &self.body_ref) {
            (Some(b), _) => b.clone(),
            (None, Some(r)) => self.bodies[r].as_object().cloned().unwrap_or_default(),
            (None, None) => Map::new(),
        }
    }

    fn pipeline_json(&self) -> Map<String, Value> {
        let triggers = self.triggers.clone().unwrap_or_else(|| {
            vec![json!({"type": "webhook", "enabled": true, "source": "case",
                        "payloadConstraints": self.constraints.clone().unwrap_or_default(),
                        "expectedArtifactIds": self.expected_artifact_ids.clone().unwrap_or_default()})]
        });
        let mut p = json!({
            "id": "case-pipeline", "application": APPLICATION, "name": "case",
            "triggers": triggers,
            "expectedArtifacts": self.expected_artifacts.clone().unwrap_or_default(),
            "stages": [{"refId": "1", "type": "wait", "name": "Wait", "waitTime": 1}],
        });
        if let (Some(extra), Some(obj)) = (&self.pipeline, p.as_object_mut()) {
            obj.extend(extra.clone());
        }
        p.as_object().cloned().unwrap_or_default()
    }

    /// The case's pipeline as first stored.
    pub fn pipeline(&self) -> PipelineConfig {
        serde_json::from_value(Value::Object(self.pipeline_json())).expect("case pipeline decodes")
    }

    /// The pipeline as saved later (`saved_later` merged in), if the case has one.
    pub fn pipeline_saved_later(&self) -> Option<PipelineConfig> {
        let later = self.saved_later.as_ref()?;
        let mut p = self.pipeline_json();
        p.extend(later.clone());
        Some(serde_json::from_value(Value::Object(p)).expect("saved_later pipeline decodes"))
    }
}
