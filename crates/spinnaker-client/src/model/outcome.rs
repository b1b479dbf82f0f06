//! What Echo and Orca do with one webhook, predicted from the pipeline configs: which
//! triggers start an execution and whether Orca fails it on startup. `baton pipelines lint`
//! and `baton explain` rest on the same functions ([`super::triggering`]).
//!
//! Echo's order (echo `WebhooksController`, `TriggerMonitor`, `BaseTriggerEventHandler`):
//! the event's `artifacts` and `parameters` are read by Jackson first (one unreadable
//! artifact drops the whole event); then every enabled webhook trigger of every enabled
//! pipeline is tested (an exception there drops the whole event too); then the artifact gate
//! (an exception there skips that trigger); identical triggers of one pipeline start once.
//! Echo's pipeline cache (a pipeline saved in the last 30 s may be missed) is not modelled
//! here: the caller passes the pipelines as Gate returns them now.

use serde_json::{Map, Value};

use super::artifact::Artifact;
use super::pipeline::PipelineConfig;
use super::triggering::Verdict;

/// One execution Echo would start.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct PredictedStart {
    /// `application/name` of the pipeline.
    pub pipeline: String,
    /// Index of the trigger in the pipeline's `triggers`.
    pub trigger: usize,
    /// `Err` carries the message Orca fails the execution with on startup.
    pub startup: Result<(), String>,
}

/// What happens to one webhook.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum EchoOutcome {
    /// Echo accepts the event (200) and then drops it whole: no pipeline starts.
    Dropped(String),
    /// A pattern uses a Java construct this crate cannot evaluate.
    CannotEvaluate(String),
    /// These executions start (possibly none).
    Starts(Vec<PredictedStart>),
}

/// Reads `artifacts` as Echo's Jackson conversion does: absent or Groovy-falsy (null, `[]`,
/// `{}`, `""`, `false`, `0`) is no artifact; a list is read element by element (numbers and
/// booleans coerced to strings); anything else, or one unreadable element, fails, and Echo
/// drops the event. `Err` names the element and the field.
pub fn event_artifacts(body: &Map<String, Value>) -> Result<Vec<Artifact>, String> {
    match body.get("artifacts") {
        None | Some(Value::Null) => Ok(Vec::new()),
        Some(list @ Value::Array(items)) => {
            if let Some(i) = items.iter().position(Value::is_null) {
                return Err(format!("artifacts[{i}] is null"));
            }
            super::decode::<Vec<Artifact>>("webhook artifacts", list.to_string().as_bytes())
                .map_err(|e| baton_http::chain(&e))
        }
        Some(v) if falsy(v) => Ok(Vec::new()),
        Some(other) => Err(format!("artifacts is {other}, not a list of artifacts")),
    }
}

fn falsy(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Null => true,
    }
}

/// Predicts what Echo and Orca do with `body` posted to `/webhooks/webhook/{source}`.
pub fn predict(
    pipelines: &[PipelineConfig],
    source: &str,
    body: &Map<String, Value>,
) -> EchoOutcome {
    if let Some(p) = body
        .get("parameters")
        .filter(|p| !p.is_null() && !p.is_object())
    {
        return EchoOutcome::Dropped(format!("parameters is {p}, not an object"));
    }
    let posted = match event_artifacts(body) {
        Ok(a) => a,
        Err(e) if e.ends_with("is null") => return EchoOutcome::CannotEvaluate(e),
        Err(e) => return EchoOutcome::Dropped(e),
    };
    let mut starts = Vec::new();
    for p in pipelines {
        if p.extra.get("disabled").and_then(Value::as_bool) == Some(true) {
            continue;
        }
        let mut seen = Vec::new();
        for (i, t) in p.triggers().iter().enumerate() {
            match t.webhook_verdict(source, body) {
                Verdict::Holds => {}
                Verdict::Fails => continue,
                Verdict::EchoThrows(m) => return EchoOutcome::Dropped(m),
                Verdict::CannotEvaluate(m) => return EchoOutcome::CannotEvaluate(m),
            }
            match p.artifact_gate_verdict(t, &posted) {
                Verdict::Holds => {}
                Verdict::CannotEvaluate(m) => return EchoOutcome::CannotEvaluate(m),
                _ => continue,
            }
            if seen.contains(&t) {
                continue;
            }
            seen.push(t);
            let startup = match p.resolve_verdict(t, &posted) {
                Ok(_) => Ok(()),
                Err(Verdict::CannotEvaluate(m)) => return EchoOutcome::CannotEvaluate(m),
                Err(v) => Err(match v {
                    Verdict::EchoThrows(m) => m,
                    other => format!("{other:?}"),
                }),
            };
            starts.push(PredictedStart {
                pipeline: format!("{}/{}", p.application, p.name),
                trigger: i,
                startup,
            });
        }
    }
    EchoOutcome::Starts(starts)
}
