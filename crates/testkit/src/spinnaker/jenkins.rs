//! Spinnaker's `jenkins` stage (orca-igor): what a rendered verification stage does here.
//!
//! Real Orca starts the job through igor (`StartJenkinsJobTask`: `PUT /masters/{master}/jobs/
//! {job}` with the stage's `parameters`), waits for it to leave Jenkins' queue
//! (`MonitorQueuedJenkinsJobTask` -> `buildNumber`) and, when `waitForCompletion` (default true),
//! polls the build (`MonitorJenkinsJobTask`, default timeout 2 h) and maps its result:
//! SUCCESS -> SUCCEEDED, FAILURE -> TERMINAL, UNSTABLE -> TERMINAL (SUCCEEDED with
//! `markUnstableAsSuccessful`), ABORTED -> CANCELED; anything else keeps it running. Checked in
//! spinnaker/orca `orca-igor/.../pipeline/CIStage.java`, `tasks/MonitorJenkinsJobTask.groovy`,
//! `model/CIStageDefinition.java`.
//!
//! The stand-in has no igor and calls no Jenkins: the build's result is scripted by the test
//! ([`JenkinsRule`], first match wins; no match = SUCCESS), and each build is recorded
//! ([`JenkinsBuild`]) with the master, job and parameters the stage sent. Without
//! `waitForCompletion` the stage succeeds once started, whatever the result, as in Orca.

use std::collections::BTreeMap;

use serde_json::{Value, json};
use spinnaker_client::model::execution::ExecutionStatus;

use super::state::State;

/// A scripted build result for the jobs a rule matches.
#[derive(Clone, Debug, PartialEq)]
pub struct JenkinsRule {
    /// Job path, `folder/job`.
    pub job: String,
    /// Only builds whose parameters include all of these.
    pub parameters: BTreeMap<String, String>,
    /// Jenkins' result: `SUCCESS`, `FAILURE`, `UNSTABLE` or `ABORTED`.
    pub result: String,
}

impl JenkinsRule {
    /// Every build of `job` ends with `result`.
    pub fn new(job: impl Into<String>, result: impl Into<String>) -> Self {
        Self {
            job: job.into(),
            parameters: BTreeMap::new(),
            result: result.into(),
        }
    }

    /// Only builds with parameter `key` = `value`.
    pub fn when(mut self, key: impl Into<String>, value: impl Into<String>) -> Self {
        self.parameters.insert(key.into(), value.into());
        self
    }
}

/// A build a `jenkins` stage ran.
#[derive(Clone, Debug, PartialEq)]
pub struct JenkinsBuild {
    /// The execution and pipeline of the stage.
    pub execution_id: String,
    /// Pipeline name.
    pub pipeline: String,
    /// igor's name of the controller.
    pub master: String,
    /// Job path.
    pub job: String,
    /// Parameters the stage sent (strings as given).
    pub parameters: BTreeMap<String, String>,
    /// Build number (per job, from 1).
    pub number: u64,
    /// Jenkins' result.
    pub result: String,
}

/// Runs the `jenkins` stage `s` of run `i`: records the build, writes `buildNumber` and
/// `buildInfo` into the stage context, returns the stage status.
pub(crate) fn run(state: &mut State, i: usize, s: usize) -> (ExecutionStatus, Option<String>) {
    let context = state.runs[i].exec.stages[s].context.extra.clone();
    let text = |key: &str| {
        context
            .get(key)
            .and_then(Value::as_str)
            .unwrap_or("")
            .to_owned()
    };
    let (master, job) = (text("master"), text("job"));
    if master.is_empty() || job.is_empty() {
        return (
            ExecutionStatus::Terminal,
            Some("jenkins stage needs master and job".into()),
        );
    }
    let parameters: BTreeMap<String, String> = context
        .get("parameters")
        .and_then(Value::as_object)
        .map(|m| {
            m.iter()
                .map(|(k, v)| {
                    (
                        k.clone(),
                        v.as_str().map_or_else(|| v.to_string(), str::to_owned),
                    )
                })
                .collect()
        })
        .unwrap_or_default();
    let result = state
        .jenkins_rules
        .iter()
        .find(|r| {
            r.job == job
                && r.parameters
                    .iter()
                    .all(|(k, v)| parameters.get(k) == Some(v))
        })
        .map_or_else(|| "SUCCESS".to_owned(), |r| r.result.clone());
    let number = 1 + state.jenkins_builds.iter().filter(|b| b.job == job).count() as u64;
    let run = &state.runs[i];
    state.jenkins_builds.push(JenkinsBuild {
        execution_id: run.exec.id.clone(),
        pipeline: run.config.name.clone(),
        master,
        job: job.clone(),
        parameters,
        number,
        result: result.clone(),
    });
    let flag = |key: &str| context.get(key).and_then(Value::as_bool);
    let context = &mut state.runs[i].exec.stages[s].context.extra;
    context.insert("buildNumber".into(), number.into());
    context.insert(
        "buildInfo".into(),
        json!({"name": job, "number": number, "result": result, "building": false}),
    );
    if flag("waitForCompletion") == Some(false) {
        return (ExecutionStatus::Succeeded, None);
    }
    let status = match result.as_str() {
        "SUCCESS" => ExecutionStatus::Succeeded,
        "UNSTABLE" if flag("markUnstableAsSuccessful") == Some(true) => ExecutionStatus::Succeeded,
        "FAILURE" | "UNSTABLE" => ExecutionStatus::Terminal,
        "ABORTED" => ExecutionStatus::Canceled,
        other => {
            return (
                ExecutionStatus::Terminal,
                Some(format!(
                    "scripted Jenkins result {other:?} is not one Orca maps"
                )),
            );
        }
    };
    (status, None)
}
