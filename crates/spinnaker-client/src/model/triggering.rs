//! How Echo picks pipelines for a webhook and how Orca binds the trigger's artifacts.
//!
//! Patterns are Java regexes evaluated with Java's semantics where they differ from Rust's
//! (see `patterns.rs`); where Echo or Orca would throw, or a construct cannot be evaluated
//! here, the `*_verdict` functions say so instead of answering no ([`Verdict`]).
//!
//! Sources (spinnaker/spinnaker monorepo): echo `WebhookEventHandler` (`isValidTrigger`,
//! `matchTriggerFor`), echo `ArtifactMatcher` (`isConstraintInPayload`,
//! `anyArtifactsMatchExpected`), orca `ArtifactUtils.resolveArtifacts` and `ArtifactResolver`.

use serde_json::{Map, Value};

use super::artifact::{Artifact, ExpectedArtifact};
use super::pipeline::{PipelineConfig, Trigger};

/// The answer to "does this hold?" when Java semantics can make it neither yes nor no.
#[derive(Clone, Debug, PartialEq, Eq)]
#[non_exhaustive]
pub enum Verdict {
    /// It holds.
    Holds,
    /// It does not hold.
    Fails,
    /// Echo or Orca would throw here (e.g. a `ClassCastException` on a JsonPath list that
    /// holds a number, a `PatternSyntaxException` from kork); the message says what.
    EchoThrows(String),
    /// A pattern uses a Java construct this crate does not evaluate; nobody here can say.
    CannotEvaluate(String),
}

impl Trigger {
    /// Echo's test for a webhook event: the trigger is enabled, its type is exactly `webhook`,
    /// its source equals `source` (case-sensitive) and every payload constraint holds
    /// (see [`constraints_hold`]).
    pub fn matches_webhook(&self, source: &str, payload: &Map<String, Value>) -> bool {
        self.webhook_verdict(source, payload) == Verdict::Holds
    }

    /// [`Trigger::matches_webhook`] with the cases where Echo throws (it then drops the whole
    /// event) or a pattern cannot be evaluated here.
    pub fn webhook_verdict(&self, source: &str, payload: &Map<String, Value>) -> Verdict {
        if !self.is_enabled()
            || self.trigger_type != "webhook"
            || self.source.as_deref() != Some(source)
        {
            return Verdict::Fails;
        }
        match &self.payload_constraints {
            None => Verdict::Holds,
            Some(c) => constraints_verdict(c, payload),
        }
    }
}

/// Echo's `isJsonPathConstraintInPayload`, yes or no (see [`constraints_verdict`]).
pub fn constraints_hold(constraints: &Map<String, Value>, payload: &Map<String, Value>) -> bool {
    constraints_verdict(constraints, payload) == Verdict::Holds
}

/// Echo's `isJsonPathConstraintInPayload`.
///
/// For each constraint key: if the payload has that top-level key with a non-null value, the
/// constraint regex (if non-null) must be FOUND anywhere in the value's Java `toString()`
/// (unanchored, `Pattern.asPredicate`). Otherwise the key is read as a JsonPath
/// (`$.parameters.environments`; Jayway adds `$.` when missing) and the regex must be found
/// in the string (numbers and booleans as text), or in one element of the list, it selects;
/// Echo throws on a list element that is not a string (an unchecked `List<String>`) and on a
/// null constraint whose path exists. An invalid regex never matches (Echo logs it). Only
/// dotted paths with optional `[n]` indices are modelled.
pub fn constraints_verdict(
    constraints: &Map<String, Value>,
    payload: &Map<String, Value>,
) -> Verdict {
    for (key, want) in constraints {
        let pattern = (!want.is_null()).then(|| java_to_string(want));
        let found = |text: &str| match pattern.as_deref() {
            None => Verdict::Holds,
            Some(p) => match super::patterns::find(p, text) {
                Ok(true) => Verdict::Holds,
                Ok(false) | Err(super::PatternError::Invalid(_)) => Verdict::Fails,
                Err(e @ super::PatternError::Unsupported(_)) => {
                    Verdict::CannotEvaluate(format!("payloadConstraints.{key}: {e}"))
                }
            },
        };
        let verdict = match payload.get(key).filter(|v| !v.is_null()) {
            Some(have) => found(&java_to_string(have)),
            None => match json_path(payload, key) {
                Some(v @ (Value::String(_) | Value::Number(_) | Value::Bool(_)))
                    if pattern.is_some() =>
                {
                    found(&java_to_string(v))
                }
                Some(Value::Array(items)) if pattern.is_some() => {
                    let mut verdict = Verdict::Fails;
                    for item in items {
                        let Some(text) = item.as_str() else {
                            verdict = Verdict::EchoThrows(format!(
                                "java.lang.ClassCastException: {key} selects {item}, not a String"
                            ));
                            break;
                        };
                        verdict = found(text);
                        if verdict != Verdict::Fails {
                            break;
                        }
                    }
                    verdict
                }
                Some(Value::String(_) | Value::Number(_) | Value::Bool(_) | Value::Array(_)) => {
                    Verdict::EchoThrows(format!(
                        "java.lang.NullPointerException: payloadConstraints.{key} is null"
                    ))
                }
                _ => Verdict::Fails,
            },
        };
        if verdict != Verdict::Holds {
            return verdict;
        }
    }
    Verdict::Holds
}

/// Follows a dotted JsonPath (`$.a.b[0].c`) through the payload.
fn json_path<'a>(payload: &'a Map<String, Value>, path: &str) -> Option<&'a Value> {
    let path = path.strip_prefix('$').unwrap_or(path);
    let path = path.strip_prefix('.').unwrap_or(path);
    let mut parts = path.split('.');
    let first = parts.next()?;
    let (name, indices) = split_indices(first)?;
    let mut current = index_into(payload.get(name)?, &indices)?;
    for part in parts {
        let (name, indices) = split_indices(part)?;
        current = index_into(current.as_object()?.get(name)?, &indices)?;
    }
    Some(current)
}

fn split_indices(part: &str) -> Option<(&str, Vec<usize>)> {
    let (name, rest) = part.split_once('[').map_or((part, ""), |(n, r)| (n, r));
    let mut indices = Vec::new();
    for chunk in rest.split('[').filter(|c| !c.is_empty()) {
        indices.push(chunk.strip_suffix(']')?.parse().ok()?);
    }
    Some((name, indices))
}

fn index_into<'a>(mut v: &'a Value, indices: &[usize]) -> Option<&'a Value> {
    for &i in indices {
        v = v.as_array()?.get(i)?;
    }
    Some(v)
}

/// Jackson's scalar-to-`String` coercion.
pub(crate) fn java_string<'de, D: serde::Deserializer<'de>>(
    d: D,
) -> Result<Option<String>, D::Error> {
    use serde::de::Error as _;
    match <Option<Value> as serde::Deserialize>::deserialize(d)? {
        None | Some(Value::Null) => Ok(None),
        Some(Value::String(s)) => Ok(Some(s)),
        Some(v @ (Value::Number(_) | Value::Bool(_))) => Ok(Some(java_to_string(&v))),
        Some(other) => Err(D::Error::custom(format!(
            "expected a string, found {other} (Jackson cannot read an object or array into a String)"
        ))),
    }
}

/// How a JSON value prints through Java's `toString()` after Jackson read it into a `Map`.
pub fn java_to_string(v: &Value) -> String {
    match v {
        Value::Null => "null".into(),
        Value::Bool(b) => b.to_string(),
        Value::Number(n) => n.to_string(),
        Value::String(s) => s.clone(),
        Value::Array(items) => {
            let parts: Vec<String> = items.iter().map(java_to_string).collect();
            format!("[{}]", parts.join(", "))
        }
        Value::Object(m) => {
            let parts: Vec<String> = m
                .iter()
                .map(|(k, v)| format!("{k}={}", java_to_string(v)))
                .collect();
            format!("{{{}}}", parts.join(", "))
        }
    }
}

impl PipelineConfig {
    /// The pipeline's expected artifacts whose ids `trigger` lists.
    pub fn trigger_expected_artifacts<'a>(
        &'a self,
        trigger: &'a Trigger,
    ) -> impl Iterator<Item = &'a ExpectedArtifact> {
        self.expected_artifacts()
            .iter()
            .filter(|e| trigger.expected_artifact_ids().contains(&e.id))
    }

    /// Echo's artifact gate (`anyArtifactsMatchExpected`): true when the trigger lists no
    /// expected artifact ids, else when at least one posted artifact matches one of them.
    pub fn artifact_gate(&self, trigger: &Trigger, posted: &[Artifact]) -> bool {
        self.artifact_gate_verdict(trigger, posted) == Verdict::Holds
    }

    /// [`PipelineConfig::artifact_gate`] evaluated in Echo's order (`anyMatch` over posted
    /// artifacts, then expected ones), so kork's exceptions show where Echo meets them (Echo
    /// then skips this trigger).
    pub fn artifact_gate_verdict(&self, trigger: &Trigger, posted: &[Artifact]) -> Verdict {
        if trigger.expected_artifact_ids().is_empty() {
            return Verdict::Holds;
        }
        let expected: Vec<_> = self.trigger_expected_artifacts(trigger).collect();
        for a in posted {
            for e in &expected {
                match e.match_verdict(a) {
                    Verdict::Fails => {}
                    other => return other,
                }
            }
        }
        Verdict::Fails
    }

    /// Orca's start-time resolution (`ArtifactUtils.resolveArtifacts`, requireUniqueMatches
    /// = true): the received artifacts form a set (identical duplicates collapse); each
    /// expected artifact listed by the trigger, or marked use-default/prior, must match
    /// exactly one of them (prior artifacts are not modelled), else its default artifact when
    /// `useDefaultArtifact`. Returns the expected artifacts with `boundArtifact` set, or the
    /// message Orca fails the execution with (or why it cannot be evaluated here).
    pub fn resolve_artifacts(
        &self,
        trigger: &Trigger,
        received: &[Artifact],
    ) -> Result<Vec<ExpectedArtifact>, String> {
        self.resolve_verdict(trigger, received)
            .map_err(|v| match v {
                Verdict::EchoThrows(m) | Verdict::CannotEvaluate(m) => m,
                Verdict::Holds | Verdict::Fails => String::new(),
            })
    }

    /// [`PipelineConfig::resolve_artifacts`]; `Err` tells a failure Orca reports
    /// ([`Verdict::EchoThrows`] with Orca's message) from a pattern nobody here can evaluate.
    pub fn resolve_verdict(
        &self,
        trigger: &Trigger,
        received: &[Artifact],
    ) -> Result<Vec<ExpectedArtifact>, Verdict> {
        let mut unique: Vec<&Artifact> = Vec::new();
        for a in received {
            if !unique.contains(&a) {
                unique.push(a);
            }
        }
        let wanted = self.expected_artifacts().iter().filter(|e| {
            trigger.expected_artifact_ids().contains(&e.id)
                || e.use_default_artifact == Some(true)
                || e.use_prior_artifact == Some(true)
        });
        let mut bound = Vec::new();
        for expected in wanted {
            let mut matches = Vec::new();
            for a in &unique {
                match expected.match_verdict(a) {
                    Verdict::Holds => matches.push(*a),
                    Verdict::Fails => {}
                    other => return Err(other),
                }
            }
            let chosen = match matches.as_slice() {
                [] if expected.use_default_artifact == Some(true) => {
                    expected.default_artifact.clone()
                }
                [] => None,
                [one] => Some((*one).clone()),
                many => {
                    return Err(Verdict::EchoThrows(format!(
                        "Expected artifact {} matches multiple artifacts [{}]",
                        describe_expected(expected),
                        many.iter()
                            .map(|a| describe(a))
                            .collect::<Vec<_>>()
                            .join(", ")
                    )));
                }
            };
            let Some(artifact) = chosen else {
                return Err(Verdict::EchoThrows(format!(
                    "Unmatched expected artifact {} could not be resolved.",
                    describe_expected(expected)
                )));
            };
            let mut e = expected.clone();
            e.bound_artifact = Some(artifact);
            bound.push(e);
        }
        Ok(bound)
    }
}

/// Lombok-style `toString` of an artifact, the form Orca's messages use (content elided).
pub fn describe(a: &Artifact) -> String {
    let f = |v: &Option<String>| v.clone().unwrap_or_else(|| "null".into());
    let reference = match (&a.reference, a.type_str()) {
        (Some(r), super::artifact::EMBEDDED_BASE64) => format!("<{} base64 chars>", r.len()),
        (r, _) => f(r),
    };
    format!(
        "Artifact(type={}, name={}, version={}, location={}, reference={}, artifactAccount={})",
        f(&a.artifact_type),
        f(&a.name),
        f(&a.version),
        f(&a.location),
        reference,
        f(&a.artifact_account)
    )
}

fn describe_expected(e: &ExpectedArtifact) -> String {
    let m = e
        .match_artifact
        .as_ref()
        .map(describe)
        .unwrap_or_else(|| "null".into());
    format!(
        "ExpectedArtifact(matchArtifact={m}, usePriorArtifact={}, useDefaultArtifact={}, id={})",
        e.use_prior_artifact.unwrap_or(false),
        e.use_default_artifact.unwrap_or(false),
        e.id
    )
}
