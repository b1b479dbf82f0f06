//! What bakeManifest and deployManifest "do": record the exact bytes they were given (and the
//! `jenkins` stage, in [`super::jenkins`]).
//!
//! A bake resolves `inputArtifacts` (by expected-artifact id against the trigger-bound
//! artifacts and earlier bakes, or inline), takes `[0]` as the chart and the rest as values
//! files, decodes `embedded/base64` content, and produces its single expected output
//! artifact as `embedded/base64`. A deploy takes its manifest from `manifestArtifactId`
//! (a bake output or a trigger artifact) or inline text, binds `requiredArtifactIds`
//! (images), and records a [`Deployment`] under application + namespace.

use base64::Engine as _;
use serde_json::Value;
use sha2::{Digest, Sha256};
use spinnaker_client::model::artifact::{Artifact, EMBEDDED_BASE64};
use spinnaker_client::model::execution::ExecutionStatus;
use spinnaker_client::model::stage::{BakeManifest, DeployManifest, InputArtifact};

use super::state::{ArtifactContent, Bake, Deployment, State};

type Outcome = (ExecutionStatus, Option<String>);

/// Runs stage `s` of run `i`; returns its final status and failure message.
pub(crate) fn run_stage(state: &mut State, i: usize, s: usize) -> Outcome {
    let stage_type = state.runs[i].exec.stages[s].stage_type.clone();
    let pipeline = state.runs[i].config.name.clone();
    if let Some(rule) = state
        .fail_rules
        .iter()
        .find(|r| r.stage_type == stage_type && r.pipeline.as_ref().is_none_or(|p| *p == pipeline))
    {
        return (ExecutionStatus::Terminal, Some(rule.message.clone()));
    }
    if stage_type == "jenkins" {
        return super::jenkins::run(state, i, s);
    }
    let context = Value::Object(state.runs[i].exec.stages[s].context.extra.clone());
    let result = match stage_type.as_str() {
        "bakeManifest" => serde_json::from_value::<BakeManifest>(context)
            .map_err(|e| format!("invalid bakeManifest stage: {e}"))
            .and_then(|b| bake(state, i, s, &b)),
        "deployManifest" => serde_json::from_value::<DeployManifest>(context)
            .map_err(|e| format!("invalid deployManifest stage: {e}"))
            .and_then(|d| deploy(state, i, &d)),
        _ => Ok(()),
    };
    match result {
        Ok(()) => (ExecutionStatus::Succeeded, None),
        Err(message) => (ExecutionStatus::Terminal, Some(message)),
    }
}

fn content(artifact: Artifact) -> Result<ArtifactContent, String> {
    let bytes = match artifact.embedded_bytes() {
        None => None,
        Some(Ok(b)) => Some(b),
        Some(Err(e)) => {
            return Err(format!(
                "artifact {:?} is embedded/base64 but its reference is not base64: {e}",
                artifact.name.as_deref().unwrap_or("?")
            ));
        }
    };
    Ok(ArtifactContent { artifact, bytes })
}

fn lookup(state: &State, i: usize, id: &str) -> Option<Artifact> {
    let run = &state.runs[i];
    run.bound
        .get(id)
        .cloned()
        .or_else(|| run.produced.get(id).map(|&b| state.bakes[b].output.clone()))
}

fn resolve_input(state: &State, i: usize, input: &InputArtifact) -> Result<Artifact, String> {
    match (&input.id, &input.artifact) {
        (Some(id), _) => lookup(state, i, id)
            .ok_or_else(|| format!("Input artifact {id} could not be found in the execution")),
        (None, Some(a)) => Ok(a.clone()),
        (None, None) => Err("input artifact has neither id nor artifact".into()),
    }
}

fn bake(state: &mut State, i: usize, s: usize, b: &BakeManifest) -> Result<(), String> {
    let inputs = b.input_artifacts.as_deref().unwrap_or_default();
    let outputs = b.expected_artifacts.as_deref().unwrap_or_default();
    let [output_expected] = outputs else {
        return Err(format!(
            "bakeManifest requires exactly one expected artifact, got {}",
            outputs.len()
        ));
    };
    let Some((chart, values)) = inputs.split_first() else {
        return Err("bakeManifest has no input artifacts (the chart must be first)".into());
    };
    let chart = content(resolve_input(state, i, chart)?)?;
    let values = values
        .iter()
        .map(|v| resolve_input(state, i, v).and_then(content))
        .collect::<Result<Vec<_>, _>>()?;
    let mut rendered = format!(
        "# baked by fake-spinnaker\n# chart: {} {}\n",
        chart.artifact.name.as_deref().unwrap_or("?"),
        chart.artifact.version.as_deref().unwrap_or("")
    );
    for v in &values {
        let digest = hex::encode(Sha256::digest(v.bytes.as_deref().unwrap_or_default()));
        rendered.push_str(&format!(
            "# values: {} sha256:{digest}\n",
            v.artifact.name.as_deref().unwrap_or("?")
        ));
    }
    let name = output_expected
        .match_artifact
        .as_ref()
        .and_then(|m| m.name.clone())
        .or_else(|| b.output_name.clone());
    let output = Artifact {
        artifact_type: Some(EMBEDDED_BASE64.into()),
        name,
        reference: Some(base64::engine::general_purpose::STANDARD.encode(rendered)),
        ..Artifact::default()
    };
    let run = &state.runs[i];
    let record = Bake {
        application: run.exec.application.clone(),
        execution_id: run.exec.id.clone(),
        pipeline: run.config.name.clone(),
        chart,
        values,
        output_name: b.output_name.clone(),
        output: output.clone(),
    };
    state.bakes.push(record);
    let index = state.bakes.len() - 1;
    let run = &mut state.runs[i];
    run.produced.insert(output_expected.id.clone(), index);
    if let Some(outputs) = run.exec.stages[s].outputs.as_mut() {
        outputs.insert(
            "artifacts".into(),
            serde_json::to_value([&output]).unwrap_or_default(),
        );
    }
    Ok(())
}

fn deploy(state: &mut State, i: usize, d: &DeployManifest) -> Result<(), String> {
    let account = d.account.clone().unwrap_or_default();
    let namespace = d
        .namespace_override
        .clone()
        .filter(|n| !n.is_empty())
        .or_else(|| state.settings.default_namespaces.get(&account).cloned())
        .unwrap_or_else(|| "default".into());
    let mut chart = None;
    let mut values = Vec::new();
    let mut manifest_artifact = None;
    if d.source.as_deref() != Some("text") {
        let id = d
            .manifest_artifact_id
            .as_deref()
            .ok_or("deployManifest with source artifact has no manifestArtifactId")?;
        if let Some(&b) = state.runs[i].produced.get(id) {
            chart = Some(state.bakes[b].chart.clone());
            values = state.bakes[b].values.clone();
            manifest_artifact = Some(state.bakes[b].output.clone());
        } else {
            manifest_artifact = Some(lookup(state, i, id).ok_or_else(|| {
                format!("Manifest artifact {id} could not be found in the execution")
            })?);
        }
    }
    let mut images = Vec::new();
    for id in d.required_artifact_ids.iter().flatten() {
        let a = lookup(state, i, id)
            .ok_or_else(|| format!("Required artifact {id} could not be found in the execution"))?;
        images.push(a.reference.or(a.name).unwrap_or_default());
    }
    let run = &state.runs[i];
    let record = Deployment {
        application: run.exec.application.clone(),
        namespace,
        account,
        execution_id: run.exec.id.clone(),
        pipeline: run.config.name.clone(),
        chart,
        values,
        images,
        manifest_artifact,
        manifests: d.manifests.clone().unwrap_or_default(),
        at: state.epoch_ms(),
    };
    state.deployments.push(record);
    Ok(())
}
