//! Jenkins JSON (`/api/json`) as plain serde data; no IO.
//!
//! Fields Jenkins may omit (e.g. under `tree=`) are `Option` or defaulted; unknown fields are
//! ignored; unknown enum values are kept (`BuildResult::Other`, `QueueState::Other`,
//! `StageStatus::Other`). Besides core Jenkins: the pipeline stage view ([`WorkflowRun`],
//! pipeline-stage-view plugin) and the generic-webhook-trigger plugin's answer ([`GwtResponse`]).

mod build;
mod computer;
mod gwt;
mod job;
mod queue;
mod root;
mod token;
mod workflow;

pub use build::{Build, BuildResult};
pub use computer::{Computer, CurrentExecutable, Executor, Label};
pub use gwt::{GwtJobResult, GwtResponse, GwtTriggerResult};
pub use job::{BuildRef, JobInfo, JobRef, ParameterDefinition};
pub use queue::{Executable, QueueItem, QueueList, QueueState, Task};
pub use root::{Crumb, RootInfo, User, WhoAmI};
pub use token::{ApiTokenResponse, GeneratedApiToken};
pub use workflow::{Link, RunLinks, Stage, StageError, StageStatus, WorkflowRun};

use serde::Deserialize;

/// One entry of an `actions` array. Jenkins exports many action types; only parameters and
/// causes are read, the rest decode to an empty action.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Action {
    /// Java class, e.g. `hudson.model.ParametersAction`.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Parameter values (`ParametersAction`).
    pub parameters: Option<Vec<ParameterValue>>,
    /// Causes (`CauseAction`).
    pub causes: Option<Vec<Cause>>,
    /// Parameter definitions (`ParametersDefinitionProperty`, also exported as an action).
    pub parameter_definitions: Option<Vec<ParameterDefinition>>,
}

/// A parameter value of a build or queue item.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct ParameterValue {
    /// Java class, e.g. `hudson.model.StringParameterValue`.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Name.
    pub name: String,
    /// Value: a string, a boolean, or absent/null (e.g. password parameters).
    #[serde(default)]
    pub value: serde_json::Value,
}

impl ParameterValue {
    /// The value as text: strings as they are, booleans and numbers printed, null as `None`.
    pub fn as_text(&self) -> Option<String> {
        match &self.value {
            serde_json::Value::Null => None,
            serde_json::Value::String(s) => Some(s.clone()),
            other => Some(other.to_string()),
        }
    }
}

/// Why a build was started (`hudson.model.Cause`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Cause {
    /// Java class, e.g. `hudson.model.Cause$UserIdCause`.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// "Started by user …".
    pub short_description: Option<String>,
    /// User id for user causes.
    pub user_id: Option<String>,
    /// User name for user causes.
    pub user_name: Option<String>,
}

/// Parameters from all `ParametersAction`s in `actions`.
pub(crate) fn parameters_of(actions: &[Action]) -> Vec<&ParameterValue> {
    actions
        .iter()
        .filter_map(|a| a.parameters.as_ref())
        .flatten()
        .collect()
}

/// Causes from all `CauseAction`s in `actions`.
pub(crate) fn causes_of(actions: &[Action]) -> Vec<&Cause> {
    actions
        .iter()
        .filter_map(|a| a.causes.as_ref())
        .flatten()
        .collect()
}

/// Decodes JSON bytes, naming the JSON path on failure.
pub fn decode<T: serde::de::DeserializeOwned>(
    bytes: &[u8],
) -> Result<T, serde_path_to_error::Error<serde_json::Error>> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de)
}
