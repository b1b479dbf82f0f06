//! Echo's webhook rules, written from Echo's source (spinnaker/echo `echo-webhooks`
//! `WebhooksController`, `echo-pipelinetriggers` `BaseTriggerEventHandler`,
//! `WebhookEventHandler`, `ArtifactMatcher`, `PipelineCache`) and checked against the case
//! table `cases.json`. Nothing here calls spinnaker-client's matching code.
//!
//! Order of events in Echo, and what each step throws:
//! 1. `convertEvent`: Jackson reads `artifacts` into `List<Artifact>` and `parameters` into a
//!    `Map`; one unreadable artifact fails the conversion and the event is dropped for every
//!    pipeline (`EventPropagator` logs "failed processing event").
//! 2. `getMatchingPipelines`: every enabled `webhook` trigger of every enabled cached pipeline
//!    is tested with `matchTriggerFor` (source equal case-sensitively, every payload
//!    constraint found); an exception there also drops the whole event.
//! 3. `withMatchingTrigger`: the artifact gate; an exception there skips that trigger only.
//! 4. `.distinct()`: identical triggers of one pipeline start one execution; different
//!    matching triggers of one pipeline start one execution each.

use serde_json::{Map, Value};

use super::java::{self, Thrown};
use super::kork::{KArtifact, KExpected};

/// The parts of an event Echo's `WebhookEvent` conversion produced.
#[derive(Clone, Debug, Default)]
pub(crate) struct EchoEvent {
    pub parameters: Map<String, Value>,
    /// `None` entries are JSON nulls, which Jackson keeps in the list.
    pub artifacts: Vec<Option<KArtifact>>,
}

/// Step 1: `Err` is why Echo drops the event.
pub(crate) fn convert_event(payload: &Map<String, Value>) -> Result<EchoEvent, String> {
    let parameters = match payload.get("parameters") {
        None | Some(Value::Null) => Map::new(),
        Some(Value::Object(m)) => m.clone(),
        Some(other) => {
            return Err(format!(
                "Cannot deserialize value of type `java.util.LinkedHashMap` from {} (content.parameters)",
                java::to_string(other)
            ));
        }
    };
    // WebhooksController: a Groovy-falsy `artifacts` (absent, null, empty list/map/string,
    // false, 0) is replaced by the extractor's result, empty for plain webhooks.
    let artifacts = match payload.get("artifacts") {
        None | Some(Value::Null) => Vec::new(),
        Some(Value::Array(items)) => {
            let mut out = Vec::new();
            for (i, item) in items.iter().enumerate() {
                out.push(match item {
                    Value::Null => None,
                    a => Some(KArtifact::read(a, &format!("content.artifacts[{i}]"))?),
                });
            }
            out
        }
        Some(v) if groovy_false(v) => Vec::new(),
        Some(other) => {
            return Err(format!(
                "Cannot deserialize value of type `java.util.ArrayList<Artifact>` from {} (content.artifacts)",
                java::to_string(other)
            ));
        }
    };
    Ok(EchoEvent {
        parameters,
        artifacts,
    })
}

fn groovy_false(v: &Value) -> bool {
    match v {
        Value::Bool(b) => !b,
        Value::Number(n) => n.as_f64() == Some(0.0),
        Value::String(s) => s.is_empty(),
        Value::Object(m) => m.is_empty(),
        Value::Array(a) => a.is_empty(),
        Value::Null => true,
    }
}

/// Step 2 for one trigger: `ArtifactMatcher.isJsonPathConstraintInPayload`.
pub(crate) fn constraints_found(
    constraints: &Map<String, Value>,
    payload: &Map<String, Value>,
) -> Result<bool, Thrown> {
    for (key, want) in constraints {
        match payload.get(key).filter(|v| !v.is_null()) {
            Some(have) => {
                if !want.is_null() && !regex_found(&java::to_string(want), &java::to_string(have)) {
                    return Ok(false);
                }
            }
            None => {
                let Some(values) = json_path_values(payload, key) else {
                    return Ok(false);
                };
                // `constraints.get(key).toString()` on a null constraint throws.
                if want.is_null() {
                    return Err(Thrown::npe("payloadConstraints value is null"));
                }
                let pattern = java::to_string(want);
                let mut any = false;
                for v in &values {
                    // `List<String>` is unchecked: a non-string element fails the cast.
                    let Value::String(s) = v else {
                        return Err(Thrown(format!(
                            "java.lang.ClassCastException: {} cannot be cast to java.lang.String",
                            java::to_string(v)
                        )));
                    };
                    if regex_found(&pattern, s) {
                        any = true;
                        break;
                    }
                }
                if !any {
                    return Ok(false);
                }
            }
        }
    }
    Ok(true)
}

/// `ArtifactMatcher.matches`: an invalid pattern is logged and never matches.
fn regex_found(pattern: &str, text: &str) -> bool {
    java::find(pattern, text).unwrap_or(false)
}

/// `getValueUsingJsonPath`: a string, number or boolean as one string; a list as its
/// elements; anything else (object, null, missing, invalid path) as nothing.
fn json_path_values(payload: &Map<String, Value>, path: &str) -> Option<Vec<Value>> {
    let steps = parse_path(path)?;
    let mut current: Option<&Value> = None;
    for step in &steps {
        current = match (step, current) {
            (Step::Key(k), None) => payload.get(k),
            (Step::Key(k), Some(Value::Object(m))) => m.get(k),
            (Step::Index(i), Some(Value::Array(a))) => a.get(*i),
            _ => None,
        };
        current?;
    }
    match current? {
        v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)) => {
            Some(vec![Value::String(java::to_string(v))])
        }
        Value::Array(items) => Some(items.clone()),
        _ => None,
    }
}

enum Step {
    Key(String),
    Index(usize),
}

/// Jayway paths as far as modelled: `$.a.b`, `a.b` (Jayway adds `$.`), `[n]`, `['a']`.
fn parse_path(path: &str) -> Option<Vec<Step>> {
    let rest = path.strip_prefix('$').unwrap_or(path);
    let mut steps = Vec::new();
    let mut chars = rest.chars().peekable();
    let mut name = String::new();
    let flush = |name: &mut String, steps: &mut Vec<Step>| {
        if !name.is_empty() {
            steps.push(Step::Key(std::mem::take(name)));
        }
    };
    while let Some(c) = chars.next() {
        match c {
            '.' => flush(&mut name, &mut steps),
            '[' => {
                flush(&mut name, &mut steps);
                let inner: String = chars.by_ref().take_while(|&c| c != ']').collect();
                if let Some(quoted) = inner.strip_prefix('\'').and_then(|s| s.strip_suffix('\'')) {
                    steps.push(Step::Key(quoted.to_owned()));
                } else {
                    steps.push(Step::Index(inner.trim().parse().ok()?));
                }
            }
            '*' | '?' | '@' | '(' => return None,
            c => name.push(c),
        }
    }
    flush(&mut name, &mut steps);
    (!steps.is_empty()).then_some(steps)
}

/// Step 3: `ArtifactMatcher.anyArtifactsMatchExpected`, evaluated in Java's order so that an
/// exception only happens where Java's `anyMatch` would reach it.
pub(crate) fn any_artifacts_match_expected(
    expected_ids: &[String],
    pipeline_expected: &[KExpected],
    posted: &[Option<KArtifact>],
) -> Result<bool, Thrown> {
    if expected_ids.is_empty() {
        return Ok(true);
    }
    let expected: Vec<&KExpected> = pipeline_expected
        .iter()
        .filter(|e| expected_ids.contains(&e.id))
        .collect();
    for artifact in posted {
        for e in &expected {
            let Some(a) = artifact else {
                return Err(Thrown::npe("posted artifact is null"));
            };
            if e.matches(a)? {
                return Ok(true);
            }
        }
    }
    Ok(false)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn map(v: Value) -> Map<String, Value> {
        v.as_object().cloned().unwrap()
    }

    #[test]
    fn json_path_reads_strings_lists_and_scalars() {
        let payload = map(json!({"parameters": {"environments": "dev,prod", "n": 3,
            "list": ["a.yml", "b.txt"], "obj": {"x": "edgar"}}}));
        let holds = |c: Value| constraints_found(&map(c), &payload);
        assert_eq!(
            holds(json!({"$.parameters.environments": "prod"})),
            Ok(true)
        );
        assert_eq!(holds(json!({"parameters.n": "3"})), Ok(true));
        assert_eq!(holds(json!({"$.parameters.list": "\\.yml"})), Ok(true));
        assert_eq!(holds(json!({"$.parameters.obj": "edgar"})), Ok(false));
        assert_eq!(holds(json!({"$.parameters[a]": "x"})), Ok(false));
        assert!(holds(json!({"$.parameters.environments": null})).is_err());
    }

    #[test]
    fn one_unreadable_artifact_drops_the_event() {
        let bad = map(json!({"artifacts": [{"name": "a"}, {"name": ["b"]}]}));
        assert!(convert_event(&bad).is_err());
        let empty = map(json!({"artifacts": {}}));
        assert!(convert_event(&empty).unwrap().artifacts.is_empty());
    }
}
