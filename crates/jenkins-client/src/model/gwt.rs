//! Generic Webhook Trigger plugin: the answer of `POST /generic-webhook-trigger/invoke`.
//!
//! Not Jenkins core: the plugin's `GenericWebhookResponse` with one entry per job whose
//! trigger token matched (jobs with a silent response are left out).

use std::collections::BTreeMap;

use serde::Deserialize;

/// The whole answer (200 "Triggered jobs.", 404 with only a `message` when no job matched the
/// token, 500 "There were errors when triggering jobs." with error strings per job).
#[derive(Debug, Clone, Default, PartialEq, Deserialize)]
#[serde(default)]
#[non_exhaustive]
pub struct GwtResponse {
    /// Summary, e.g. `Triggered jobs.`.
    pub message: Option<String>,
    /// Job full name -> what happened to it.
    pub jobs: Option<BTreeMap<String, GwtJobResult>>,
}

impl GwtResponse {
    /// Full names of the jobs that were queued.
    pub fn triggered_jobs(&self) -> Vec<&str> {
        self.jobs
            .iter()
            .flatten()
            .filter(|(_, r)| matches!(r, GwtJobResult::Result(t) if t.triggered))
            .map(|(name, _)| name.as_str())
            .collect()
    }
}

/// What happened to one job: a trigger result, or the text of an exception.
#[derive(Debug, Clone, PartialEq, Deserialize)]
#[serde(untagged)]
#[non_exhaustive]
pub enum GwtJobResult {
    /// The trigger ran (`GenericTriggerResults`); `triggered` says whether it queued a build.
    Result(GwtTriggerResult),
    /// Triggering threw; the plugin's message ("Exception occurred (…)…").
    Error(String),
}

/// `GenericTriggerResults`.
#[derive(Debug, Clone, Default, PartialEq, Eq, Deserialize)]
#[serde(rename_all = "camelCase", default)]
#[non_exhaustive]
pub struct GwtTriggerResult {
    /// Whether a queue item was created (false when the regexp filter did not match).
    pub triggered: bool,
    /// Queue item id (0 when not triggered).
    pub id: u64,
    /// Queue item URL relative to Jenkins' root, e.g. `queue/item/42/` (null when not triggered).
    pub url: Option<String>,
    /// Variables the plugin resolved from the request (name -> value).
    pub resolved_variables: BTreeMap<String, String>,
    /// Text the regexp filter was applied to.
    pub regexp_filter_text: Option<String>,
    /// The regexp filter.
    pub regexp_filter_expression: Option<String>,
}
