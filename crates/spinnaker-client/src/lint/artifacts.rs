//! Lint checks on artifact binding: stages using expected artifacts no trigger binds, and
//! events whose artifacts Orca cannot resolve uniquely on startup.

use super::{Ctx, SampleEvent};
use crate::model::artifact::Artifact;
use crate::model::pipeline::PipelineConfig;
use crate::model::stage::StageKind;

/// A stage that uses a pipeline-level expected artifact which no trigger lists (and which has
/// no default or prior fallback): Orca only resolves the expected artifacts a trigger names in
/// `expectedArtifactIds`, so the stage fails at run time ("could not be found").
pub(super) fn lint_unbound(p: &PipelineConfig, ctx: &mut Ctx<'_>) {
    let triggers = p.triggers();
    if triggers.is_empty() {
        return;
    }
    let unbound = |id: &str| {
        p.expected_artifacts().iter().any(|e| {
            e.id == id
                && e.use_default_artifact != Some(true)
                && e.use_prior_artifact != Some(true)
                && !triggers
                    .iter()
                    .any(|t| t.expected_artifact_ids().iter().any(|t_id| t_id == id))
        })
    };
    let report = |ctx: &mut Ctx<'_>, path: String, id: &str| {
        let listed: Vec<String> = (0..triggers.len())
            .map(|t| format!("triggers[{t}].expectedArtifactIds"))
            .collect();
        ctx.push(
            path,
            format!(
                "uses expected artifact {id:?}, but no trigger lists it in expectedArtifactIds, \
                 so Orca never binds it and the stage fails at run time"
            ),
            format!("add {id:?} to {}", listed.join(" or ")),
        );
    };
    for (s, stage) in p.stages().iter().enumerate() {
        match &stage.kind {
            StageKind::BakeManifest(b) => {
                for (j, input) in b.input_artifacts.iter().flatten().enumerate() {
                    if let Some(id) = input.id.as_deref().filter(|id| unbound(id)) {
                        report(ctx, format!("stages[{s}].inputArtifacts[{j}].id"), id);
                    }
                }
            }
            StageKind::DeployManifest(d) => {
                if let Some(id) = d.manifest_artifact_id.as_deref().filter(|id| unbound(id)) {
                    report(ctx, format!("stages[{s}].manifestArtifactId"), id);
                }
                for (j, id) in d.required_artifact_ids.iter().flatten().enumerate() {
                    if unbound(id) {
                        report(ctx, format!("stages[{s}].requiredArtifactIds[{j}]"), id);
                    }
                }
            }
            _ => {}
        }
    }
}

pub(super) fn lint_uniqueness(p: &PipelineConfig, events: &[SampleEvent], ctx: &mut Ctx<'_>) {
    for (t, trigger) in p.triggers().iter().enumerate() {
        for event in events {
            if !trigger.matches_webhook(&event.source, &event.payload)
                || !p.artifact_gate(trigger, &event.artifacts)
            {
                continue;
            }
            if let Err(message) = p.resolve_artifacts(trigger, &event.artifacts)
                && message.ends_with("could not be resolved.")
            {
                let fix = "make every expected artifact of the trigger match one posted \
                           artifact, or give it a default";
                let source = &event.source;
                ctx.push(
                    format!("triggers[{t}]"),
                    format!("a {source:?} event starts this pipeline but Orca fails it on startup: {message}"),
                    fix,
                );
            }
            // Orca resolves against a set: identical duplicates count once.
            let mut unique: Vec<&Artifact> = Vec::new();
            for a in &event.artifacts {
                if !unique.contains(&a) {
                    unique.push(a);
                }
            }
            for e in p.trigger_expected_artifacts(trigger) {
                let hits: Vec<&str> = unique
                    .iter()
                    .filter(|a| e.matches(a))
                    .map(|a| a.name.as_deref().unwrap_or("?"))
                    .collect();
                if hits.len() > 1 {
                    ctx.push(
                        format!("triggers[{t}] expectedArtifact {:?}", e.id),
                        format!(
                            "matches {} artifacts of one {:?} event ({}); Orca fails the execution on startup",
                            hits.len(),
                            event.source,
                            hits.join(", ")
                        ),
                        "make matchArtifact.name match exactly one artifact (e.g. values-dev\\.yaml)",
                    );
                }
            }
        }
    }
}
