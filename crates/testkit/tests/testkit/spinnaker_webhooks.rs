//! Gate's webhook endpoint as the stand-in answers it (gate `WebhookController`,
//! `WebhookService`, `AuthConfig`) and the stage's `lastModified` after a judgment (orca
//! `TaskController.updatePipelineStage`), at the stand-in's default settings.

use std::time::Duration;

use secrecy::SecretString;
use serde_json::{Value, json};
use spinnaker_client::{Auth, Client, Judgment};
use testkit::spinnaker::sample::{chart_event, deploy_pipeline};
use testkit::spinnaker::{FakeSpinnaker, FakeSpinnakerBuilder, GateAuth};

const APP: &str = "micro-gw";

async fn start(builder: FakeSpinnakerBuilder) -> FakeSpinnaker {
    spinnaker_client::install_crypto_provider();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    builder.manual_clock().start(listener).await.unwrap()
}

fn basic() -> GateAuth {
    GateAuth::Basic {
        user: "baton".into(),
        password: SecretString::from("s3cret"),
    }
}

async fn post(fake: &FakeSpinnaker, content_type: Option<&str>, body: &str) -> (u16, Value) {
    let mut req = reqwest::Client::new()
        .post(format!("{}/webhooks/webhook/chart", fake.url()))
        .timeout(Duration::from_secs(10))
        .body(body.to_owned());
    if let Some(ct) = content_type {
        req = req.header("content-type", ct);
    }
    let r = req.send().await.unwrap();
    let status = r.status().as_u16();
    (status, r.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn empty_and_plus_json_bodies_are_accepted_like_gate() {
    let pipeline = deploy_pipeline(APP, "dev", "microgateway", "chart", false);
    let fake = start(FakeSpinnaker::builder().pipeline(pipeline)).await;
    let (status, answer) = post(&fake, None, "").await;
    assert_eq!(status, 200, "no body is an empty event: {answer}");
    assert_eq!(answer["eventProcessed"], true);
    let (status, _) = post(&fake, Some("application/json"), "null").await;
    assert_eq!(status, 200, "JSON null is an empty event too");
    let body = chart_event(
        APP,
        "microgateway",
        "3.0.1-1",
        &["dev"],
        b"tgz",
        &[("dev", b"a: 1\n")],
    );
    let (status, answer) = post(
        &fake,
        Some("application/vnd.acme.event+json"),
        &body.to_string(),
    )
    .await;
    assert_eq!(
        status, 200,
        "application/*+json is JSON to Spring: {answer}"
    );
    fake.settle();
    let execs = fake.executions(APP);
    assert_eq!(execs.len(), 1, "the +json event started the pipeline");
    assert_eq!(execs[0].event_id(), answer["eventId"].as_str());
    let (status, _) = post(&fake, Some("text/plain"), "{}").await;
    assert_eq!(status, 415);
    let (status, _) = post(&fake, Some("application/json"), "[1]").await;
    assert_eq!(status, 400, "a JSON array is no Map");
}

#[tokio::test]
async fn webhooks_are_open_by_default_even_when_gate_needs_auth() {
    let fake = start(FakeSpinnaker::builder().auth(basic())).await;
    let (status, _) = post(&fake, Some("application/json"), "{}").await;
    assert_eq!(
        status, 200,
        "security.webhooks.default-auth-enabled is false by default"
    );
    let anonymous = Client::builder(fake.url()).build().unwrap();
    let err = anonymous.pipeline_configs(APP).await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(401),
        "other endpoints still need credentials"
    );
    let wrong = Client::builder(fake.url())
        .auth(Auth::Basic {
            user: "baton".into(),
            password: SecretString::from("wrong"),
        })
        .build()
        .unwrap();
    let err = wrong.post_webhook("chart", &json!({})).await.unwrap_err();
    assert_eq!(
        err.status(),
        Some(401),
        "wrong Basic credentials are rejected when sent"
    );

    let closed = start(FakeSpinnaker::builder().auth(basic()).webhook_auth(true)).await;
    let (status, _) = post(&closed, Some("application/json"), "{}").await;
    assert_eq!(status, 401, "default-auth-enabled: true");
}

#[tokio::test]
async fn a_judgment_sets_the_stage_last_modified_details() {
    let pipeline = deploy_pipeline(APP, "staging", "microgateway", "chart", true);
    let fake = start(FakeSpinnaker::builder().pipeline(pipeline)).await;
    let gate = Client::builder(fake.url()).build().unwrap();
    let body = chart_event(
        APP,
        "microgateway",
        "3.0.1-1",
        &["staging"],
        b"tgz",
        &[("staging", b"a: 1\n")],
    );
    gate.post_webhook("chart", &body).await.unwrap();
    fake.settle();
    let exec = fake.executions(APP).remove(0);
    let given = gate
        .judge(&exec.id, Judgment::Continue, None)
        .await
        .unwrap();
    let after = fake.execution(&exec.id).unwrap();
    let stage = after
        .stages
        .iter()
        .find(|s| s.id == given.stage_id)
        .unwrap();
    let last = &stage.extra["lastModified"];
    assert_eq!(last["user"], "anonymous");
    assert_eq!(last["allowedAccounts"], json!([]));
    assert!(last["lastModifiedTime"].as_i64().unwrap() > 0, "{last}");
}
