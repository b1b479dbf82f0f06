//! The promotion rule by artifact (issue 16) on the stand-in: a staging-only values change is
//! promoted without `--force` once dev ran its chart; prod is refused until staging succeeded
//! with the chart digest it would run (the message names what staging ran); `--force` is
//! recorded; image events follow the same rule by image digest; the environment matrix (API
//! JSON and `baton status PRODUCT`) shows the result.

use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::Value;
use sha2::Digest as _;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use spinnaker_client::model::pipeline::PipelineConfig;
use testkit::spinnaker::FailRule;
use testkit::spinnaker::sample::image_pipeline;

use super::harness::{APP, Stand};

const C1: &[u8] = b"microgateway-3.0.1-1.tgz bytes";
const C2: &[u8] = b"microgateway-3.0.2.tgz bytes";

fn b64(bytes: &[u8]) -> String {
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

fn digest(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(bytes)))
}

fn short(d: &str) -> &str {
    &d[..19]
}

/// The values of every environment, as baton sends them; only staging's varies here.
fn values(staging: &str) -> Vec<(&'static str, String)> {
    vec![
        ("dev", b64(b"replicas: 1\n")),
        ("staging", b64(staging.as_bytes())),
        ("prod", b64(b"replicas: 3\n")),
    ]
}

fn detail(body: &Value) -> &str {
    body["detail"].as_str().unwrap_or_default()
}

#[tokio::test]
async fn promotion_follows_the_chart_digest_whatever_the_values() {
    let s = Stand::start(true).await;
    let (_, e1) = s
        .deliver_chart(&["dev"], "3.0.1-1", &b64(C1), values("replicas: 2\n"))
        .await;
    let dev = s.execution_of(&e1, "dev").await;
    assert_eq!(s.finished(&dev.id).await.status, ExecutionStatus::Succeeded);

    // A staging-only values change: the event names staging alone, the chart is dev's.
    let (_, e2) = s
        .deliver_chart(&["staging"], "3.0.1-1", &b64(C1), values("replicas: 4\n"))
        .await;
    let staging = s.waiting_in(&e2, "staging").await;
    let (code, body) = s.promote("staging", "{}").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        s.finished(&staging.id).await.status,
        ExecutionStatus::Succeeded
    );
    let deployed = s.fake.deployed(APP, "micro-gw-staging").unwrap();
    assert_eq!(
        deployed.values[0].bytes.as_deref(),
        Some(&b"replicas: 4\n"[..])
    );

    // A prod-only change with a chart nobody ran: refused, naming what staging ran.
    let (_, e3) = s
        .deliver_chart(&["prod"], "3.0.2", &b64(C2), values("replicas: 4\n"))
        .await;
    let prod = s.waiting_in(&e3, "prod").await;
    let (code, body) = s.promote("prod", "{}").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    let wanted = format!(
        "staging has no SUCCEEDED execution of chart microgateway 3.0.2 ({})",
        short(&digest(C2))
    );
    let found = format!(
        "found in staging: chart microgateway 3.0.1-1 ({}) (execution {} of micro-gw-deploy-staging, SUCCEEDED)",
        short(&digest(C1)),
        staging.id
    );
    assert!(detail(&body).contains(&wanted), "{body}");
    assert!(detail(&body).contains(&found), "{body}");
    assert!(detail(&body).contains("--force"), "{body}");
    // the matrix says the same before anyone tries
    let m: Value =
        serde_json::from_str(&s.get("/v1/products/micro-gw/environments").await).unwrap();
    let row = &m["environments"][2];
    assert_eq!(row["name"], "prod");
    assert_eq!(row["state"], "waiting");
    assert_eq!(row["pending_judgment"]["execution_id"], prod.id.as_str());
    assert_eq!(
        row["pending_judgment"]["artifact"]["chart"]["digest"],
        digest(C2)
    );
    assert_eq!(row["promotion"]["allowed"], false);
    assert!(
        row["promotion"]["reason"]
            .as_str()
            .unwrap()
            .contains(&wanted),
        "{m}"
    );

    // staging gets the new chart; dev never ran it: refused, then forced, and recorded so
    let (_, e4) = s
        .deliver_chart(&["staging"], "3.0.2", &b64(C2), values("replicas: 4\n"))
        .await;
    let staging2 = s.waiting_in(&e4, "staging").await;
    let err = s.cli_err(&["promote", APP, "staging"]).await;
    assert!(
        err.contains("dev has no SUCCEEDED execution of chart microgateway 3.0.2")
            && err.contains("409"),
        "{err}"
    );
    s.cli_ok(&["promote", APP, "staging", "--force"]).await;
    assert_eq!(
        s.finished(&staging2.id).await.status,
        ExecutionStatus::Succeeded
    );
    let promotes = s.events_of("promote").await;
    let forced = promotes
        .iter()
        .find(|e| e.correlation.execution_id.as_deref() == Some(staging2.id.as_str()))
        .expect("promote event");
    let d = forced.correlation.detail.as_deref().unwrap();
    assert!(d.starts_with("continue micro-gw/staging by alice"), "{d}");
    assert!(d.contains("forced (--force"), "{d}");
    assert!(
        d.contains(&format!(
            "chart microgateway 3.0.2 ({})",
            short(&digest(C2))
        )),
        "{d}"
    );

    // prod may go now: staging succeeded with the chart digest prod would run
    let (code, body) = s.promote("prod", "{}").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        s.finished(&prod.id).await.status,
        ExecutionStatus::Succeeded
    );

    // the matrix after the flow: what runs where, nothing waits
    let m: Value =
        serde_json::from_str(&s.get("/v1/products/micro-gw/environments").await).unwrap();
    let envs = m["environments"].as_array().unwrap();
    let names: Vec<_> = envs.iter().map(|e| e["name"].as_str().unwrap()).collect();
    assert_eq!(names, ["dev", "staging", "prod"]);
    for (row, chart, values, execution) in [
        (&envs[0], C1, &b"replicas: 1\n"[..], &dev.id),
        (&envs[1], C2, &b"replicas: 4\n"[..], &staging2.id),
        (&envs[2], C2, &b"replicas: 3\n"[..], &prod.id),
    ] {
        let d = &row["last_success"];
        assert_eq!(row["state"], "deployed", "{row}");
        assert_eq!(d["execution_id"], execution.as_str(), "{row}");
        assert_eq!(d["chart"]["digest"], digest(chart), "{row}");
        assert_eq!(d["values_digest"], digest(values), "{row}");
        assert!(d["finished_at"].as_str().is_some(), "{row}");
        // testkit's sample pipelines end without the verification stage render adds
        assert_eq!(d["verification"], "NO_STAGE", "{row}");
        assert!(
            row["pending_judgment"].is_null() && row["running"].is_null(),
            "{row}"
        );
        assert_eq!(row["promotion"]["allowed"], false);
    }
    assert_eq!(
        envs[2]["promotion"]["reason"],
        "nothing waits for a judgment in micro-gw-deploy-prod"
    );
    assert_eq!(envs[2]["last_success"]["chart"]["version"], "3.0.2");

    let table = s.cli_ok(&["status", APP]).await;
    let line = format!(
        "staging    deployed               microgateway 3.0.2 {}",
        short(&digest(C2))
    );
    assert!(table.contains(&line), "{table}");
    assert!(table.contains(&staging2.id), "{table}");
    assert!(
        table.contains("prod       nothing waits for a judgment in micro-gw-deploy-prod"),
        "{table}"
    );
    let out = s.cli(&["status", APP, "--output", "json"]).await;
    let printed: Value = serde_json::from_slice(&out.stdout).unwrap();
    assert_eq!(
        printed["environments"], m["environments"],
        "the API's JSON, unchanged"
    );
    assert!(s.fake.unexpected_requests().is_empty());
}

/// An image pipeline (`<app>-image-petstore`, what render makes for the first environment)
/// and a staging pipeline that rolls image events in after a judgment.
fn image_pipelines() -> Vec<PipelineConfig> {
    let repository = "registry\\.example\\.com/acme/petstore";
    vec![
        image_pipeline(APP, "micro-gw-image-petstore", repository, false),
        image_pipeline(APP, "micro-gw-deploy-staging", repository, true),
    ]
}

/// Posts an image event of `digest` as baton does; returns dev's finished execution of the
/// image pipeline and staging's execution, waiting for its judgment.
async fn roll_image(s: &Stand, digest: &str) -> (Execution, Execution) {
    let id = s.record("image", Default::default()).await;
    let body = baton_core::wire::image_event(&baton_core::wire::ImageEvent {
        product: APP,
        image: "petstore",
        repository: "registry.example.com/acme/petstore",
        digest,
        tag: None,
        event_id: &id,
    });
    let (_, echo) = s.post("image", &id, &body).await;
    let dev = s
        .execution_of_pipeline(&echo, "micro-gw-image-petstore")
        .await;
    let dev = s.finished(&dev.id).await;
    let staging = s.waiting_in(&echo, "staging").await;
    (dev, staging)
}

#[tokio::test]
async fn an_image_event_follows_the_rule_by_image_digest() {
    let images = r#"    images:
      - {name: petstore, base: "docker.example.com/base:1", target: "registry.example.com/acme/petstore", jenkins_job: "micro-gw/petstore-image"}
jenkins: {url: "http://jenkins.example.com", user: baton, token_file: "jenkins-token"}"#;
    let s = Stand::with(image_pipelines(), true, images).await;
    let (d1, d2) = (
        format!("sha256:{}", "1".repeat(64)),
        format!("sha256:{}", "2".repeat(64)),
    );

    // dev rolls d1 in; staging may take d1
    let (dev, staging) = roll_image(&s, &d1).await;
    assert_eq!(dev.status, ExecutionStatus::Succeeded);
    let (code, body) = s.promote("staging", "{}").await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        s.finished(&staging.id).await.status,
        ExecutionStatus::Succeeded
    );

    // dev fails to roll d2 in: staging may not take d2, and the refusal names dev's d1
    s.fake.fail_stage(FailRule {
        stage_type: "patchManifest".into(),
        pipeline: Some("micro-gw-image-petstore".into()),
        message: "deployment petstore not found".into(),
    });
    let (dev2, staging2) = roll_image(&s, &d2).await;
    assert_eq!(dev2.status, ExecutionStatus::Terminal);
    let (code, body) = s.promote("staging", "{}").await;
    assert_eq!(code, StatusCode::CONFLICT, "{body}");
    let want = format!(
        "dev has no SUCCEEDED execution of image registry.example.com/acme/petstore@{}",
        short(&d2)
    );
    let ran = format!(
        "execution {} of micro-gw-image-petstore ran it and is TERMINAL",
        dev2.id
    );
    let found = format!(
        "found in dev: image registry.example.com/acme/petstore@{} (execution {} of micro-gw-image-petstore, SUCCEEDED)",
        short(&d1),
        dev.id
    );
    for part in [&want, &ran, &found] {
        assert!(
            detail(&body).contains(part.as_str()),
            "{part} missing in {body}"
        );
    }
    // the matrix shows dev's image and the refusal
    let m: Value =
        serde_json::from_str(&s.get("/v1/products/micro-gw/environments").await).unwrap();
    assert_eq!(m["environments"][0]["image"]["digest"], d1.as_str());
    assert_eq!(m["environments"][0]["state"], "failed");
    assert_eq!(m["environments"][1]["image"]["digest"], d1.as_str());
    assert_eq!(
        m["environments"][1]["pending_judgment"]["artifact"]["image"]["digest"],
        d2.as_str()
    );
    assert_eq!(m["environments"][1]["promotion"]["allowed"], false);
    // stopping is always allowed
    let (code, body) = s.promote("staging", r#"{"stop": true}"#).await;
    assert_eq!(code, StatusCode::OK, "{body}");
    assert_eq!(
        s.finished(&staging2.id).await.status,
        ExecutionStatus::Terminal
    );
}
