//! Every recorded Spinnaker document decodes into the model and re-encodes to the same JSON.

use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;
use spinnaker_client::model::decode;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use spinnaker_client::model::pipeline::{PipelineConfig, TriggerKind};
use spinnaker_client::model::stage::{BakeManifest, StageKind};
use spinnaker_client::model::webhook::WebhookPayload;

fn fixture(name: &str) -> Vec<u8> {
    let path = format!("{}/tests/fixtures/{name}", env!("CARGO_MANIFEST_DIR"));
    std::fs::read(&path).unwrap_or_else(|e| panic!("read {path}: {e}"))
}

/// Decodes with the model, re-encodes, and compares JSON values.
fn round_trip<T: DeserializeOwned + Serialize>(name: &str) -> T {
    let bytes = fixture(name);
    let decoded: T = decode(name, &bytes).unwrap_or_else(|e| panic!("{e}"));
    let original: Value = serde_json::from_slice(&bytes).unwrap();
    let again = serde_json::to_value(&decoded).unwrap();
    assert_eq!(again, original, "{name} changed in a round trip");
    decoded
}

#[test]
fn k8s_pipeline_configs_round_trip_with_typed_stages() {
    let configs: Vec<PipelineConfig> =
        round_trip("deck_k8s_pipelineConfigs_bake_deploy_manualJudgment.json");
    let stages = configs[0].stages();
    let bake = stages.iter().find_map(|s| match &s.kind {
        StageKind::BakeManifest(b) => Some(b),
        _ => None,
    });
    let bake = bake.expect("a typed bakeManifest stage");
    assert_eq!(bake.template_renderer.as_deref(), Some("HELM2"));
    let chart = bake.input_artifacts.as_ref().unwrap()[0]
        .artifact
        .as_ref()
        .unwrap();
    assert_eq!(chart.type_str(), "helm/chart");
    assert_eq!(chart.version.as_deref(), Some("0.2.4"));
    let deploy = stages.iter().find_map(|s| match &s.kind {
        StageKind::DeployManifest(d) => Some(d),
        _ => None,
    });
    assert_eq!(
        deploy.unwrap().namespace_override.as_deref(),
        Some("spinnaker-dev")
    );
    assert!(
        stages
            .iter()
            .any(|s| matches!(s.kind, StageKind::ManualJudgment(_)))
    );
    assert!(
        stages
            .iter()
            .any(|s| s.stage_type == "scaleManifest" && matches!(s.kind, StageKind::Other(_)))
    );
}

#[test]
fn google_pipeline_configs_round_trip_with_webhook_trigger() {
    let configs: Vec<PipelineConfig> =
        round_trip("deck_google_pipelineConfigs_webhook_trigger.json");
    let webhook = configs
        .iter()
        .flat_map(|c| c.triggers())
        .find(|t| t.kind() == TriggerKind::Webhook)
        .expect("a webhook trigger");
    assert_eq!(webhook.source.as_deref(), Some("cihook"));
    assert_eq!(webhook.expected_artifact_ids().len(), 1);
    assert!(
        configs
            .iter()
            .flat_map(|c| c.triggers())
            .any(|t| t.kind() == TriggerKind::Docker)
    );
}

#[test]
fn codelab_pipeline_round_trips() {
    let config: PipelineConfig = round_trip("examples_pipeline_deployManifest_manualJudgment.json");
    assert_eq!(config.triggers()[0].kind(), TriggerKind::Pipeline);
    let judgment = config.stages().iter().find(|s| s.ref_id == "4").unwrap();
    assert_eq!(judgment.requisites(), ["3"]);
}

#[test]
fn executions_round_trip() {
    let e: Execution = round_trip("deck_k8s_execution_bake_deploy_succeeded.json");
    assert_eq!(e.status, ExecutionStatus::Succeeded);
    assert_eq!(e.event_id(), Some("bb21aac4-892a-4a87-b100-ada3f0c32236"));
    let running: Execution = round_trip("deck_core_execution_running.json");
    assert_eq!(running.stages[0].status, ExecutionStatus::Running);
    let list: Vec<Execution> = round_trip("deck_core_pipelines_running_list.json");
    assert_eq!(list.len(), 1);
    let list: Vec<Execution> = round_trip("deck_k8s_pipelines_list.json");
    assert_eq!(list.len(), 2);
}

#[test]
fn bake_context_and_webhook_payloads_round_trip() {
    let ctx: BakeManifest = round_trip("orca_bake_manifest_stage_context.json");
    assert_eq!(
        ctx.input_artifacts.unwrap()[0].id.as_deref(),
        Some("artifact-testhelm")
    );
    let push: WebhookPayload = round_trip("echo_github_push_payload.json");
    assert!(push.extra.contains_key("ref"));
    let _: WebhookPayload = round_trip("echo_github_pr_payload.json");
}

#[test]
fn unknown_status_is_kept() {
    let json = br#"{"id":"x","status":"WEIRD","trigger":{"type":"manual"}}"#;
    let e: Execution = decode("execution", json).unwrap();
    assert_eq!(e.status, ExecutionStatus::Unknown("WEIRD".into()));
    assert_eq!(serde_json::to_value(&e).unwrap()["status"], "WEIRD");
}

#[test]
fn decode_errors_name_the_json_path() {
    let json = br#"[{"name":"p","stages":[{"refId":"1","type":"x"},{"refId":"2","type":"bakeManifest","inputArtifacts":[{"id":7}]}]}]"#;
    let err = decode::<Vec<PipelineConfig>>("pipelines.json", json).unwrap_err();
    let text = testkit::shown_once(&err);
    assert!(text.contains("pipelines.json"), "{text}");
    assert!(text.contains("[0].stages[1]"), "{text}");
    assert!(text.contains("inputArtifacts[0].id"), "{text}");
    let json = br#"{"id":"x","status":"RUNNING","trigger":{"type":"manual"},"stages":[{"id":"s","status":"RUNNING","startTime":"soon"}]}"#;
    let err = decode::<Execution>("execution", json).unwrap_err();
    let text = testkit::shown_once(&err);
    assert!(text.contains("stages[0].startTime"), "{text}");
}

/// Guard: a recorded document added to `tests/fixtures/` without a decode test here fails
/// the build's tests. Every `.json` fixture must be named in a `round_trip("...")` call of
/// this file and listed in `tests/fixtures/SOURCES.md`, and every name used here must exist.
#[test]
fn every_recorded_fixture_has_a_decode_test_and_a_source() {
    let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures");
    let this_file = include_str!("model_fixtures.rs");
    let sources = std::fs::read_to_string(dir.join("SOURCES.md")).unwrap();
    let mut on_disk: Vec<String> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".json"))
        .collect();
    on_disk.sort();
    let called = |name: &str| this_file.contains(&format!("round_trip(\"{name}\")"));
    let untested: Vec<&String> = on_disk.iter().filter(|n| !called(n)).collect();
    assert!(
        untested.is_empty(),
        "fixtures without a round_trip test: {untested:?}"
    );
    let unlisted: Vec<&String> = on_disk
        .iter()
        .filter(|n| !sources.contains(&format!("| {n} |")))
        .collect();
    assert!(
        unlisted.is_empty(),
        "fixtures missing from SOURCES.md: {unlisted:?}"
    );
    let mut rest = this_file;
    while let Some(i) = rest.find("round_trip(\"") {
        rest = &rest[i + "round_trip(\"".len()..];
        let name = &rest[..rest.find('"').unwrap()];
        if name.ends_with(".json") {
            assert!(
                on_disk.iter().any(|n| n == name),
                "{name} is tested but not in tests/fixtures"
            );
        }
    }
}
