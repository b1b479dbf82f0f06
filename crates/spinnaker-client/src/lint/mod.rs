//! Lint over pipeline configs: the mistakes Spinnaker only reports at run time.
//!
//! `baton pipelines lint` calls [`lint`] with the rendered pipelines and the events baton will
//! post, so it can also check that no expected artifact matches two artifacts of one event
//! (Orca resolves trigger artifacts with `requireUniqueMatches` and fails such executions on
//! startup).

use std::collections::{BTreeMap, BTreeSet};
use std::fmt;

use serde_json::{Map, Value};

use crate::model::artifact::Artifact;
use crate::model::pipeline::PipelineConfig;
use crate::model::stage::StageKind;

mod artifacts;

/// An event as it will be posted: webhook source and payload.
#[derive(Clone, Debug, PartialEq)]
pub struct SampleEvent {
    /// The webhook source (`/webhooks/webhook/{source}`).
    pub source: String,
    /// The payload (top-level keys for `payloadConstraints`).
    pub payload: Map<String, Value>,
    /// The posted artifacts.
    pub artifacts: Vec<Artifact>,
}

impl SampleEvent {
    /// The event a webhook body describes: its top-level keys and its `artifacts`.
    pub fn from_payload(
        source: impl Into<String>,
        payload: Map<String, Value>,
    ) -> Result<Self, crate::Error> {
        let artifacts =
            crate::model::outcome::event_artifacts(&payload).map_err(|e| crate::Error::Decode {
                what: "webhook payload".into(),
                path: "artifacts".into(),
                source: serde::de::Error::custom(e),
            })?;
        Ok(Self {
            source: source.into(),
            payload,
            artifacts,
        })
    }
}

/// One problem found in a pipeline config.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Finding {
    /// `application/name` of the pipeline.
    pub pipeline: String,
    /// Where in the pipeline JSON (`stages[1].inputArtifacts[0].id`).
    pub path: String,
    /// What is wrong.
    pub message: String,
    /// How to fix it.
    pub fix: String,
}

impl fmt::Display for Finding {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}: {}: {} (fix: {})",
            self.pipeline, self.path, self.message, self.fix
        )
    }
}

struct Ctx<'a> {
    pipeline: String,
    findings: &'a mut Vec<Finding>,
}

impl Ctx<'_> {
    fn push(
        &mut self,
        path: impl Into<String>,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) {
        self.findings.push(Finding {
            pipeline: self.pipeline.clone(),
            path: path.into(),
            message: message.into(),
            fix: fix.into(),
        });
    }
}

/// Checks every pipeline; returns all findings (empty = clean).
pub fn lint(pipelines: &[PipelineConfig], events: &[SampleEvent]) -> Vec<Finding> {
    let mut findings = Vec::new();
    for p in pipelines {
        let mut ctx = Ctx {
            pipeline: format!("{}/{}", p.application, p.name),
            findings: &mut findings,
        };
        lint_one(p, events, &mut ctx);
    }
    findings
}

fn lint_one(p: &PipelineConfig, events: &[SampleEvent], ctx: &mut Ctx<'_>) {
    let known: BTreeSet<&str> = p.all_expected_artifacts().map(|e| e.id.as_str()).collect();
    let check_id = |ctx: &mut Ctx<'_>, path: String, id: &str| {
        if !known.contains(id) {
            ctx.push(
                path,
                format!("expected artifact id {id:?} is not declared"),
                "declare it under expectedArtifacts (pipeline) or a bake's expectedArtifacts, or fix the id",
            );
        }
    };
    for e in p.all_expected_artifacts() {
        for bad in e.bad_patterns() {
            let path = format!("expectedArtifact {:?}.matchArtifact.{}", e.id, bad.field);
            if bad.unsupported {
                ctx.push(
                    path,
                    format!("{:?}: {}; Java may accept it", bad.pattern, bad.reason),
                    "check this pattern by hand, or write it without that construct",
                );
            } else {
                ctx.push(
                    path,
                    format!("{:?} is not a valid regex: {}", bad.pattern, bad.reason),
                    "escape regex characters or write a valid pattern",
                );
            }
        }
    }
    for (t, trigger) in p.triggers().iter().enumerate() {
        for (j, id) in trigger.expected_artifact_ids().iter().enumerate() {
            check_id(ctx, format!("triggers[{t}].expectedArtifactIds[{j}]"), id);
        }
        if trigger.trigger_type == "webhook" && trigger.source.as_deref().unwrap_or("").is_empty() {
            ctx.push(
                format!("triggers[{t}].source"),
                "webhook trigger has no source, so no webhook can start it",
                "set source to the webhook source baton posts to (e.g. \"chart\")",
            );
        }
        for (key, pattern) in trigger.payload_constraints.iter().flatten() {
            match pattern.as_str().map(crate::model::check_pattern) {
                Some(Err(e @ crate::model::PatternError::Unsupported(_))) => ctx.push(
                    format!("triggers[{t}].payloadConstraints.{key}"),
                    format!("{e}; Echo may match it, baton cannot tell"),
                    "check this constraint by hand, or write it without that construct",
                ),
                Some(Err(e)) => ctx.push(
                    format!("triggers[{t}].payloadConstraints.{key}"),
                    format!("not a valid regex: {e}"),
                    "write a valid regex",
                ),
                _ => {}
            }
        }
    }
    for (s, stage) in p.stages().iter().enumerate() {
        match &stage.kind {
            StageKind::BakeManifest(b) => {
                for (j, input) in b.input_artifacts.iter().flatten().enumerate() {
                    if let Some(id) = &input.id {
                        check_id(ctx, format!("stages[{s}].inputArtifacts[{j}].id"), id);
                    } else if input.artifact.is_none() {
                        ctx.push(
                            format!("stages[{s}].inputArtifacts[{j}]"),
                            "input artifact has neither id nor artifact",
                            "reference an expected artifact by id",
                        );
                    }
                }
                let outputs = b.expected_artifacts.as_deref().unwrap_or_default().len();
                if outputs != 1 {
                    ctx.push(
                        format!("stages[{s}].expectedArtifacts"),
                        format!(
                            "bakeManifest must produce exactly one artifact, declares {outputs}"
                        ),
                        "declare one embedded/base64 expected artifact for the baked manifest",
                    );
                }
                if b.template_renderer
                    .as_deref()
                    .is_some_and(|r| r.starts_with("HELM"))
                    && b.input_artifacts.as_deref().unwrap_or_default().is_empty()
                {
                    ctx.push(
                        format!("stages[{s}].inputArtifacts"),
                        "Helm bake without a chart",
                        "make inputArtifacts[0] the chart and the rest values files",
                    );
                }
            }
            StageKind::DeployManifest(d) => {
                if d.source.as_deref() == Some("artifact") {
                    match &d.manifest_artifact_id {
                        Some(id) => check_id(ctx, format!("stages[{s}].manifestArtifactId"), id),
                        None => ctx.push(
                            format!("stages[{s}].manifestArtifactId"),
                            "deployManifest with source artifact names no manifest artifact",
                            "set manifestArtifactId to the bake's output artifact id",
                        ),
                    }
                }
                for (j, id) in d.required_artifact_ids.iter().flatten().enumerate() {
                    check_id(ctx, format!("stages[{s}].requiredArtifactIds[{j}]"), id);
                }
            }
            _ => {}
        }
    }
    artifacts::lint_unbound(p, ctx);
    lint_graph(p, ctx);
    artifacts::lint_uniqueness(p, events, ctx);
}

fn lint_graph(p: &PipelineConfig, ctx: &mut Ctx<'_>) {
    let mut deps: BTreeMap<&str, Vec<&str>> = BTreeMap::new();
    for (s, stage) in p.stages().iter().enumerate() {
        if deps.insert(stage.ref_id.as_str(), Vec::new()).is_some() {
            ctx.push(
                format!("stages[{s}].refId"),
                format!("refId {:?} is used by more than one stage", stage.ref_id),
                "give every stage its own refId",
            );
        }
    }
    for (s, stage) in p.stages().iter().enumerate() {
        for (j, r) in stage.requisites().iter().enumerate() {
            if !deps.contains_key(r.as_str()) {
                ctx.push(
                    format!("stages[{s}].requisiteStageRefIds[{j}]"),
                    format!("no stage has refId {r:?}"),
                    "name an existing stage's refId",
                );
            } else if let Some(d) = deps.get_mut(stage.ref_id.as_str()) {
                d.push(r.as_str());
            }
        }
    }
    // Kahn's algorithm: whatever cannot be ordered sits on a cycle.
    let mut remaining = deps.clone();
    loop {
        let ready: Vec<&str> = remaining
            .iter()
            .filter(|(_, d)| d.iter().all(|r| !remaining.contains_key(r)))
            .map(|(k, _)| *k)
            .collect();
        if ready.is_empty() {
            break;
        }
        for k in ready {
            remaining.remove(k);
        }
    }
    if !remaining.is_empty() {
        let cycle: Vec<&str> = remaining.keys().copied().collect();
        ctx.push(
            "stages",
            format!("requisiteStageRefIds form a cycle through refIds {cycle:?}"),
            "remove a requisite so that stages form a DAG",
        );
    }
}
