//! `baton pipelines lint`: spinnaker-client's lint over pipelines, checked against the events
//! baton will post for the config (a chart event for all environments, one per environment,
//! and an image event per image), so an expected artifact that would match several posted
//! artifacts, or none, is found before Spinnaker fails an execution on startup.

use std::path::Path;

use anyhow::Context as _;
use base64::Engine as _;
use serde_json::Value;
use spinnaker_client::lint::{Finding, SampleEvent, lint};
use spinnaker_client::model::pipeline::PipelineConfig;
use spinnaker_client::model::triggering::Verdict;

use crate::config::model::{ChartDelivery, Config};
use crate::wire;

/// Lints `pipelines` against the sample events of `config`.
pub fn lint_against(config: &Config, pipelines: &[PipelineConfig]) -> anyhow::Result<Vec<Finding>> {
    let events = sample_events(config)?;
    let mut findings = lint(pipelines, &events);
    findings.extend(pipelines.iter().filter_map(|p| never_started(p, &events)));
    findings.extend(super::verify::lint(config, pipelines));
    // Several sample events can show the same problem; report it once.
    let mut seen = std::collections::HashSet::new();
    findings.retain(|f| seen.insert(f.to_string()));
    Ok(findings)
}

/// A finding when none of baton's events would start `p` (wrong source, a constraint on a key
/// baton does not send, an artifact name that never matches), for pipelines with triggers.
fn never_started(p: &PipelineConfig, events: &[SampleEvent]) -> Option<Finding> {
    if p.triggers().is_empty() {
        return None;
    }
    // A pattern baton cannot evaluate (a Java construct) may well match: not "never started".
    let started = p.triggers().iter().any(|t| {
        events.iter().any(|e| {
            let matched = match t.webhook_verdict(&e.source, &e.payload) {
                Verdict::Holds => p.artifact_gate_verdict(t, &e.artifacts),
                other => other,
            };
            matches!(matched, Verdict::Holds | Verdict::CannotEvaluate(_))
        })
    });
    (!started).then(|| Finding {
        pipeline: format!("{}/{}", p.application, p.name),
        path: "triggers".into(),
        message: format!(
            "no event baton posts for this config starts this pipeline (checked {} sample events: \
             webhook source, payloadConstraints on top-level keys, expected artifacts)",
            events.len()
        ),
        fix: "use baton's webhook sources, constrain `application` and `environments` (top level) \
              or `$.parameters.<key>`, and match artifact names baton posts"
            .into(),
    })
}

/// The events baton posts for `config`, with placeholder content.
pub fn sample_events(config: &Config) -> anyhow::Result<Vec<SampleEvent>> {
    let Some(spin) = &config.spinnaker else {
        return Ok(Vec::new());
    };
    let b64 = |s: &str| base64::engine::general_purpose::STANDARD.encode(s);
    let tgz = b64("placeholder chart");
    let mut bodies = Vec::new();
    for p in &config.products {
        if let Some(chart) = &p.chart {
            let version = chart
                .version
                .exact()
                .map_or_else(|| "0.0.0".into(), |v| v.to_string());
            let values: Vec<(&str, String)> = p
                .environments
                .iter()
                .map(|e| (e.as_str(), b64(&format!("env: {e}\n"))))
                .collect();
            let all: Vec<&str> = p.environments.iter().map(String::as_str).collect();
            let mut sets = vec![all.clone()];
            sets.extend(all.iter().map(|e| vec![*e]));
            for environments in sets {
                let event = wire::ChartEvent {
                    product: &p.name,
                    commit: "0000000000000000000000000000000000000000",
                    chart: &chart.name,
                    version: &version,
                    artifact: match chart.delivery {
                        ChartDelivery::Embedded => wire::ChartArtifact::Embedded { base64: &tgz },
                        ChartDelivery::Reference => wire::ChartArtifact::Reference {
                            account: chart.artifact_account.as_deref().unwrap_or(""),
                            digest: "sha256:0000000000000000000000000000000000000000000000000000000000000000",
                        },
                    },
                    environments,
                    values: values.clone(),
                    event_id: "lint",
                };
                bodies.push((
                    spin.webhook_source.clone(),
                    with_top_level_environments(wire::chart_event(&event)),
                ));
            }
        }
        for image in &p.images {
            let digest = format!("sha256:{}", "0".repeat(64));
            let event = wire::ImageEvent {
                product: &p.name,
                image: &image.name,
                repository: &image.target,
                digest: &digest,
                tag: Some("lint"),
                event_id: "lint",
            };
            bodies.push((spin.image_webhook_source.clone(), wire::image_event(&event)));
        }
    }
    bodies
        .into_iter()
        .map(|(source, body)| {
            let payload = body.as_object().cloned().unwrap_or_default();
            SampleEvent::from_payload(source, payload).context("building a sample event")
        })
        .collect()
}

/// The chart event carries `environments` at the top level too (so Echo's plain
/// payloadConstraints see it); adds it when the body has it only under `parameters`.
fn with_top_level_environments(mut body: Value) -> Value {
    let envs = body["parameters"]["environments"].clone();
    if let Some(m) = body.as_object_mut() {
        m.entry("environments").or_insert(envs);
    }
    body
}

/// Reads pipeline JSON files: each holds one pipeline object or an array of them.
pub fn read_files(files: &[impl AsRef<Path>]) -> anyhow::Result<Vec<PipelineConfig>> {
    let mut out = Vec::new();
    for f in files {
        let f = f.as_ref();
        let bytes = std::fs::read(f).with_context(|| format!("cannot read {}", f.display()))?;
        let what = f.display().to_string();
        let is_array = bytes
            .iter()
            .find(|b| !b.is_ascii_whitespace())
            .is_some_and(|b| *b == b'[');
        if is_array {
            out.extend(spinnaker_client::model::decode::<Vec<PipelineConfig>>(
                &what, &bytes,
            )?);
        } else {
            out.push(spinnaker_client::model::decode::<PipelineConfig>(
                &what, &bytes,
            )?);
        }
    }
    Ok(out)
}
