//! The stand-in's HTTP behaviour, concurrency rules, scripted failures and image deploys.

use std::time::Duration;

use serde_json::{Map, Value, json};
use spinnaker_client::Client;
use spinnaker_client::model::artifact::{Artifact, DOCKER_IMAGE, ExpectedArtifact};
use spinnaker_client::model::execution::ExecutionStatus;
use spinnaker_client::model::pipeline::{PipelineConfig, Trigger};
use spinnaker_client::model::stage::{DeployManifest, Stage, StageKind};
use testkit::spinnaker::sample::{chart_event, deploy_pipeline};
use testkit::spinnaker::{FailRule, FakeSpinnaker, FakeSpinnakerBuilder};

const APP: &str = "micro-gw";

async fn start(builder: FakeSpinnakerBuilder) -> (FakeSpinnaker, Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = builder.manual_clock().start(listener).await.unwrap();
    let client = Client::builder(fake.url()).build().unwrap();
    (fake, client)
}

fn event(envs: &[&str], values: &[u8]) -> Value {
    chart_event(
        APP,
        "microgateway",
        "3.0.1-1",
        envs,
        b"tgz",
        &[("dev", values), ("prod", values)],
    )
}

/// Posts `n` chart events for `env`, with values `[0]`, `[1]`, …, then lets `fake` settle.
async fn post_charts(fake: &FakeSpinnaker, gate: &Client, env: &str, n: u8) {
    for v in 0..n {
        gate.post_webhook("chart", &event(&[env], &[v]))
            .await
            .unwrap();
    }
    fake.settle();
}

#[tokio::test]
async fn wrong_media_type_bad_json_and_unknown_routes_get_kork_errors() {
    let (fake, _) = start(FakeSpinnaker::builder()).await;
    spinnaker_client::install_crypto_provider();
    let http = reqwest::Client::new();
    let url = format!("{}/webhooks/webhook/chart", fake.url());
    // A POST of `body` as `content_type`: the status and the kork error body.
    let post = async |content_type: &str, body: &'static str| {
        let r = http
            .post(&url)
            .header("content-type", content_type)
            .body(body)
            .send()
            .await
            .unwrap();
        (r.status(), r.json::<Value>().await.unwrap())
    };
    let (status, body) = post("text/plain", "{}").await;
    assert_eq!(status, 415);
    assert_eq!(body["error"], "Unsupported Media Type");
    assert_eq!(body["status"], 415);
    assert!(body["message"].as_str().unwrap().contains("text/plain"));
    assert!(body["timestamp"].is_i64() && body["exception"].is_string());

    let (status, body) = post("application/json", "{nope").await;
    assert_eq!(status, 400);
    assert!(
        body["message"]
            .as_str()
            .unwrap()
            .starts_with("JSON parse error"),
        "{body}"
    );
    let r = http.post(&url).json(&json!([1, 2])).send().await.unwrap();
    assert_eq!(r.status(), 400, "a webhook body must be an object");

    let r = http
        .get(format!("{}/v2/nothing", fake.url()))
        .send()
        .await
        .unwrap();
    assert_eq!(r.status(), 404);
    let unexpected = fake.unexpected_requests();
    assert_eq!(unexpected.len(), 1);
    assert_eq!(unexpected[0].path, "/v2/nothing");
    assert_eq!(fake.requests().len(), 4, "every request is recorded");
    assert_eq!(fake.pending_events(), 0);
}

#[tokio::test]
async fn limit_concurrent_keeps_only_the_newest_waiting_execution() {
    let (fake, gate) = start(FakeSpinnaker::builder().pipeline(deploy_pipeline(
        APP,
        "prod",
        "microgateway",
        "chart",
        true,
    )))
    .await;
    let mut ids = Vec::new();
    for n in 0..3u8 {
        let e = gate
            .post_webhook("chart", &event(&["prod"], &[n]))
            .await
            .unwrap();
        fake.settle();
        ids.push(
            gate.find_executions_by_event(APP, &e).await.unwrap()[0]
                .id
                .clone(),
        );
    }
    let status = |id: &str| fake.execution(id).unwrap().status;
    assert_eq!(status(&ids[0]), ExecutionStatus::Running);
    assert_eq!(
        status(&ids[1]),
        ExecutionStatus::Canceled,
        "superseded while waiting"
    );
    assert_eq!(status(&ids[2]), ExecutionStatus::NotStarted);
    gate.judge(&ids[0], spinnaker_client::Judgment::Continue, None)
        .await
        .unwrap();
    fake.settle();
    assert_eq!(status(&ids[0]), ExecutionStatus::Succeeded);
    assert_eq!(
        status(&ids[2]),
        ExecutionStatus::Running,
        "starts when the first finishes"
    );
    assert_eq!(
        fake.deployed(APP, "micro-gw-prod").unwrap().values[0]
            .bytes
            .as_deref(),
        Some(&[0u8][..])
    );
}

#[tokio::test]
async fn keep_waiting_pipelines_runs_every_waiting_execution_in_order() {
    let mut p = deploy_pipeline(APP, "prod", "microgateway", "chart", true);
    p.keep_waiting_pipelines = Some(true);
    let (fake, gate) = start(FakeSpinnaker::builder().pipeline(p)).await;
    post_charts(&fake, &gate, "prod", 3).await;
    for _ in 0..3 {
        let running: Vec<_> = fake
            .executions(APP)
            .into_iter()
            .filter(|e| e.status == ExecutionStatus::Running)
            .collect();
        assert_eq!(running.len(), 1);
        gate.judge(&running[0].id, spinnaker_client::Judgment::Continue, None)
            .await
            .unwrap();
        fake.settle();
    }
    let bytes: Vec<u8> = fake
        .deployments()
        .iter()
        .map(|d| d.values[0].bytes.as_ref().unwrap()[0])
        .collect();
    assert_eq!(bytes, [0, 1, 2]);
    let mut p = deploy_pipeline(APP, "dev", "microgateway", "chart", true);
    p.limit_concurrent = None;
    let (fake, gate) = start(FakeSpinnaker::builder().pipeline(p)).await;
    post_charts(&fake, &gate, "dev", 2).await;
    assert!(
        fake.executions(APP)
            .iter()
            .all(|e| e.status == ExecutionStatus::Running),
        "absent limitConcurrent is false"
    );
}

#[tokio::test]
async fn scripted_failures_and_stage_durations() {
    let builder = FakeSpinnaker::builder()
        .pipeline(deploy_pipeline(APP, "dev", "microgateway", "chart", false))
        .pipeline(deploy_pipeline(APP, "prod", "microgateway", "chart", false))
        .stage_duration(Duration::from_secs(10));
    let (fake, gate) = start(builder).await;
    fake.fail_stage(FailRule {
        stage_type: "deployManifest".into(),
        pipeline: Some("micro-gw-deploy-prod".into()),
        message: "quota exceeded".into(),
    });
    gate.post_webhook("chart", &event(&["dev", "prod"], b"v"))
        .await
        .unwrap();
    fake.settle();
    assert!(fake.bakes().is_empty(), "bakes take 10s");
    fake.advance(Duration::from_secs(10));
    assert_eq!(fake.bakes().len(), 2);
    assert!(fake.deployments().is_empty());
    fake.advance(Duration::from_secs(10));
    let by_name = |n: &str| {
        fake.executions(APP)
            .into_iter()
            .find(|e| e.name.as_deref() == Some(n))
            .unwrap()
    };
    assert_eq!(
        by_name("micro-gw-deploy-dev").status,
        ExecutionStatus::Succeeded
    );
    let prod = by_name("micro-gw-deploy-prod");
    assert_eq!(prod.status, ExecutionStatus::Terminal);
    let deploy = prod
        .stages
        .iter()
        .find(|s| s.stage_type == "deployManifest")
        .unwrap();
    assert_eq!(
        deploy.context.extra["exception"]["details"]["errors"][0],
        "quota exceeded"
    );
    assert!(fake.deployed(APP, "micro-gw-prod").is_none());
    assert!(fake.deployed(APP, "micro-gw-dev").is_some());
}

fn image_pipeline() -> PipelineConfig {
    let mut c = Map::new();
    c.insert("application".into(), "^micro-gw$".into());
    c.insert("$.parameters.image".into(), "^petstore$".into());
    PipelineConfig {
        application: APP.into(),
        name: "micro-gw-image-petstore".into(),
        triggers: Some(vec![Trigger::webhook("image", c, vec!["img".into()])]),
        expected_artifacts: Some(vec![ExpectedArtifact::matching(
            "img",
            DOCKER_IMAGE,
            "registry.internal:5000/acme/petstore",
        )]),
        stages: Some(vec![Stage::new(
            "deploy",
            "Deploy image",
            StageKind::DeployManifest(DeployManifest {
                source: Some("text".into()),
                manifests: Some(vec![json!({"kind": "Deployment"})]),
                required_artifact_ids: Some(vec!["img".into()]),
                account: Some("k8s".into()),
                ..DeployManifest::default()
            }),
        )]),
        ..PipelineConfig::default()
    }
}

#[tokio::test]
async fn image_event_deploys_the_image_reference_into_the_account_namespace() {
    let (fake, gate) = start(
        FakeSpinnaker::builder()
            .pipeline(image_pipeline())
            .account_namespace("k8s", "apps"),
    )
    .await;
    let image =
        Artifact::docker_image_digest("registry.internal:5000/acme/petstore", "sha256:feed");
    let body = json!({"application": APP, "parameters": {"product": APP, "image": "petstore", "digest": "sha256:feed"}, "artifacts": [image]});
    gate.post_webhook("image", &body).await.unwrap();
    fake.settle();
    let d = fake
        .deployed(APP, "apps")
        .expect("deployed into the account's namespace");
    assert_eq!(
        d.images,
        ["registry.internal:5000/acme/petstore@sha256:feed"]
    );
    assert_eq!(d.manifests, [json!({"kind": "Deployment"})]);
    assert!(d.chart.is_none());
}

#[tokio::test]
async fn pipelines_load_from_files_with_path_naming_errors() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("pipelines.json");
    std::fs::write(&good, serde_json::to_vec(&[image_pipeline()]).unwrap()).unwrap();
    let b = FakeSpinnaker::builder().pipelines_from_file(&good).unwrap();
    let (fake, _) = start(b).await;
    assert_eq!(fake.pipelines(APP).len(), 1);
    let bad = dir.path().join("bad.json");
    std::fs::write(
        &bad,
        br#"{"name": "x", "stages": [{"type": "bakeManifest", "inputArtifacts": 3}]}"#,
    )
    .unwrap();
    let err = FakeSpinnaker::builder()
        .pipelines_from_file(&bad)
        .unwrap_err();
    assert!(
        err.contains("bad.json") && err.contains("stages[0]") && err.contains("inputArtifacts"),
        "{err}"
    );
}

#[tokio::test]
async fn stop_without_fail_pipeline_halts_the_branch_and_succeeds() {
    let mut p = deploy_pipeline(APP, "prod", "microgateway", "chart", true);
    if let StageKind::ManualJudgment(j) = &mut p.stages.as_mut().unwrap()[0].kind {
        j.fail_pipeline = Some(false);
    }
    let (fake, gate) = start(FakeSpinnaker::builder().pipeline(p)).await;
    let e = gate
        .post_webhook("chart", &event(&["prod"], b"v"))
        .await
        .unwrap();
    fake.settle();
    let id = gate.find_executions_by_event(APP, &e).await.unwrap()[0]
        .id
        .clone();
    gate.judge(&id, spinnaker_client::Judgment::Stop, None)
        .await
        .unwrap();
    fake.settle();
    let done = gate.execution(&id).await.unwrap();
    assert_eq!(done.stages[0].status, ExecutionStatus::Stopped);
    assert_eq!(done.stages[1].status, ExecutionStatus::NotStarted);
    assert_eq!(
        done.status,
        ExecutionStatus::Succeeded,
        "orca counts STOPPED as success"
    );
    assert!(fake.deployments().is_empty());
}

#[tokio::test]
async fn search_pages_newest_first_and_is_unexpanded_by_default() {
    let (fake, gate) = start(FakeSpinnaker::builder().pipeline(deploy_pipeline(
        APP,
        "dev",
        "microgateway",
        "chart",
        false,
    )))
    .await;
    for n in 0..12u8 {
        gate.post_webhook("chart", &event(&["dev"], &[n]))
            .await
            .unwrap();
        fake.settle();
    }
    let url = format!(
        "{}/applications/{APP}/executions/search?triggerTypes=webhook",
        fake.url()
    );
    let page: Vec<Value> = reqwest::get(&url).await.unwrap().json().await.unwrap();
    assert_eq!(page.len(), 10, "size defaults to 10");
    let all = fake.executions(APP);
    assert_eq!(page[0]["id"], json!(all[11].id), "newest first");
    assert_eq!(page[0]["stages"][0]["context"], json!({}), "unexpanded");
    let rest: Vec<Value> = reqwest::get(format!("{url}&startIndex=10&expand=true"))
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(rest.len(), 2);
    assert_eq!(rest[1]["id"], json!(all[0].id));
    assert_eq!(rest[1]["stages"][0]["context"]["templateRenderer"], "HELM3");
    let r = reqwest::get(format!("{url}&size=many")).await.unwrap();
    assert_eq!(r.status(), 400);
    fake.shutdown().await;
    assert!(
        reqwest::get(&url).await.is_err(),
        "nothing listens after shutdown"
    );
}
