//! Jobs and folders (`/job/X/api/json`).

use serde::Deserialize;

use super::{Action, QueueItem};

/// A job (or folder) as `/job/X/api/json` exports it.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct JobInfo {
    /// Java class, e.g. `hudson.model.FreeStyleProject`.
    #[serde(rename = "_class", default)]
    pub class: Option<String>,
    /// Short name.
    #[serde(default)]
    pub name: Option<String>,
    /// Full name with folders, `a/b/c`.
    #[serde(default)]
    pub full_name: Option<String>,
    /// Absolute URL.
    #[serde(default)]
    pub url: Option<String>,
    /// False for disabled jobs (and folders).
    #[serde(default)]
    pub buildable: bool,
    /// Whether an item for it is queued.
    #[serde(default)]
    pub in_queue: bool,
    /// Ball colour, e.g. `blue`, `red_anime`.
    #[serde(default)]
    pub color: Option<String>,
    /// Next build number.
    #[serde(default)]
    pub next_build_number: Option<u32>,
    /// Whether builds may run concurrently.
    #[serde(default)]
    pub concurrent_build: Option<bool>,
    /// Last build.
    #[serde(default)]
    pub last_build: Option<BuildRef>,
    /// Last completed build.
    #[serde(default)]
    pub last_completed_build: Option<BuildRef>,
    /// Last successful build.
    #[serde(default)]
    pub last_successful_build: Option<BuildRef>,
    /// Recent builds, newest first.
    #[serde(default)]
    pub builds: Vec<BuildRef>,
    /// The queued item, if any.
    #[serde(default)]
    pub queue_item: Option<QueueItem>,
    /// Job properties (parameter definitions live here).
    #[serde(default)]
    pub property: Vec<Action>,
    /// Actions (older Jenkins also lists parameter definitions here).
    #[serde(default)]
    pub actions: Vec<Action>,
    /// Children, for folders.
    #[serde(default)]
    pub jobs: Vec<JobRef>,
}

impl JobInfo {
    /// Parameter definitions from `property`, or from `actions` when `property` has none.
    pub fn parameter_definitions(&self) -> Vec<&ParameterDefinition> {
        let defs = definitions_in(&self.property);
        if defs.is_empty() {
            definitions_in(&self.actions)
        } else {
            defs
        }
    }

    /// Whether the job takes parameters.
    pub fn is_parameterized(&self) -> bool {
        !self.parameter_definitions().is_empty()
    }
}

fn definitions_in(list: &[Action]) -> Vec<&ParameterDefinition> {
    list.iter()
        .filter_map(|a| a.parameter_definitions.as_ref())
        .flatten()
        .collect()
}

/// A parameter definition.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct ParameterDefinition {
    /// Java class, e.g. `hudson.model.ChoiceParameterDefinition`.
    #[serde(rename = "_class", default)]
    pub class: Option<String>,
    /// Name.
    pub name: String,
    /// Short type, e.g. `StringParameterDefinition`.
    #[serde(rename = "type", default)]
    pub kind: Option<String>,
    /// Description.
    #[serde(default)]
    pub description: Option<String>,
    /// Default value (`{"value": …}`).
    #[serde(default)]
    pub default_parameter_value: Option<DefaultValue>,
    /// Allowed values of a choice parameter.
    #[serde(default)]
    pub choices: Option<Vec<String>>,
}

/// A parameter's default value.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[non_exhaustive]
pub struct DefaultValue {
    /// The value (string, boolean, …).
    #[serde(default)]
    pub value: serde_json::Value,
}

/// A reference to a build.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct BuildRef {
    /// Build number.
    pub number: u32,
    /// Absolute URL.
    #[serde(default)]
    pub url: Option<String>,
}

/// A child job in a folder or the root.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct JobRef {
    /// Java class (a folder is `com.cloudbees.hudson.plugins.folder.Folder`).
    #[serde(rename = "_class", default)]
    pub class: Option<String>,
    /// Short name.
    pub name: String,
    /// Absolute URL.
    #[serde(default)]
    pub url: Option<String>,
    /// Ball colour (absent for folders).
    #[serde(default)]
    pub color: Option<String>,
}
