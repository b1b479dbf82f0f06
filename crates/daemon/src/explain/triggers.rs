//! Why Echo started no pipeline for a webhook baton posted: the application's pipeline
//! configs (from Gate) checked against the exact posted payload with spinnaker-client's model
//! of Echo's event reading, trigger matching, artifact gate and Orca's artifact resolution
//! (Java regex semantics; where Echo would throw, or a Java construct cannot be evaluated,
//! the line says so instead of calling the trigger dead).

use serde_json::{Map, Value};
use spinnaker_client::model::artifact::Artifact;
use spinnaker_client::model::outcome::event_artifacts;
use spinnaker_client::model::pipeline::{PipelineConfig, Trigger};
use spinnaker_client::model::triggering::{Verdict, constraints_verdict, describe, java_to_string};

/// One line per webhook trigger of `pipelines` saying why it did (not) fire for an event
/// posted to Echo source `source` with body `payload` (one line when Echo drops the event).
pub fn why_not(pipelines: &[PipelineConfig], source: &str, payload: &Value) -> Vec<String> {
    let empty = Map::new();
    let body = payload.as_object().unwrap_or(&empty);
    let posted = match event_artifacts(body) {
        Ok(a) => a,
        Err(e) => {
            return vec![format!(
                "Echo accepted the event but drops it whole: it cannot read its artifacts ({e}); \
                 no pipeline starts"
            )];
        }
    };
    let mut out = Vec::new();
    for p in pipelines {
        if p.extra.get("disabled").and_then(Value::as_bool) == Some(true) {
            out.push(format!(
                "pipeline {:?}: disabled, so Echo's cache leaves out its triggers",
                p.name
            ));
            continue;
        }
        let webhooks = p
            .triggers
            .iter()
            .flatten()
            .enumerate()
            .filter(|(_, t)| t.trigger_type == "webhook");
        let mut earlier: Vec<(usize, &Trigger)> = Vec::new();
        for (i, t) in webhooks {
            let at = format!("pipeline {:?} trigger {}", p.name, i + 1);
            if !t.is_enabled() {
                out.push(format!("{at}: disabled"));
                continue;
            }
            if t.source.as_deref() != Some(source) {
                out.push(format!(
                    "{at}: source differs: the trigger listens on {:?}, the event was posted to {source:?}",
                    t.source.as_deref().unwrap_or("")
                ));
                continue;
            }
            if let Some(why) = why_not_matched(p, t, source, body, &posted) {
                out.push(format!("{at}: {why}"));
                continue;
            }
            if let Some((j, _)) = earlier.iter().find(|(_, e)| *e == t) {
                out.push(format!(
                    "{at}: identical to trigger {}: Echo starts one execution for both",
                    j + 1
                ));
                continue;
            }
            earlier.push((i, t));
            match p.resolve_verdict(t, &posted) {
                Err(Verdict::CannotEvaluate(m)) => {
                    out.push(format!("{at}: {m}; baton cannot tell whether Orca resolves it"))
                }
                Err(Verdict::EchoThrows(msg)) => {
                    out.push(format!("{at}: matched, but Orca fails it on startup: {msg}"))
                }
                _ => out.push(format!(
                    "{at}: matches; Echo should have started it (it may still be processing the event)"
                )),
            }
        }
    }
    if out.is_empty() {
        out.push(format!(
            "no pipeline of the application has a webhook trigger (source {source:?})"
        ));
    }
    out
}

/// Why `t` does not pass Echo's constraint test and artifact gate (`None` when it passes).
fn why_not_matched(
    p: &PipelineConfig,
    t: &Trigger,
    source: &str,
    body: &Map<String, Value>,
    posted: &[Artifact],
) -> Option<String> {
    let constraints = t.webhook_verdict(source, body);
    let verdict = match &constraints {
        Verdict::Holds => p.artifact_gate_verdict(t, posted),
        other => other.clone(),
    };
    let on_constraints = constraints != Verdict::Holds;
    Some(match verdict {
        Verdict::Holds => return None,
        Verdict::CannotEvaluate(m) => format!("{m}; baton cannot tell whether Echo matches it"),
        Verdict::EchoThrows(m) if on_constraints => {
            format!("Echo throws {m} on this trigger's constraints and drops the whole event")
        }
        Verdict::EchoThrows(m) => {
            format!("Echo skips it: matching its expected artifacts throws {m}")
        }
        _ if on_constraints => failed_constraints(t.payload_constraints.as_ref(), body).join("; "),
        _ => {
            let expected: Vec<String> = p
                .trigger_expected_artifacts(t)
                .map(|e| e.match_artifact.as_ref().map_or("null".into(), describe))
                .collect();
            let sent: Vec<String> = posted.iter().map(describe).collect();
            format!(
                "no expected artifact matched: expected one of [{}], posted [{}]",
                expected.join(", "),
                sent.join(", ")
            )
        }
    })
}

/// `constraint KEY=REGEX not found in value V` for each payload constraint that fails.
fn failed_constraints(
    constraints: Option<&Map<String, Value>>,
    body: &Map<String, Value>,
) -> Vec<String> {
    let mut failed = Vec::new();
    for (key, want) in constraints.into_iter().flatten() {
        let one: Map<String, Value> = [(key.clone(), want.clone())].into_iter().collect();
        if constraints_verdict(&one, body) == Verdict::Holds {
            continue;
        }
        let value = match body.get(key).filter(|v| !v.is_null()) {
            Some(v) => format!("value {:?}", java_to_string(v)),
            None => "the payload (no such key)".to_owned(),
        };
        failed.push(format!(
            "constraint {key}={:?} not found in {value}",
            java_to_string(want)
        ));
    }
    failed
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn pipeline(trigger: Value, expected: Value) -> PipelineConfig {
        serde_json::from_value(json!({
            "application": "mgw", "name": "mgw-deploy-dev",
            "triggers": [trigger], "expectedArtifacts": expected
        }))
        .unwrap()
    }

    #[test]
    fn names_the_failing_part_of_each_trigger() {
        let body = json!({"application": "mgw", "environments": "staging",
            "artifacts": [{"type": "embedded/base64", "name": "mgw-3.0.1.tgz", "reference": "AAAA"}]});
        let wrong_source = pipeline(
            json!({"type": "webhook", "enabled": true, "source": "image"}),
            json!([]),
        );
        let constraint = pipeline(
            json!({"type": "webhook", "enabled": true, "source": "chart",
                   "payloadConstraints": {"environments": "(^|,)dev(,|$)"}}),
            json!([]),
        );
        let artifacts = pipeline(
            json!({"type": "webhook", "enabled": true, "source": "chart", "expectedArtifactIds": ["a"]}),
            json!([{"id": "a", "matchArtifact": {"type": "embedded/base64", "name": "other.tgz"}}]),
        );
        let lines = why_not(&[wrong_source, constraint, artifacts], "chart", &body);
        assert_eq!(lines.len(), 3, "{lines:?}");
        assert!(
            lines[0].contains("source differs: the trigger listens on \"image\""),
            "{}",
            lines[0]
        );
        assert!(
            lines[1].contains(
                r#"constraint environments="(^|,)dev(,|$)" not found in value "staging""#
            ),
            "{}",
            lines[1]
        );
        assert!(
            lines[2].contains("no expected artifact matched"),
            "{}",
            lines[2]
        );
        assert!(
            lines[2].contains("name=other.tgz") && lines[2].contains("name=mgw-3.0.1.tgz"),
            "{}",
            lines[2]
        );
    }

    #[test]
    fn multiple_matches_and_no_trigger_are_explained() {
        let body = json!({"environments": "dev", "artifacts": [
            {"type": "embedded/base64", "name": "values-dev.yaml", "reference": "AA"},
            {"type": "embedded/base64", "name": "values-prod.yaml", "reference": "AA"}]});
        let p = pipeline(
            json!({"type": "webhook", "enabled": true, "source": "chart", "expectedArtifactIds": ["v"]}),
            json!([{"id": "v", "matchArtifact": {"type": "embedded/base64", "name": "values-.*"}}]),
        );
        let lines = why_not(&[p], "chart", &body);
        assert!(lines[0].contains("matches multiple artifacts"), "{lines:?}");
        let none = why_not(&[], "chart", &body);
        assert_eq!(
            none,
            vec!["no pipeline of the application has a webhook trigger (source \"chart\")"]
        );
    }
}
