//! Builds (`/job/X/N/api/json`).

use std::fmt;

use serde::{Deserialize, Deserializer};

use super::{Action, Cause, ParameterValue, causes_of, parameters_of};

/// A build (`hudson.model.Run` and subclasses).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Build {
    /// Java class, e.g. `hudson.model.FreeStyleBuild`.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Build number.
    pub number: u32,
    /// Absolute URL of the build page.
    pub url: Option<String>,
    /// Whether it is still running.
    #[serde(default)]
    pub building: bool,
    /// Result; `None` while building.
    pub result: Option<BuildResult>,
    /// Run time in ms; 0 while building.
    #[serde(default)]
    pub duration: u64,
    /// Jenkins' estimate in ms; -1 when unknown.
    pub estimated_duration: Option<i64>,
    /// Start time in ms since the epoch.
    pub timestamp: Option<u64>,
    /// Queue item the build came from.
    pub queue_id: Option<u64>,
    /// "#N".
    pub display_name: Option<String>,
    /// "folder » job #N".
    pub full_display_name: Option<String>,
    /// Description set by the build.
    pub description: Option<String>,
    /// Actions (parameters, causes, others).
    #[serde(default)]
    pub actions: Vec<Action>,
}

impl Build {
    /// Parameter values from `ParametersAction`.
    pub fn parameters(&self) -> Vec<&ParameterValue> {
        parameters_of(&self.actions)
    }

    /// A parameter's value as text.
    pub fn parameter(&self, name: &str) -> Option<String> {
        self.parameters()
            .into_iter()
            .find(|p| p.name == name)
            .and_then(ParameterValue::as_text)
    }

    /// Causes from `CauseAction`.
    pub fn causes(&self) -> Vec<&Cause> {
        causes_of(&self.actions)
    }
}

/// A build result (`hudson.model.Result`). Unknown values are kept, not rejected.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum BuildResult {
    /// SUCCESS.
    Success,
    /// UNSTABLE (e.g. test failures).
    Unstable,
    /// FAILURE.
    Failure,
    /// NOT_BUILT.
    NotBuilt,
    /// ABORTED.
    Aborted,
    /// Any other value a plugin might report.
    Other(String),
}

impl BuildResult {
    /// Parses Jenkins' spelling.
    pub fn parse(s: &str) -> Self {
        match s {
            "SUCCESS" => BuildResult::Success,
            "UNSTABLE" => BuildResult::Unstable,
            "FAILURE" => BuildResult::Failure,
            "NOT_BUILT" => BuildResult::NotBuilt,
            "ABORTED" => BuildResult::Aborted,
            other => BuildResult::Other(other.to_owned()),
        }
    }

    /// Jenkins' spelling.
    pub fn as_str(&self) -> &str {
        match self {
            BuildResult::Success => "SUCCESS",
            BuildResult::Unstable => "UNSTABLE",
            BuildResult::Failure => "FAILURE",
            BuildResult::NotBuilt => "NOT_BUILT",
            BuildResult::Aborted => "ABORTED",
            BuildResult::Other(s) => s,
        }
    }

    /// SUCCESS only.
    pub fn is_success(&self) -> bool {
        *self == BuildResult::Success
    }
}

impl fmt::Display for BuildResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl<'de> Deserialize<'de> for BuildResult {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let s = String::deserialize(d)?;
        Ok(BuildResult::parse(&s))
    }
}
