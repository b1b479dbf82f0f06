//! `baton explain`: one test per reason a change did or did not become a delivery, set up in
//! the store directly, with the Spinnaker stand-in answering Gate.

use baton_harness::common;

use std::time::Duration;

use baton_core::config::model::Product;
use baton_daemon::api::types::ExplainAnswer;
use baton_daemon::explain::{explain, text};
use baton_daemon::outbox::Effect;
use baton_daemon::store::Store;
use baton_daemon::store::events::{Correlation, Event, Observation};
use baton_daemon::store::outbox::NewRecord;
use serde_json::{Value, json};
use testkit::spinnaker::FakeSpinnaker;
use time::OffsetDateTime;

fn product() -> Product {
    serde_json::from_value(json!({
        "name": "mgw", "environments": ["dev", "staging"],
        "chart_source": {"git": "https://git.example/mgw-values.git"},
        "images": [{"name": "gw", "base": "registry.example/base:1", "check": "0 * * * *",
                    "target": "registry.example/gw", "jenkins_job": "mgw/gw"}]
    }))
    .unwrap()
}

static SEQ: std::sync::atomic::AtomicI64 = std::sync::atomic::AtomicI64::new(0);

/// A `chart` event; each one a second newer than the one before (newest wins).
async fn chart_event(store: &Store, detail: &str) -> String {
    let n = SEQ.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
    let id = format!("ev-{n:04}");
    store
        .insert_event(&Event {
            id: id.clone(),
            product: "mgw".into(),
            kind: "chart".into(),
            image: None,
            created_at: OffsetDateTime::now_utc() + time::Duration::seconds(n),
            correlation: Correlation {
                commit: Some("abc123".into()),
                detail: Some(detail.into()),
                ..Default::default()
            },
        })
        .await
        .unwrap();
    id
}

fn chart_body(envs: &str) -> Value {
    json!({"application": "mgw", "environments": envs, "parameters": {"environments": envs},
           "artifacts": [{"type": "embedded/base64", "name": "mgw-3.0.1.tgz", "reference": "AAAA"}]})
}

/// Enqueues `effect` of product mgw for `event` under `key` and claims it (one attempt), as
/// worker `t`.
pub(crate) async fn claimed_record(store: &Store, effect: Effect, key: &str, event: &str) -> i64 {
    let new = NewRecord {
        kind: effect.kind().into(),
        target: effect.target("mgw"),
        payload: serde_json::to_value(&effect).unwrap(),
        key: key.into(),
        event_id: Some(event.into()),
        supersede: None,
    };
    let now = OffsetDateTime::now_utc();
    let (r, _) = store.enqueue(&new, now).await.unwrap();
    assert!(
        store
            .claim(r.id, "t", now, now + Duration::from_secs(60))
            .await
            .unwrap()
    );
    r.id
}

/// Enqueues the chart webhook of `event` and claims it (one attempt).
async fn webhook_record(store: &Store, event: &str, body: &Value) -> i64 {
    let effect = Effect::SpinnakerWebhook {
        source: "chart".into(),
        body: body.clone(),
    };
    claimed_record(store, effect, &format!("k-{event}"), event).await
}

/// What `baton explain mgw` prints for the chart source, and the JSON of that source.
async fn chart_source(store: &Store, gate: Option<&spinnaker_client::Client>) -> (String, Value) {
    let sources = explain(store, &product(), gate).await.unwrap();
    let answer = ExplainAnswer {
        product: "mgw".into(),
        sources,
    };
    let text = text::render(&answer);
    let v = serde_json::to_value(&answer).unwrap();
    (text, v["sources"][0].clone())
}

fn pipeline(constraints: Value) -> spinnaker_client::model::pipeline::PipelineConfig {
    serde_json::from_value(json!({
        "application": "mgw", "name": "mgw-deploy-dev", "id": "p-dev",
        "triggers": [{"type": "webhook", "enabled": true, "source": "chart", "payloadConstraints": constraints}],
        "stages": [{"refId": "1", "type": "wait", "name": "wait", "waitTime": 0}]
    }))
    .unwrap()
}

#[tokio::test]
async fn baseline_unchanged_and_rejected_say_why_nothing_was_sent() {
    let (store, _dir) = common::sqlite().await;
    let (text, _) = chart_source(&store, None).await;
    assert!(
        text.contains("verdict: not_seen: no chart decision recorded yet"),
        "{text}"
    );

    // The newest chart decision (its detail), the verdict it gives and the text's verdict line.
    let decisions = [
        (
            "baseline at commit abc123, chart mgw 3.0.1: recorded as delivered, nothing sent (first_seen: baseline)",
            "baseline",
            "verdict: baseline: baseline at commit abc123",
        ),
        (
            "unchanged: this content was delivered already; nothing sent (sync --force sends anyway)",
            "unchanged",
            "verdict: unchanged",
        ),
        (
            "rejected at commit abc123: mgw/values-prod.yaml line 4 column 3: mapping values are not allowed here; nothing sent",
            "rejected",
            "verdict: rejected: rejected at commit abc123: mgw/values-prod.yaml line 4",
        ),
    ];
    for (detail, verdict, line) in decisions {
        chart_event(&store, detail).await;
        let (text, v) = chart_source(&store, None).await;
        assert_eq!(v["verdict"], verdict, "{text}");
        assert!(text.contains(line), "{text}");
    }

    // The base image was seen once and never rebuilt: baseline.
    store
        .record_observation(&Observation {
            source: "base-image:mgw/gw".into(),
            value: "sha256:aaa".into(),
            observed_at: OffsetDateTime::now_utc(),
        })
        .await
        .unwrap();
    let sources = explain(&store, &product(), None).await.unwrap();
    let text = text::render(&ExplainAnswer {
        product: "mgw".into(),
        sources,
    });
    assert!(
        text.contains("base-image:mgw/gw\n  seen:    sha256:aaa"),
        "{text}"
    );
    assert!(
        text.contains("verdict: baseline: sha256:aaa was recorded on first sight"),
        "{text}"
    );
}

#[tokio::test]
async fn outbox_retrying_and_dead_show_the_last_error() {
    let (store, _dir) = common::sqlite().await;
    let ev = chart_event(&store, "environments dev").await;
    let id = webhook_record(&store, &ev, &chart_body("dev")).await;
    let next = OffsetDateTime::now_utc() + Duration::from_secs(30);
    store
        .mark_failed(id, "t", "Gate answered 503 Service Unavailable", Some(next))
        .await
        .unwrap();
    let (text, v) = chart_source(&store, None).await;
    assert_eq!(v["verdict"], "retrying");
    assert_eq!(v["attempts"], 1);
    assert!(
        text.contains(&format!("outbox record {id} retrying: 1 attempt(s), last error: Gate answered 503 Service Unavailable, next attempt at")),
        "{text}"
    );

    let now = OffsetDateTime::now_utc() + Duration::from_secs(31);
    assert!(
        store
            .claim(id, "t", now, now + Duration::from_secs(60))
            .await
            .unwrap()
    );
    store
        .mark_failed(id, "t", "Gate answered 400: bad payload", None)
        .await
        .unwrap();
    let (text, v) = chart_source(&store, None).await;
    assert_eq!(v["verdict"], "dead");
    assert!(
        text.contains(&format!("outbox record {id} dead after 2 attempt(s), last error: Gate answered 400: bad payload (baton outbox retry {id} tries again)")),
        "{text}"
    );
}

/// Posts `body` to the stand-in as baton would and marks the record delivered with Echo's id.
async fn deliver(store: &Store, gate: &spinnaker_client::Client, body: &Value) -> String {
    let ev = chart_event(store, "environments dev").await;
    let id = webhook_record(store, &ev, body).await;
    let echo = gate.post_webhook("chart", body).await.unwrap();
    let response = json!({"eventId": echo});
    store
        .mark_delivered(id, "t", OffsetDateTime::now_utc(), Some(&response))
        .await
        .unwrap();
    echo
}

#[tokio::test]
async fn delivered_names_the_execution_and_no_execution_names_the_failing_constraint() {
    let (store, _dir) = common::sqlite().await;
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = FakeSpinnaker::builder()
        .application("mgw")
        .pipeline(pipeline(json!({"environments": "(^|,)dev(,|$)"})))
        .start(listener)
        .await
        .unwrap();
    let gate = fake.client();

    let echo = deliver(&store, &gate, &chart_body("dev")).await;
    let deadline = std::time::Instant::now() + Duration::from_secs(10);
    let (text, v) = loop {
        let (text, v) = chart_source(&store, Some(&gate)).await;
        if v["verdict"] == "delivered" || std::time::Instant::now() > deadline {
            break (text, v);
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(v["verdict"], "delivered", "{text}");
    assert!(
        text.contains(&format!("Echo event {echo}, execution ")),
        "{text}"
    );
    assert!(text.contains("of mgw-deploy-dev"), "{text}");

    let echo = deliver(&store, &gate, &chart_body("staging")).await;
    let (text, v) = chart_source(&store, Some(&gate)).await;
    assert_eq!(v["verdict"], "no_execution", "{text}");
    assert!(
        text.contains(&format!(
            "Spinnaker accepted the webhook (Echo event {echo}) but no execution was found:"
        )),
        "{text}"
    );
    assert!(
        text.contains(r#"- pipeline "mgw-deploy-dev" trigger 1: constraint environments="(^|,)dev(,|$)" not found in value "staging""#),
        "{text}"
    );
    fake.shutdown().await;
}

#[tokio::test]
async fn unmatched_and_waiting_say_which_pipeline_and_why() {
    let fake = FakeSpinnaker::builder()
        .pipeline(pipeline(json!({"environments": "^staging$"})))
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap())
        .await
        .unwrap();
    let gate = fake.client();
    let (store, _dir) = common::sqlite().await;

    // Waiting: deferred after `baton pipelines apply`, not a failure.
    let waiting = chart_event(&store, "chart mgw 3.0.1 for dev").await;
    let id = webhook_record(&store, &waiting, &chart_body("dev")).await;
    let until = OffsetDateTime::now_utc() + time::Duration::seconds(30);
    assert!(
        store
            .defer(id, "t", until, "pipelines of mgw were just saved")
            .await
            .unwrap()
    );
    let (text, v) = chart_source(&store, Some(&gate)).await;
    assert_eq!(v["verdict"], "waiting", "{v}");
    assert!(
        text.contains(&format!("outbox record {id} waits until"))
            && text.contains("pipelines of mgw were just saved"),
        "{text}"
    );
    assert_eq!(
        store.record(id).await.unwrap().unwrap().attempts,
        0,
        "a wait is not an attempt"
    );

    // Unmatched: delivered, the verifier found mgw-deploy-dev did not start.
    let ev = chart_event(&store, "chart mgw 3.0.1 for dev").await;
    let id = webhook_record(&store, &ev, &chart_body("dev")).await;
    let now = OffsetDateTime::now_utc();
    store
        .mark_delivered(id, "t", now, Some(&json!({"eventId": "echo-1"})))
        .await
        .unwrap();
    store
        .start_verification(&baton_daemon::store::verify::Verification {
            event_id: ev.clone(),
            application: "mgw".into(),
            echo_event_id: "echo-1".into(),
            expected: vec!["mgw-deploy-dev".into()],
            deadline: now,
            state: "pending".into(),
            missing: None,
        })
        .await
        .unwrap();
    let note = "unmatched: mgw-deploy-dev did not start";
    let finish = || store.finish_verification(&ev, "unmatched", Some("mgw-deploy-dev"), note, now);
    assert!(finish().await.unwrap());
    // The note came with the outcome (one transaction); a second finish adds nothing.
    assert!(!finish().await.unwrap());
    let detail = store.event(&ev).await.unwrap().unwrap().correlation.detail;
    assert_eq!(detail.unwrap().matches(note).count(), 1);
    let (text, v) = chart_source(&store, Some(&gate)).await;
    assert_eq!(v["verdict"], "unmatched", "{v}");
    assert_eq!(v["missing"], json!(["mgw-deploy-dev"]));
    assert!(
        text.contains("but mgw-deploy-dev did not start within spinnaker.verify_deadline")
            && text.contains("environments"),
        "{text}"
    );
}
