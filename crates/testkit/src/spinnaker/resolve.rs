//! Orca's start-up artifact resolution, written from orca-core `ArtifactUtils.resolveArtifacts`
//! and `ArtifactResolver` (requireUniqueMatches = true).
//!
//! - The received artifacts (Echo's `receivedArtifacts` plus `trigger.artifacts`) become an
//!   `ImmutableSet`: identical duplicates collapse before matching.
//! - Resolved are the pipeline's expected artifacts whose id the trigger lists in
//!   `expectedArtifactIds`, or that are marked `useDefaultArtifact` / `usePriorArtifact`.
//! - Each must match exactly one received artifact; two or more fail with "matches multiple
//!   artifacts"; none falls back to the default artifact (prior executions are not modelled),
//!   else fails with "could not be resolved.". An exception thrown while matching (invalid
//!   regex, null type) fails the start too.
//! - `trigger.artifacts` becomes the set of received plus resolved artifacts.

use std::collections::BTreeMap;

use serde_json::Value;
use spinnaker_client::model::artifact::Artifact;
use spinnaker_client::model::execution::ExecutionTrigger;

use super::kork::{KArtifact, KExpected};

/// What Orca stores in the trigger after resolution.
#[derive(Clone, Debug, Default)]
pub(crate) struct Resolved {
    /// `trigger.artifacts`: received and resolved, without duplicates, in insertion order.
    pub artifacts: Vec<KArtifact>,
    /// `(expected id, bound artifact)` in resolution order.
    pub bound: Vec<(KExpected, KArtifact)>,
}

impl Resolved {
    /// `trigger.resolvedExpectedArtifacts` as JSON.
    pub(crate) fn expected_json(&self) -> Vec<Value> {
        self.bound.iter().map(|(e, a)| e.to_json(a)).collect()
    }
}

fn push_unique(set: &mut Vec<KArtifact>, a: KArtifact) {
    if !set.contains(&a) {
        set.push(a);
    }
}

/// Resolves; `Err` is the message Orca fails the execution with on startup.
pub(crate) fn resolve(
    expected_ids: &[String],
    pipeline_expected: &[KExpected],
    received: &[Option<KArtifact>],
) -> Result<Resolved, String> {
    let mut unique = Vec::new();
    for a in received {
        // ImmutableSet rejects null elements.
        let a = a
            .clone()
            .ok_or("java.lang.NullPointerException: null artifact received")?;
        push_unique(&mut unique, a);
    }
    let mut out = Resolved {
        artifacts: unique.clone(),
        bound: Vec::new(),
    };
    let wanted = pipeline_expected
        .iter()
        .filter(|e| expected_ids.contains(&e.id) || e.use_default || e.use_prior);
    for e in wanted {
        let mut matches = Vec::new();
        for a in &unique {
            if e.matches(a).map_err(|t| t.0)? {
                matches.push(a);
            }
        }
        let chosen = match matches.as_slice() {
            [] if e.use_default => e.default_artifact.clone(),
            [] => None,
            [one] => Some((*one).clone()),
            many => {
                let listed: Vec<String> = many.iter().map(|a| a.lombok()).collect();
                return Err(format!(
                    "Expected artifact {} matches multiple artifacts [{}]",
                    e.lombok(None),
                    listed.join(", ")
                ));
            }
        };
        let Some(artifact) = chosen else {
            return Err(format!(
                "Unmatched expected artifact {} could not be resolved.",
                e.lombok(None)
            ));
        };
        push_unique(&mut out.artifacts, artifact.clone());
        out.bound.push((e.clone(), artifact));
    }
    Ok(out)
}

/// Plain data conversion into spinnaker-client's serde types (no matching code involved).
fn to_model<T: serde::de::DeserializeOwned + Default>(v: &Value) -> T {
    serde_json::from_value(v.clone()).unwrap_or_default()
}

/// Writes the outcome into the execution's trigger (`artifacts`,
/// `resolvedExpectedArtifacts`) and returns the bound artifacts by expected-artifact id.
pub(crate) fn store(
    resolution: &Result<Resolved, String>,
    received: &[Option<KArtifact>],
    trigger: &mut ExecutionTrigger,
) -> BTreeMap<String, Artifact> {
    let mut bound = BTreeMap::new();
    let artifacts: Vec<&KArtifact> = match resolution {
        Ok(resolved) => {
            for (e, a) in &resolved.bound {
                bound.insert(e.id.clone(), to_model(&a.to_json()));
            }
            trigger.resolved_expected_artifacts =
                Some(resolved.expected_json().iter().map(to_model).collect());
            resolved.artifacts.iter().collect()
        }
        Err(_) => received.iter().flatten().collect(),
    };
    trigger.artifacts = Some(artifacts.iter().map(|a| to_model(&a.to_json())).collect());
    bound
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    fn artifact(v: Value) -> Option<KArtifact> {
        Some(KArtifact::read(&v, "a").unwrap())
    }

    #[test]
    fn identical_duplicates_collapse_distinct_ones_conflict() {
        let e = KExpected::read(
            &json!({"id": "v", "matchArtifact": {"type": "embedded/base64", "name": "values-.*"}}),
            "e",
        )
        .unwrap();
        let dev = artifact(
            json!({"type": "embedded/base64", "name": "values-dev.yaml", "reference": "AA"}),
        );
        let ids = vec!["v".to_owned()];
        let same = resolve(&ids, std::slice::from_ref(&e), &[dev.clone(), dev.clone()]).unwrap();
        assert_eq!(same.artifacts.len(), 1);
        let prod = artifact(
            json!({"type": "embedded/base64", "name": "values-prod.yaml", "reference": "AA"}),
        );
        let err = resolve(&ids, &[e], &[dev, prod]).unwrap_err();
        assert!(err.contains("matches multiple artifacts"), "{err}");
    }
}
