//! Nodes (`/computer/X/api/json`, `hudson.model.Computer`).

use serde::Deserialize;

/// A node (the built-in node or an agent) and its executors.
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct Computer {
    /// Java class, e.g. `hudson.slaves.SlaveComputer`.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Node name as shown (`Built-In Node` for the controller).
    pub display_name: Option<String>,
    /// Whether no executor is busy.
    pub idle: Option<bool>,
    /// Whether the node is offline (disconnected or marked offline).
    pub offline: Option<bool>,
    /// Whether someone marked it offline on purpose.
    pub temporarily_offline: Option<bool>,
    /// Why it is offline, as text (empty when online).
    pub offline_cause_reason: Option<String>,
    /// Number of executors.
    pub num_executors: Option<u32>,
    /// Labels of the node.
    pub assigned_labels: Vec<Label>,
    /// Executors (with `depth=1` or a `tree=` naming them).
    pub executors: Vec<Executor>,
}

impl Computer {
    /// Executors that are running something.
    pub fn busy_executors(&self) -> impl Iterator<Item = &Executor> {
        self.executors.iter().filter(|e| !e.idle)
    }
}

/// A label of a node.
#[derive(Debug, Clone, PartialEq, Eq, Deserialize)]
#[non_exhaustive]
pub struct Label {
    /// Label name.
    pub name: String,
}

/// One executor slot (`hudson.model.Executor`).
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(rename_all = "camelCase")]
#[non_exhaustive]
pub struct Executor {
    /// Slot number on its node.
    pub number: u32,
    /// Whether it runs nothing.
    #[serde(default)]
    pub idle: bool,
    /// Whether its build runs far longer than estimated.
    #[serde(default)]
    pub likely_stuck: bool,
    /// Percent done by the estimate; -1 when idle or unknown.
    #[serde(default)]
    pub progress: i32,
    /// The build it runs (`null` when idle; an object with class, number and URL otherwise,
    /// possibly empty at depth 0).
    pub current_executable: Option<CurrentExecutable>,
}

/// What an executor runs.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct CurrentExecutable {
    /// Java class of the build.
    #[serde(rename = "_class")]
    pub class: Option<String>,
    /// Build number.
    pub number: Option<u32>,
    /// Absolute URL of the build.
    pub url: Option<String>,
}
