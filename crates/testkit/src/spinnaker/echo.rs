//! Echo: turning accepted webhooks into pipeline starts.
//!
//! A webhook is matched `match_delay` after it was accepted (Echo's pipeline cache polls
//! front50, and the event is handled asynchronously after the 200). For every stored
//! pipeline, each trigger that passes Echo's test (enabled, type `webhook`, source equal,
//! constraints found) and Echo's artifact gate starts one execution; the first matching
//! trigger of a pipeline wins, as Echo builds one trigger per pipeline.

use serde_json::Value;
use spinnaker_client::model::artifact::Artifact;
use spinnaker_client::model::execution::ExecutionTrigger;

use super::orca;
use super::state::{PendingEvent, State};

/// Matches every event that is due at the current virtual time.
pub(crate) fn process_due_events(state: &mut State) -> bool {
    let now = state.now_ms;
    let (due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut state.events)
        .into_iter()
        .partition(|e| e.due_ms <= now);
    state.events = later;
    let changed = !due.is_empty();
    for event in due {
        dispatch(state, event);
    }
    changed
}

fn dispatch(state: &mut State, event: PendingEvent) {
    let artifacts: Vec<Artifact> = event
        .payload
        .get("artifacts")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let parameters = event
        .payload
        .get("parameters")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();
    let pipelines = state.pipelines.clone();
    for config in pipelines {
        if config.extra.get("disabled").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let Some(trigger) = config.triggers().iter().find(|t| {
            t.matches_webhook(&event.source, &event.payload) && config.artifact_gate(t, &artifacts)
        }) else {
            continue;
        };
        let exec_trigger = ExecutionTrigger {
            trigger_type: "webhook".into(),
            parameters: Some(parameters.clone()),
            artifacts: Some(artifacts.clone()),
            event_id: Some(event.event_id.clone()),
            source: Some(event.source.clone()),
            payload: Some(event.payload.clone()),
            user: Some(
                trigger
                    .run_as_user
                    .clone()
                    .unwrap_or_else(|| "[anonymous]".into()),
            ),
            resolved_expected_artifacts: None,
            extra: [
                ("enabled".to_owned(), Value::Bool(true)),
                (
                    "expectedArtifactIds".to_owned(),
                    trigger.expected_artifact_ids().to_vec().into(),
                ),
            ]
            .into_iter()
            .collect(),
        };
        let trigger = trigger.clone();
        orca::launch(state, &config, &trigger, exec_trigger);
    }
}
