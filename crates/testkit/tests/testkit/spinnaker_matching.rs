//! The stand-in matches webhooks as Echo does and resolves artifacts as Orca does.

use std::time::Duration;

use serde_json::{Value, json};
use spinnaker_client::Client;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use spinnaker_client::model::pipeline::PipelineConfig;
use testkit::spinnaker::FakeSpinnaker;
use testkit::spinnaker::sample::{chart_event, deploy_pipeline};

const APP: &str = "micro-gw";

async fn start(pipelines: Vec<PipelineConfig>) -> (FakeSpinnaker, Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let mut builder = FakeSpinnaker::builder()
        .manual_clock()
        .match_delay(Duration::from_secs(2));
    for p in pipelines {
        builder = builder.pipeline(p);
    }
    let fake = builder.start(listener).await.unwrap();
    let client = fake.client();
    (fake, client)
}

/// The deploy pipeline of the chart to `env`, with no judgment.
fn deploy(env: &str) -> PipelineConfig {
    deploy_pipeline(APP, env, "microgateway", "chart", false)
}

/// The executions Echo started for the event `id` (Gate's search by trigger).
async fn started(client: &Client, id: &str) -> Vec<Execution> {
    client.find_executions_by_event(APP, id).await.unwrap()
}

fn event(envs: &[&str]) -> Value {
    chart_event(
        APP,
        "microgateway",
        "3.0.1-1",
        envs,
        b"chart-bytes",
        &[
            ("dev", b"dev: 1\n"),
            ("staging", b"staging: 1\n"),
            ("prod", b"prod: 1\n"),
        ],
    )
}

#[tokio::test]
async fn matching_waits_for_the_delay_then_finds_the_constraint_mid_string() {
    let (fake, client) = start(vec![deploy("staging")]).await;
    let event_id = client
        .post_webhook("chart", &event(&["dev", "staging", "prod"]))
        .await
        .unwrap();
    fake.advance(Duration::from_millis(1999));
    assert!(started(&client, &event_id).await.is_empty());
    fake.advance(Duration::from_millis(1));
    let found = started(&client, &event_id).await;
    assert_eq!(
        found.len(),
        1,
        "`staging` is found inside \"dev,staging,prod\""
    );
    assert_eq!(found[0].name.as_deref(), Some("micro-gw-deploy-staging"));
    assert_eq!(found[0].status, ExecutionStatus::Succeeded);
    let deployed = fake
        .deployed(APP, "micro-gw-staging")
        .expect("a deployment");
    assert_eq!(
        deployed.values[0].bytes.as_deref(),
        Some(&b"staging: 1\n"[..])
    );
}

#[tokio::test]
async fn constraint_that_is_not_found_and_source_of_other_case_start_nothing() {
    let (fake, client) = start(vec![deploy("prod")]).await;
    let only_dev = client
        .post_webhook("chart", &event(&["dev"]))
        .await
        .unwrap();
    let upper = client
        .post_webhook("Chart", &event(&["prod"]))
        .await
        .unwrap();
    let other_app = {
        let mut e = event(&["prod"]);
        e["application"] = json!("micro-gw-2");
        client.post_webhook("chart", &e).await.unwrap()
    };
    fake.advance(Duration::from_secs(3));
    for id in [only_dev, upper, other_app] {
        assert!(started(&client, &id).await.is_empty(), "{id}");
    }
    assert!(fake.executions(APP).is_empty());
    let good = client
        .post_webhook("chart", &event(&["prod"]))
        .await
        .unwrap();
    fake.advance(Duration::from_secs(3));
    assert_eq!(started(&client, &good).await.len(), 1);
}

#[tokio::test]
async fn disabled_trigger_is_ignored() {
    let mut p = deploy("dev");
    p.triggers.as_mut().unwrap()[0].enabled = Some(false);
    let (fake, client) = start(vec![p]).await;
    client
        .post_webhook("chart", &event(&["dev"]))
        .await
        .unwrap();
    fake.advance(Duration::from_secs(3));
    assert!(fake.executions(APP).is_empty());
    assert_eq!(
        fake.pending_events(),
        0,
        "the event was processed, just not matched"
    );
}

#[tokio::test]
async fn no_artifact_matching_an_expected_artifact_starts_nothing() {
    let (fake, client) = start(vec![deploy("dev")]).await;
    let mut e = event(&["dev"]);
    e["artifacts"] = json!([{"type": "embedded/base64", "name": "README.md", "reference": "eA=="}]);
    client.post_webhook("chart", &e).await.unwrap();
    e["artifacts"] = json!([]);
    client.post_webhook("chart", &e).await.unwrap();
    fake.advance(Duration::from_secs(3));
    assert!(fake.executions(APP).is_empty());
}

#[tokio::test]
async fn values_pattern_matching_two_artifacts_fails_on_startup() {
    let mut p = deploy("dev");
    let values = &mut p.expected_artifacts.as_mut().unwrap()[1];
    values.match_artifact.as_mut().unwrap().name = Some("values-.*".into());
    let (fake, client) = start(vec![p]).await;
    let id = client
        .post_webhook("chart", &event(&["dev", "staging"]))
        .await
        .unwrap();
    fake.advance(Duration::from_secs(3));
    let found = started(&client, &id).await;
    assert_eq!(found.len(), 1);
    let e = &found[0];
    assert_eq!(e.status, ExecutionStatus::Terminal);
    assert_eq!(e.canceled, Some(true));
    assert_eq!(e.canceled_by.as_deref(), Some("system"));
    let reason = e.cancellation_reason.as_deref().unwrap();
    assert!(
        reason.starts_with("Failed on startup: Expected artifact"),
        "{reason}"
    );
    assert!(reason.contains("matches multiple artifacts"), "{reason}");
    assert!(
        reason.contains("values-dev.yaml") && reason.contains("values-staging.yaml"),
        "{reason}"
    );
    assert!(
        e.stages
            .iter()
            .all(|s| s.status == ExecutionStatus::NotStarted)
    );
    assert!(fake.deployments().is_empty());
}

#[tokio::test]
async fn missing_expected_artifact_fails_as_unresolved() {
    let (fake, client) = start(vec![deploy("prod")]).await;
    let mut e = event(&["prod"]);
    e["artifacts"]
        .as_array_mut()
        .unwrap()
        .retain(|a| a["name"] != "values-prod.yaml");
    let id = client.post_webhook("chart", &e).await.unwrap();
    fake.advance(Duration::from_secs(3));
    let found = started(&client, &id).await;
    assert_eq!(
        found.len(),
        1,
        "the chart passes Echo's gate; Orca then fails"
    );
    let reason = found[0].cancellation_reason.as_deref().unwrap();
    assert!(
        reason.starts_with("Failed on startup: Unmatched expected artifact"),
        "{reason}"
    );
    assert!(reason.ends_with("could not be resolved."), "{reason}");
}

#[tokio::test]
async fn one_event_fans_out_to_every_named_environment_with_exact_bytes() {
    let (fake, client) = start(vec![
        deploy("dev"),
        deploy_pipeline(APP, "staging", "microgateway", "chart", true),
        deploy_pipeline(APP, "prod", "microgateway", "chart", true),
    ])
    .await;
    let id = client
        .post_webhook("chart", &event(&["dev", "staging", "prod"]))
        .await
        .unwrap();
    fake.advance(Duration::from_secs(2));
    let found = started(&client, &id).await;
    assert_eq!(found.len(), 3);
    let dev = fake
        .deployed(APP, "micro-gw-dev")
        .expect("dev deploys without a judgment");
    assert_eq!(
        dev.chart.as_ref().unwrap().bytes.as_deref(),
        Some(&b"chart-bytes"[..])
    );
    assert_eq!(
        dev.chart.as_ref().unwrap().artifact.name.as_deref(),
        Some("microgateway-3.0.1-1.tgz")
    );
    assert_eq!(dev.values.len(), 1);
    assert_eq!(dev.values[0].bytes.as_deref(), Some(&b"dev: 1\n"[..]));
    assert!(
        fake.deployed(APP, "micro-gw-staging").is_none(),
        "staging waits for a judgment"
    );
    let staging = found
        .iter()
        .find(|e| e.name.as_deref() == Some("micro-gw-deploy-staging"))
        .unwrap();
    assert_eq!(staging.status, ExecutionStatus::Running);
    assert!(staging.pending_judgment().is_some());
}
