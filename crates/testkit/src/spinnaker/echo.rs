//! Echo: turning accepted webhooks into pipeline starts, against Echo's pipeline cache.
//!
//! Echo does not read front50 per event: `PipelineCache` polls all pipeline configs when Echo
//! starts and then every `front50.polling-interval-ms` (default 30 000 ms,
//! `scheduleWithFixedDelay`), and events are matched against the last poll. The stand-in
//! polls at start and every `cache_refresh` of its clock, so a pipeline saved after the last
//! poll is not seen yet, or is seen in its previous version (and that version runs). The
//! matching rules themselves live in [`super::echo_rules`].

use serde_json::Value;
use spinnaker_client::model::execution::ExecutionTrigger;
use spinnaker_client::model::pipeline::{PipelineConfig, Trigger};

use super::echo_rules::{self, EchoEvent};
use super::kork::KExpected;
use super::orca;
use super::state::{PendingEvent, State};

/// A pipeline as Echo's cache holds it (`PipelineCache.process`: one whose expected
/// artifacts Jackson cannot read is skipped).
pub(crate) struct Cached {
    pub config: PipelineConfig,
    pub expected: Vec<KExpected>,
}

/// Reads a pipeline's expected artifacts as Jackson does.
pub(crate) fn expected_of(config: &PipelineConfig) -> Result<Vec<KExpected>, String> {
    let list = serde_json::to_value(&config.expected_artifacts).unwrap_or(Value::Null);
    match list {
        Value::Array(items) => items
            .iter()
            .enumerate()
            .map(|(i, e)| KExpected::read(e, &format!("expectedArtifacts[{i}]")))
            .collect(),
        _ => Ok(Vec::new()),
    }
}

/// The cache as of the last poll at or before virtual time `at_ms`.
fn cache_at(state: &State, at_ms: u64) -> Vec<Cached> {
    let refresh = state.settings.cache_refresh.as_millis() as u64;
    let poll = at_ms
        .checked_div(refresh)
        .map_or(at_ms, |polls| polls * refresh);
    let mut latest: Vec<&PipelineConfig> = Vec::new();
    for (saved_ms, config) in &state.front50_log {
        if *saved_ms > poll {
            continue;
        }
        match latest.iter().position(|p| p.id == config.id) {
            Some(i) => latest[i] = config,
            None => latest.push(config),
        }
    }
    latest
        .into_iter()
        .filter_map(|config| {
            let expected = expected_of(config).ok()?;
            Some(Cached {
                config: config.clone(),
                expected,
            })
        })
        .collect()
}

/// Matches every event that is due at the current virtual time, oldest first.
pub(crate) fn process_due_events(state: &mut State) -> bool {
    let now = state.now_ms;
    let (mut due, later): (Vec<_>, Vec<_>) = std::mem::take(&mut state.events)
        .into_iter()
        .partition(|e| e.due_ms <= now);
    state.events = later;
    due.sort_by_key(|e| e.due_ms);
    let changed = !due.is_empty();
    for event in due {
        dispatch(state, event);
    }
    changed
}

fn dispatch(state: &mut State, event: PendingEvent) {
    let converted = match echo_rules::convert_event(&event.payload) {
        Ok(c) => c,
        Err(reason) => {
            state.dropped_events.push((event.event_id, reason));
            return;
        }
    };
    let cache = cache_at(state, event.due_ms);
    let mut starts: Vec<(&Cached, &Trigger)> = Vec::new();
    for cached in &cache {
        if cached.config.extra.get("disabled").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        for trigger in cached.config.triggers.iter().flatten() {
            // isValidTrigger, then matchTriggerFor (`&&` short-circuits: constraints are only
            // read for a trigger whose source matched).
            if trigger.enabled != Some(true)
                || trigger.trigger_type != "webhook"
                || trigger.source.as_deref() != Some(event.source.as_str())
            {
                continue;
            }
            let found = match &trigger.payload_constraints {
                None => Ok(true),
                Some(c) => echo_rules::constraints_found(c, &event.payload),
            };
            match found {
                Ok(true) => {}
                Ok(false) => continue,
                Err(thrown) => {
                    state
                        .dropped_events
                        .push((event.event_id.clone(), thrown.0));
                    return;
                }
            }
            let ids = trigger.expected_artifact_ids.clone().unwrap_or_default();
            if echo_rules::any_artifacts_match_expected(
                &ids,
                &cached.expected,
                &converted.artifacts,
            ) != Ok(true)
            {
                continue;
            }
            // `.distinct()`: an identical trigger of the same pipeline is one start.
            let duplicate = starts
                .iter()
                .any(|(c, t)| c.config.id == cached.config.id && *t == trigger);
            if !duplicate {
                starts.push((cached, trigger));
            }
        }
    }
    for (cached, trigger) in starts {
        let exec_trigger = execution_trigger(&event, &converted, trigger);
        let ids = trigger.expected_artifact_ids.clone().unwrap_or_default();
        orca::launch(
            state,
            &cached.config,
            &ids,
            &converted.artifacts,
            exec_trigger,
        );
    }
}

/// The trigger Echo hands Orca (`WebhookEventHandler.buildTrigger`).
fn execution_trigger(
    event: &PendingEvent,
    converted: &EchoEvent,
    trigger: &Trigger,
) -> ExecutionTrigger {
    ExecutionTrigger {
        trigger_type: "webhook".into(),
        parameters: Some(converted.parameters.clone()),
        artifacts: None,
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
                trigger
                    .expected_artifact_ids
                    .clone()
                    .unwrap_or_default()
                    .into(),
            ),
        ]
        .into_iter()
        .collect(),
    }
}
