//! Locating the execution that waits for a judgment: by the Echo event ids baton recorded,
//! else the newest RUNNING execution of the pipeline that waits.

use serde_json::Value;
use spinnaker_client::Client;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};

use super::PromoteError;
use crate::store::Store;

/// How many of the product's newest correlated events are looked up in Gate.
const CORRELATED_EVENTS: usize = 5;

/// A trigger parameter of a webhook-started execution (`parameters.X`, or `X` / `parameters.X`
/// in the kept payload).
pub fn trigger_parameter<'a>(e: &'a Execution, key: &str) -> Option<&'a str> {
    let t = &e.trigger;
    t.parameters
        .as_ref()
        .and_then(|p| p.get(key))
        .or_else(|| t.payload.as_ref().and_then(|p| p.get(key)))
        .or_else(|| {
            t.payload
                .as_ref()
                .and_then(|p| p.get("parameters"))
                .and_then(|p| p.get(key))
        })
        .and_then(Value::as_str)
}

fn waits_in(e: &Execution, pipeline: &str) -> bool {
    e.name.as_deref() == Some(pipeline)
        && e.status == ExecutionStatus::Running
        && e.pending_judgment().is_some()
}

/// The execution of `pipeline` waiting for a judgment, its manualJudgment stage id and the
/// baton event that started it: by Echo event id of the product's newest events first, then
/// the newest RUNNING execution of the pipeline that waits.
pub async fn waiting(
    gate: &Client,
    store: &Store,
    app: &str,
    pipeline: &str,
) -> Result<(Execution, String, Option<String>), PromoteError> {
    let events = store.events(Some(app), 100).await?;
    // promote/supersede events repeat the Echo id of the event they acted on: skip them
    let mut seen = std::collections::HashSet::new();
    let correlated: Vec<_> = events
        .iter()
        .filter(|e| e.kind != "promote" && e.kind != "supersede")
        .filter(|e| {
            e.correlation
                .spinnaker_event_id
                .as_deref()
                .is_some_and(|id| seen.insert(id.to_owned()))
        })
        .take(CORRELATED_EVENTS)
        .collect();
    for event in &correlated {
        let echo = event
            .correlation
            .spinnaker_event_id
            .as_deref()
            .unwrap_or_default();
        let found = gate.find_executions_by_event(app, echo).await?;
        if let Some(x) = found
            .into_iter()
            .filter(|x| waits_in(x, pipeline))
            .max_by_key(|x| x.build_time.unwrap_or(0))
        {
            let stage = x
                .pending_judgment()
                .map(|s| s.id.clone())
                .unwrap_or_default();
            return Ok((x, stage, Some(event.id.clone())));
        }
    }
    let pending = gate.pending_judgments(app, Some(pipeline)).await?;
    if let Some(x) = pending
        .into_iter()
        .max_by_key(|x| x.build_time.unwrap_or(0))
    {
        let stage = x
            .pending_judgment()
            .map(|s| s.id.clone())
            .unwrap_or_default();
        let source = trigger_parameter(&x, "batonEvent").map(str::to_owned);
        return Ok((x, stage, source));
    }
    Err(PromoteError::NoWaitingJudgment {
        pipeline: pipeline.to_owned(),
        checked: format!(
            "looked up {} correlated event(s) of {app} and its RUNNING executions in Gate",
            correlated.len()
        ),
    })
}
