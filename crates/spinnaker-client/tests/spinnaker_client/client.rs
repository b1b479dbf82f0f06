//! The client against the Spinnaker stand-in: every call, the judgment flow, and errors.

use std::time::Duration;

use serde_json::json;
use spinnaker_client::model::execution::ExecutionStatus;
use spinnaker_client::{ApiErrorKind, Client, Error, Judgment, RequestError};
use testkit::spinnaker::sample::{chart_event, deploy_pipeline};
use testkit::spinnaker::{FakeSpinnaker, FakeSpinnakerBuilder, Fault, FaultKind};

const APP: &str = "micro-gw";
const WAIT: Duration = Duration::from_secs(10);
const POLL: Duration = Duration::from_millis(20);

async fn start(builder: FakeSpinnakerBuilder) -> (FakeSpinnaker, Client) {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = builder.start(listener).await.unwrap();
    let client = fake.client();
    (fake, client)
}

fn pipelines() -> FakeSpinnakerBuilder {
    FakeSpinnaker::builder()
        .pipeline(deploy_pipeline(APP, "dev", "microgateway", "chart", false))
        .pipeline(deploy_pipeline(
            APP,
            "staging",
            "microgateway",
            "chart",
            true,
        ))
}

fn event(envs: &[&str]) -> serde_json::Value {
    chart_event(
        APP,
        "microgateway",
        "3.0.1-1",
        envs,
        b"\x1f\x8bchart",
        &[("dev", b"replicas: 1\n"), ("staging", b"replicas: 2\n")],
    )
}

#[tokio::test]
async fn judgment_flow_from_webhook_to_succeeded() {
    let (fake, gate) = start(pipelines().match_delay(Duration::from_millis(50))).await;
    let event_id = gate
        .post_webhook("chart", &event(&["staging"]))
        .await
        .unwrap();
    let execs = gate
        .wait_for_event_executions(APP, &event_id, WAIT, POLL)
        .await
        .unwrap();
    assert_eq!(execs.len(), 1);
    let id = execs[0].id.clone();
    let pending = gate.wait_for_judgment(&id, WAIT, POLL).await.unwrap();
    let stage = pending
        .pending_judgment()
        .expect("judgment pending")
        .clone();
    assert_eq!(pending.status, ExecutionStatus::Running);
    assert!(fake.deployed(APP, "micro-gw-staging").is_none());

    let given = gate
        .judge(&id, Judgment::Continue, Some("ship it"))
        .await
        .unwrap();
    assert_eq!(given.stage_id, stage.id);
    let judged = given
        .execution
        .stages
        .iter()
        .find(|s| s.id == stage.id)
        .unwrap();
    assert_eq!(judged.context.judgment_status.as_deref(), Some("continue"));
    assert_eq!(judged.context.judgment_input.as_deref(), Some("ship it"));
    assert_eq!(
        judged.context.last_modified_by.as_deref(),
        Some("anonymous")
    );

    let done = gate.wait_for_execution(&id, WAIT, POLL).await.unwrap();
    assert_eq!(done.status, ExecutionStatus::Succeeded);
    let deployed = fake
        .deployed(APP, "micro-gw-staging")
        .expect("deployed after continue");
    assert_eq!(
        deployed.values[0].bytes.as_deref(),
        Some(&b"replicas: 2\n"[..])
    );
    let patch = fake
        .requests()
        .into_iter()
        .find(|r| r.method == "PATCH")
        .unwrap();
    assert_eq!(patch.path, format!("/pipelines/{id}/stages/{}", stage.id));
    assert_eq!(
        patch.json().unwrap(),
        json!({"judgmentStatus": "continue", "judgmentInput": "ship it"})
    );
    assert!(fake.unexpected_requests().is_empty());
}

#[tokio::test]
async fn stop_judgment_ends_terminal_and_a_second_judgment_is_refused() {
    let (fake, gate) = start(pipelines().manual_clock()).await;
    let event_id = gate
        .post_webhook("chart", &event(&["staging"]))
        .await
        .unwrap();
    assert!(
        gate.find_executions_by_event(APP, &event_id)
            .await
            .unwrap()
            .is_empty()
    );
    fake.settle();
    let id = gate.find_executions_by_event(APP, &event_id).await.unwrap()[0]
        .id
        .clone();
    gate.judge(&id, Judgment::Stop, None).await.unwrap();
    fake.settle();
    let e = gate.execution(&id).await.unwrap();
    assert_eq!(e.status, ExecutionStatus::Terminal);
    assert!(fake.deployed(APP, "micro-gw-staging").is_none());
    assert!(gate.pending_judgments(APP, None).await.unwrap().is_empty());
    let err = gate.judge(&id, Judgment::Continue, None).await.unwrap_err();
    assert!(matches!(err, Error::NoPendingJudgment { .. }), "{err}");
    assert!(err.to_string().contains("TERMINAL"), "{err}");
}

#[tokio::test]
async fn execution_queries() {
    let (fake, gate) = start(pipelines().manual_clock()).await;
    let a = gate
        .post_webhook("chart", &event(&["dev", "staging"]))
        .await
        .unwrap();
    fake.settle();
    let found = gate.find_executions_by_event(APP, &a).await.unwrap();
    assert_eq!(found.len(), 2);
    let ids: Vec<&str> = found.iter().map(|e| e.id.as_str()).collect();
    let by_id = gate.executions_by_id(&ids).await.unwrap();
    assert_eq!(by_id.iter().map(|e| e.id.as_str()).collect::<Vec<_>>(), ids);
    let running = gate
        .executions(APP, Some(5), &[ExecutionStatus::Running])
        .await
        .unwrap();
    assert_eq!(running.len(), 1);
    assert_eq!(running[0].name.as_deref(), Some("micro-gw-deploy-staging"));
    let all = gate.executions(APP, None, &[]).await.unwrap();
    assert_eq!(all.len(), 2);
    let one = gate.execution(ids[0]).await.unwrap();
    assert_eq!(one.event_id(), Some(a.as_str()));
    assert!(gate.execution_opt("01NOPE").await.unwrap().is_none());
    let err = gate.execution("01NOPE").await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::NotFound));
    assert!(
        err.to_string().contains("Pipeline not found (id: 01NOPE)"),
        "{err}"
    );
    assert!(
        fake.unexpected_requests().is_empty(),
        "a 404 from a known route is not an unexpected call"
    );
}

#[tokio::test]
async fn start_save_list_and_cancel_pipelines() {
    let (fake, gate) = start(FakeSpinnaker::builder().manual_clock()).await;
    assert_eq!(gate.health().await.unwrap()["status"], "UP");
    assert!(gate.application(APP).await.unwrap().is_none());
    let mut config = deploy_pipeline(APP, "prod", "microgateway", "chart", true);
    gate.save_pipeline(&config).await.unwrap();
    let stored = gate.pipeline_configs(APP).await.unwrap();
    assert_eq!(stored.len(), 1);
    let app = gate
        .application(APP)
        .await
        .unwrap()
        .expect("saving registers the app");
    assert_eq!(app["name"], APP);
    assert!(stored[0].id.is_some(), "front50 assigns an id");
    config.id = stored[0].id.clone();
    config.keep_waiting_pipelines = Some(true);
    gate.save_pipeline(&config).await.unwrap();
    let stored = gate.pipeline_configs(APP).await.unwrap();
    assert_eq!(stored, vec![config.clone()], "same id replaces");

    let id = gate
        .start_pipeline(
            APP,
            "micro-gw-deploy-prod",
            &json!({"type": "manual", "parameters": {"why": "test"}}),
        )
        .await
        .unwrap();
    fake.settle();
    let e = gate.execution(&id).await.unwrap();
    assert_eq!(e.trigger.trigger_type, "manual");
    assert_eq!(e.status, ExecutionStatus::Running);
    gate.cancel_execution(&id, Some("not today")).await.unwrap();
    let e = gate.execution(&id).await.unwrap();
    assert_eq!(e.status, ExecutionStatus::Canceled);
    assert_eq!(e.cancellation_reason.as_deref(), Some("not today"));

    let err = gate
        .start_pipeline(APP, "nope", &json!({}))
        .await
        .unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::NotFound));
    let err = gate.cancel_execution("01NOPE", None).await.unwrap_err();
    assert_eq!(err.status(), Some(404));
    let nameless = spinnaker_client::model::pipeline::PipelineConfig::default();
    let err = gate.save_pipeline(&nameless).await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::BadRequest));
    assert!(err.to_string().contains("application and name"), "{err}");
}

#[tokio::test]
async fn status_faults_become_typed_errors_with_kork_messages() {
    let (fake, gate) = start(FakeSpinnaker::builder().manual_clock()).await;
    for (code, kind) in [
        (500, ApiErrorKind::Server),
        (503, ApiErrorKind::Server),
        (403, ApiErrorKind::Forbidden),
        (415, ApiErrorKind::UnsupportedMediaType),
        (400, ApiErrorKind::BadRequest),
    ] {
        fake.set_fault(Fault::on("/webhooks/", FaultKind::Status(code)).times(1));
        let err = gate.post_webhook("chart", &json!({})).await.unwrap_err();
        assert_eq!(err.status(), Some(code));
        assert_eq!(err.api_kind(), Some(kind));
        assert_eq!(err.is_transient(), code >= 500, "{code}");
        assert!(err.to_string().contains("injected fault"), "{err}");
        match err {
            Error::Api { body: Some(k), .. } => assert_eq!(k.status, Some(code)),
            other => panic!("not a kork error: {other}"),
        }
    }
    gate.post_webhook("chart", &json!({}))
        .await
        .expect("faults were one-shot");
}

#[tokio::test]
async fn a_refused_connection_names_each_cause_once() {
    // Nothing listens on port 9 of the loopback: connection refused.
    let gate = Client::builder("http://127.0.0.1:9").build().unwrap();
    let err = gate.health().await.unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::Transport { .. })),
        "{err:?}"
    );
    let own = err.to_string();
    assert!(!own.to_lowercase().contains("refused"), "{own}");
    let text = testkit::shown_once(&err);
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[tokio::test]
async fn timeouts_and_resets_are_transport_errors() {
    let (fake, _) = start(FakeSpinnaker::builder().manual_clock()).await;
    let gate = Client::builder(fake.url())
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    fake.set_fault(Fault::on("/health", FaultKind::Delay(Duration::from_secs(3))).times(1));
    let err = gate.health().await.unwrap_err();
    match &err {
        Error::Request(r) => assert!(r.is_timeout(), "{err}"),
        other => panic!("expected a timeout, got {other}"),
    }
    assert!(err.is_transient());
    fake.set_fault(Fault::on("/health", FaultKind::Reset).times(1));
    let err = gate.health().await.unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::Transport { .. })),
        "{err}"
    );
    assert_eq!(gate.health().await.unwrap()["status"], "UP");
}

#[tokio::test]
async fn unprocessed_webhook_and_deadlines_are_errors() {
    let (fake, gate) = start(pipelines().manual_clock()).await;
    fake.set_fault(
        Fault::on(
            "/webhooks/",
            FaultKind::Respond(200, json!({"eventProcessed": false})),
        )
        .times(1),
    );
    let err = gate
        .post_webhook("chart", &event(&["dev"]))
        .await
        .unwrap_err();
    assert!(matches!(err, Error::WebhookNotProcessed { .. }), "{err}");

    let event_id = gate
        .post_webhook("chart", &event(&["staging"]))
        .await
        .unwrap();
    let err = gate
        .wait_for_event_executions(APP, &event_id, Duration::from_millis(100), POLL)
        .await
        .unwrap_err();
    assert!(matches!(err, Error::Deadline { .. }), "{err}");
    fake.settle();
    let id = gate.find_executions_by_event(APP, &event_id).await.unwrap()[0]
        .id
        .clone();
    let err = gate
        .wait_for_execution(&id, Duration::from_millis(100), POLL)
        .await
        .unwrap_err();
    assert!(
        err.to_string().contains("last seen: status RUNNING"),
        "{err}"
    );
}
