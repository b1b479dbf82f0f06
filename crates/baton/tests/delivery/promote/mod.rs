//! Promotion end to end on the Spinnaker stand-in: staging waits, `baton promote` continues
//! it, prod is refused before staging, `--stop` ends it TERMINAL, a newer event supersedes a
//! stale judgment; status and metrics show what waits; the rule by artifact and the
//! environment matrix (`artifact`), judgment deadlines (`deadline`).

mod artifact;
mod deadline;
mod harness;
mod metrics;
mod serve;
mod supersede;
mod verify;

use harness::{APP, Stand};
use reqwest::StatusCode;
use spinnaker_client::model::execution::ExecutionStatus;

#[tokio::test]
async fn staging_waits_promote_continues_and_prod_waits_for_staging() {
    let s = Stand::start(true).await;
    let (ev, echo) = s
        .deliver(&["dev", "staging", "prod"], "cmVwbGljYXM6IDEK")
        .await;
    let dev = s.execution_of(&echo, "dev").await;
    assert_eq!(s.finished(&dev.id).await.status, ExecutionStatus::Succeeded);
    let staging = s.execution_of(&echo, "staging").await;
    let prod = s.execution_of(&echo, "prod").await;
    s.waiting(&staging.id).await;
    s.waiting(&prod.id).await;
    assert!(s.fake.deployed(APP, "micro-gw-staging").is_none());

    // status and the metric show both waiting
    let status: serde_json::Value = serde_json::from_str(&s.get("/v1/status").await).unwrap();
    let pending = status["pending_judgments"].as_array().unwrap();
    let envs: Vec<_> = pending
        .iter()
        .map(|p| p["environment"].as_str().unwrap())
        .collect();
    assert_eq!(envs, ["staging", "prod"], "{status}");
    assert_eq!(pending[0]["execution_id"], staging.id.as_str());
    assert_eq!(pending[0]["baton_event"], ev.as_str());
    let metrics = s.get("/metrics").await;
    for env in ["staging", "prod"] {
        let line =
            format!("baton_pending_judgments{{product=\"micro-gw\",environment=\"{env}\"}} 1");
        assert!(metrics.contains(&line), "{line} missing in\n{metrics}");
    }
    assert!(
        metrics.contains("baton_pending_judgments{product=\"micro-gw\",environment=\"dev\"} 0")
    );

    // prod before staging: refused, and the detail says how to override
    let (code, body) = s.promote("prod", "{}").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    let detail = body["detail"].as_str().unwrap();
    assert!(
        detail.contains("staging has no SUCCEEDED execution of chart microgateway 3.0.1-1"),
        "{detail}"
    );
    assert!(
        detail.contains(&staging.id) && detail.contains("--force"),
        "{detail}"
    );
    s.waiting(&prod.id).await;

    // the CLI continues staging
    let stdout = s
        .cli_ok(&["promote", APP, "staging", "--input", "release 3.0.1"])
        .await;
    assert!(
        stdout.contains(&format!(
            "micro-gw/staging: continued execution {}",
            staging.id
        )),
        "{stdout}"
    );
    assert!(stdout.contains("as alice"), "{stdout}");
    let input = "release 3.0.1";
    s.assert_judged(&staging.id, ExecutionStatus::Succeeded, "continue", input)
        .await;
    let deployed = s
        .fake
        .deployed(APP, "micro-gw-staging")
        .expect("staging deployed");
    assert_eq!(
        deployed.values[0].bytes.as_deref(),
        Some(&b"replicas: 1\n"[..])
    );

    // who and when are on a `promote` event
    let p = s.newest("promote").await;
    assert_eq!(
        p.correlation.execution_id.as_deref(),
        Some(staging.id.as_str())
    );
    assert_eq!(
        p.correlation.spinnaker_event_id.as_deref(),
        Some(echo.as_str())
    );
    let d = p.correlation.detail.as_deref().unwrap();
    assert!(d.starts_with("continue micro-gw/staging by alice"), "{d}");
    assert!(d.contains(&ev) && d.contains("release 3.0.1"), "{d}");
    assert!((time::OffsetDateTime::now_utc() - p.created_at).whole_seconds() < 60);

    // now prod may go
    let (code, body) = s.promote("prod", r#"{"input": "go"}"#).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["execution_id"], prod.id.as_str());
    assert_eq!(body["by"], "alice");
    assert_eq!(
        s.finished(&prod.id).await.status,
        ExecutionStatus::Succeeded
    );
    assert!(s.fake.deployed(APP, "micro-gw-prod").is_some());
    assert!(s.fake.unexpected_requests().is_empty());
}

#[tokio::test]
async fn stop_ends_the_execution_terminal_without_deploying() {
    let s = Stand::start(true).await;
    let (_, echo) = s.deliver(&["staging"], "cmVwbGljYXM6IDIK").await;
    let staging = s.waiting_in(&echo, "staging").await;
    let stdout = s
        .cli_ok(&["promote", APP, "staging", "--stop", "--input", "bad build"])
        .await;
    assert!(stdout.contains("stopped execution"), "{stdout}");
    let done = s.finished(&staging.id).await;
    assert_eq!(done.status, ExecutionStatus::Terminal);
    assert!(s.fake.deployed(APP, "micro-gw-staging").is_none());
    let p = s.newest("promote").await;
    assert!(
        p.correlation
            .detail
            .as_deref()
            .unwrap()
            .starts_with("stop micro-gw/staging by alice")
    );
}

#[tokio::test]
async fn force_skips_the_order_check_and_errors_say_what_is_missing() {
    let s = Stand::start(true).await;
    let (_, echo) = s.deliver(&["staging", "prod"], "cmVwbGljYXM6IDMK").await;
    let prod = s.waiting_in(&echo, "prod").await;
    let (code, body) = s.promote("prod", r#"{"force": true}"#).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        s.finished(&prod.id).await.status,
        ExecutionStatus::Succeeded
    );
    let promotes = s.events_of("promote").await;
    assert!(
        promotes
            .iter()
            .any(|e| e.correlation.detail.as_deref().unwrap().contains("forced"))
    );

    for (env, want) in [
        (
            "dev",
            "no execution of pipeline micro-gw-deploy-dev waits for a manual judgment",
        ),
        (
            "qa",
            "product \"micro-gw\" has no environment \"qa\" (its environments: dev, staging, prod)",
        ),
    ] {
        let (code, body) = s.promote(env, "").await;
        assert_eq!(code, StatusCode::NOT_FOUND, "{body}");
        assert!(body["detail"].as_str().unwrap().contains(want), "{body}");
    }
    let resp = s
        .http
        .post(format!(
            "{}/v1/products/nope/environments/prod/promote",
            s.url
        ))
        .bearer_auth(harness::TOKEN)
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::NOT_FOUND);
    let (code, body) = s.promote("prod", r#"{"stop": "yes"}"#).await;
    assert_eq!(code, StatusCode::UNPROCESSABLE_ENTITY, "{body}");
    let err = s.cli_err(&["promote", APP, "prod"]).await;
    assert!(
        err.contains("no execution of pipeline micro-gw-deploy-prod") && err.contains("404"),
        "{err}"
    );
}

#[tokio::test]
async fn uncorrelated_execution_is_found_by_the_running_fallback() {
    let s = Stand::start(true).await;
    // posted without recording Echo's id on the baton event
    let id = s.record("chart", Default::default()).await;
    let body = baton_core::wire::chart_event(&baton_core::wire::ChartEvent {
        product: APP,
        commit: "0123abc",
        chart: "microgateway",
        version: "3.0.1-1",
        artifact: baton_core::wire::ChartArtifact::Embedded {
            base64: "H4tjaGFydC0zLjAuMS0x",
        },
        environments: vec!["staging"],
        values: vec![("staging", "cmVwbGljYXM6IDQK".to_owned())],
        event_id: &id,
    });
    let echo = s.gate.post_webhook("chart", &body).await.unwrap();
    let staging = s.waiting_in(&echo, "staging").await;
    // dev never ran this chart: forced (the rule by artifact is tested in `artifact`)
    let (code, body) = s.promote("staging", r#"{"force": true}"#).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(body["execution_id"], staging.id.as_str());
    assert_eq!(body["source_event"], id.as_str());
    assert_eq!(
        s.finished(&staging.id).await.status,
        ExecutionStatus::Succeeded
    );
}
