//! Jobs and folders (`/job/X/api/json`).

use serde::Deserialize;

use super::{Action, QueueItem};

/// A job (or folder) as `/job/X/api/json` exports it.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct JobInfo {
    /// Java class, e.g. `hudson.model.FreeStyleProject`.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Short name.
    pub name: Option<String>,
    /// Full name with folders, `a/b/c`.
    pub full_name: Option<String>,
    /// Absolute URL.
    pub url: Option<String>,
    /// False for disabled jobs (and folders).
    pub buildable: bool,
    /// Whether an item for it is queued.
    pub in_queue: bool,
    /// Ball colour, e.g. `blue`, `red_anime`.
    pub color: Option<String>,
    /// Next build number.
    pub next_build_number: Option<u32>,
    /// Whether builds may run concurrently.
    pub concurrent_build: Option<bool>,
    /// Last build.
    pub last_build: Option<BuildRef>,
    /// Last completed build.
    pub last_completed_build: Option<BuildRef>,
    /// Last successful build.
    pub last_successful_build: Option<BuildRef>,
    /// Recent builds, newest first.
    pub builds: Vec<BuildRef>,
    /// The queued item, if any.
    pub queue_item: Option<QueueItem>,
    /// Job properties (parameter definitions live here).
    pub property: Vec<Action>,
    /// Actions (older Jenkins also lists parameter definitions here).
    pub actions: Vec<Action>,
    /// Children, for folders.
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
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Name.
    pub name: String,
    /// Short type, e.g. `StringParameterDefinition`.
    #[serde(rename = "type")]
    pub kind: Option<String>,
    /// Description.
    pub description: Option<String>,
    /// Default value (`{"value": …}`).
    pub default_parameter_value: Option<DefaultValue>,
    /// Allowed values of a choice parameter.
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
    pub url: Option<String>,
}

/// A child job in a folder or the root.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct JobRef {
    /// Java class (a folder is `com.cloudbees.hudson.plugins.folder.Folder`).
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Short name.
    pub name: String,
    /// Absolute URL.
    pub url: Option<String>,
    /// Ball colour (absent for folders).
    pub color: Option<String>,
}
