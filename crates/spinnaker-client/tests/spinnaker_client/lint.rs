//! The pipeline lint finds what Spinnaker would only report at run time.

use serde_json::{Map, Value, json};
use spinnaker_client::lint::{Finding, SampleEvent, lint};
use spinnaker_client::model::artifact::Artifact;
use spinnaker_client::model::pipeline::PipelineConfig;
use spinnaker_client::model::stage::StageKind;
use testkit::spinnaker::sample::deploy_pipeline;

fn event(envs: &str) -> SampleEvent {
    let payload: Map<String, Value> =
        json!({"application": "app", "parameters": {"environments": envs}})
            .as_object()
            .unwrap()
            .clone();
    SampleEvent {
        source: "chart".into(),
        payload,
        artifacts: vec![
            Artifact::embedded_base64("mychart-1.0.0.tgz", b"t"),
            Artifact::embedded_base64("values-dev.yaml", b"d"),
            Artifact::embedded_base64("values-prod.yaml", b"p"),
        ],
    }
}

fn pipeline(env: &str) -> PipelineConfig {
    deploy_pipeline("app", env, "mychart", "chart", env != "dev")
}

/// The dev pipeline, its values artifact matched by the regex `name`.
fn dev_with_values(name: &str) -> PipelineConfig {
    let mut p = pipeline("dev");
    p.expected_artifacts.as_mut().unwrap()[1]
        .match_artifact
        .as_mut()
        .unwrap()
        .name = Some(name.into());
    p
}

/// The only finding, which says `what`.
fn the_finding<'a>(findings: &'a [Finding], what: &str) -> &'a Finding {
    assert_eq!(findings.len(), 1, "{findings:#?}");
    assert!(findings[0].message.contains(what), "{}", findings[0]);
    &findings[0]
}

#[test]
fn sample_events_come_from_webhook_bodies() {
    let body = json!({"application": "app", "artifacts": [{"type": "embedded/base64", "name": "values-dev.yaml"}]});
    let e = SampleEvent::from_payload("chart", body.as_object().unwrap().clone()).unwrap();
    assert_eq!(e.artifacts[0].name.as_deref(), Some("values-dev.yaml"));
    let number = json!({"artifacts": [{"name": 5}]});
    let e = SampleEvent::from_payload("chart", number.as_object().unwrap().clone()).unwrap();
    assert_eq!(
        e.artifacts[0].name.as_deref(),
        Some("5"),
        "Jackson reads a number as text"
    );
    let bad = json!({"artifacts": [{"name": {"first": "x"}}]});
    let err = SampleEvent::from_payload("chart", bad.as_object().unwrap().clone()).unwrap_err();
    let text = testkit::shown_once(&err);
    assert!(text.contains("[0].name"), "{text}");
}

#[test]
fn rendered_style_pipelines_are_clean() {
    let findings = lint(&[pipeline("dev"), pipeline("prod")], &[event("dev,prod")]);
    assert!(findings.is_empty(), "{findings:#?}");
}

#[test]
fn values_regex_that_matches_two_posted_files_is_found() {
    let findings = lint(&[dev_with_values("values-.*")], &[event("dev,prod")]);
    let f = the_finding(&findings, "matches 2 artifacts");
    assert!(
        f.message.contains("values-dev.yaml, values-prod.yaml"),
        "{f}"
    );
    assert_eq!(f.pipeline, "app/app-deploy-dev");
}

#[test]
fn expected_artifact_no_event_artifact_matches_is_found() {
    let findings = lint(&[dev_with_values("values-dev\\.yml")], &[event("dev")]);
    assert_eq!(
        the_finding(&findings, "could not be resolved").path,
        "triggers[0]"
    );
    let none = lint(&[pipeline("dev")], &[event("prod")]);
    assert!(
        none.is_empty(),
        "an event the trigger ignores is not checked: {none:#?}"
    );
}

#[test]
fn dangling_ids_cycles_and_bad_bakes_are_found() {
    let mut p = pipeline("prod");
    p.triggers.as_mut().unwrap()[0]
        .expected_artifact_ids
        .as_mut()
        .unwrap()
        .push("ghost".into());
    p.triggers.as_mut().unwrap()[0].source = Some(String::new());
    let stages = p.stages.as_mut().unwrap();
    stages[0].requisite_stage_ref_ids = Some(vec!["deploy".into()]);
    stages.push(stages[2].clone().after(&["missing"]));
    if let StageKind::BakeManifest(b) = &mut stages[1].kind {
        b.expected_artifacts.as_mut().unwrap().clear();
        b.input_artifacts.as_mut().unwrap()[1].id = Some("nowhere".into());
    }
    let findings = lint(&[p], &[]);
    let text: Vec<String> = findings.iter().map(ToString::to_string).collect();
    let has = |needle: &str| text.iter().any(|t| t.contains(needle));
    assert!(
        has("triggers[0].expectedArtifactIds[2]: expected artifact id \"ghost\""),
        "{text:#?}"
    );
    assert!(has("triggers[0].source"), "{text:#?}");
    assert!(has("stages[1].inputArtifacts[1].id"), "{text:#?}");
    assert!(has("exactly one artifact, declares 0"), "{text:#?}");
    assert!(has("stages[2].manifestArtifactId"), "{text:#?}");
    assert!(
        has("refId \"deploy\" is used by more than one stage"),
        "{text:#?}"
    );
    assert!(
        has("stages[3].requisiteStageRefIds[0]: no stage has refId \"missing\""),
        "{text:#?}"
    );
    assert!(has("form a cycle"), "{text:#?}");
}

#[test]
fn trigger_that_omits_the_values_artifact_of_a_bake_is_found() {
    // The seed system's staging pipeline: the trigger listed only the chart, so Orca never
    // bound values-staging and the bake failed at run time.
    let mut p = pipeline("staging");
    let values_id = p.expected_artifacts()[1].id.clone();
    p.triggers.as_mut().unwrap()[0]
        .expected_artifact_ids
        .as_mut()
        .unwrap()
        .retain(|id| *id != values_id);
    let findings = lint(&[p], &[]);
    assert_eq!(findings.len(), 1, "{findings:#?}");
    let f = &findings[0];
    assert_eq!(f.path, "stages[1].inputArtifacts[1].id");
    assert!(
        f.message.contains(&format!("{values_id:?}"))
            && f.message
                .contains("no trigger lists it in expectedArtifactIds"),
        "{f}"
    );
    assert_eq!(
        f.fix,
        format!("add {values_id:?} to triggers[0].expectedArtifactIds")
    );
}

/// A constraint or artifact pattern with a Java construct this crate cannot evaluate is
/// reported as such ("Java may accept it", "baton cannot tell"), never as an invalid regex or
/// a trigger nothing starts (issue 18, difference 3).
#[test]
fn java_constructs_are_reported_as_unevaluable_not_dead() {
    let mut p = pipeline("dev");
    let trigger = &mut p.triggers.as_mut().unwrap()[0];
    trigger
        .payload_constraints
        .get_or_insert_with(Map::new)
        .insert("application".into(), json!(r"^\p{javaLowerCase}+$"));
    let findings = lint(&[p], &[event("dev")]);
    let on_constraint: Vec<_> = findings
        .iter()
        .filter(|f| f.path.contains("payloadConstraints.application"))
        .collect();
    assert_eq!(on_constraint.len(), 1, "{findings:?}");
    let message = &on_constraint[0].message;
    assert!(
        message.contains("cannot evaluate this Java construct")
            && message.contains("baton cannot tell")
            && !message.contains("not a valid regex"),
        "{message}"
    );
}
