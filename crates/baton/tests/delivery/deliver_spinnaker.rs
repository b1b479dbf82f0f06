//! The Spinnaker deliverer against the Gate stand-in on a real socket: each record is posted
//! once, Echo's event id lands on the event, 503 is retried, 400 is dead with Gate's message.

use baton_harness::deliver;

use std::time::Duration;

use baton_daemon::outbox::Effect;
use baton_daemon::outbox::deliverers::Deliverers;
use baton_daemon::outbox::spinnaker::SpinnakerDeliverer;
use baton_daemon::store::outbox::{Record, State};
use deliver::{Running, gate, running};
use serde_json::json;
use testkit::spinnaker::{FakeSpinnaker, Fault, FaultKind};

/// A worker on a fresh store sends `image_effect(n)` (key `img-{n}`, for a new event) through
/// `client`, and its record settles within `limit`: the worker, the event id and the record.
async fn send(
    client: spinnaker_client::Client,
    n: u32,
    limit: Duration,
) -> (Running, String, Record) {
    let w = running(|store| Deliverers {
        spinnaker: Some(SpinnakerDeliverer::new(client, store.clone())),
        jenkins: None,
        notify: None,
    })
    .await;
    let key = format!("img-{n}");
    let (event, record) = w.send("image", &key, &image_effect(n), limit).await;
    (w, event, record)
}

fn image_effect(n: u32) -> Effect {
    Effect::SpinnakerWebhook {
        source: "image".into(),
        body: json!({"application": "micro-gw", "image": format!("r/x@sha256:{n:064x}")}),
    }
}

fn webhook_posts(gate: &FakeSpinnaker) -> Vec<testkit::spinnaker::RecordedRequest> {
    gate.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == "/webhooks/webhook/image")
        .collect()
}

#[tokio::test]
async fn delivers_once_and_records_echos_event_id() {
    let gate = gate().await;
    let (w, event, r) = send(gate.client(), 1, Duration::from_secs(10)).await;
    assert_eq!(r.state, State::Delivered, "{r:?}");
    assert_eq!(r.attempts, 1);
    let echo_id = r.response.as_ref().unwrap()["eventId"]
        .as_str()
        .unwrap()
        .to_owned();
    let ev = w.store.event(&event).await.unwrap().unwrap();
    assert_eq!(
        ev.correlation.spinnaker_event_id.as_deref(),
        Some(&*echo_id)
    );

    // Enqueueing the same key again changes nothing and posts nothing.
    let (again, created) = w
        .outbox
        .enqueue(&image_effect(1), "micro-gw", "img-1", Some(&event))
        .await
        .unwrap();
    assert!(!created && again.id == r.id);
    deliver::assert_nothing_left_to_send(&w.store).await;
    let posts = webhook_posts(&gate);
    assert_eq!(posts.len(), 1, "exactly one POST: {posts:?}");
    let sent: serde_json::Value = serde_json::from_slice(&posts[0].body).unwrap();
    assert_eq!(
        sent,
        json!({"application": "micro-gw", "image": format!("r/x@sha256:{:064x}", 1)})
    );
    assert_eq!(posts[0].content_type.as_deref(), Some("application/json"));
}

#[tokio::test]
async fn unavailable_gate_is_retried_until_it_answers() {
    let gate = gate().await;
    gate.set_fault(Fault {
        times: Some(2),
        ..Fault::on("/webhooks/", FaultKind::Status(503))
    });
    let (w, event, r) = send(gate.client(), 2, Duration::from_secs(10)).await;
    assert_eq!(r.state, State::Delivered, "{r:?}");
    assert_eq!(r.attempts, 3);
    let statuses: Vec<u16> = webhook_posts(&gate).iter().map(|r| r.status).collect();
    assert_eq!(statuses, [503, 503, 200]);
    let ev = w.store.event(&event).await.unwrap().unwrap();
    assert!(ev.correlation.spinnaker_event_id.is_some());
}

#[tokio::test]
async fn bad_request_is_dead_at_once_with_gates_message() {
    let gate = gate().await;
    gate.set_fault(Fault::on(
        "/webhooks/",
        FaultKind::Respond(
            400,
            json!({"status": 400, "error": "Bad Request", "message": "payload of source image is not valid JSON at $.image"}),
        ),
    ));
    let (w, event, r) = send(gate.client(), 3, Duration::from_secs(10)).await;
    assert_eq!(r.state, State::Dead, "{r:?}");
    assert_eq!(r.attempts, 1);
    let err = r.last_error.unwrap();
    assert!(err.contains("400"), "{err}");
    assert!(
        err.contains("payload of source image is not valid JSON at $.image"),
        "{err}"
    );
    assert_eq!(webhook_posts(&gate).len(), 1);
    let ev = w.store.event(&event).await.unwrap().unwrap();
    assert_eq!(ev.correlation.spinnaker_event_id, None);
}

#[tokio::test]
async fn gates_retry_after_is_honoured() {
    let gate = gate().await;
    gate.set_fault(Fault {
        times: Some(1),
        ..Fault::on(
            "/webhooks/",
            FaultKind::Unavailable {
                retry_after_secs: 1,
            },
        )
    });
    let (_w, _, r) = send(gate.client(), 4, Duration::from_secs(10)).await;
    assert_eq!(r.state, State::Delivered, "{r:?}");
    let posts = webhook_posts(&gate);
    assert_eq!(
        posts.iter().map(|p| p.status).collect::<Vec<_>>(),
        [503, 200]
    );
    // The policy alone would retry after 100 ms; Retry-After: 1 wins.
    let gap = posts[1]
        .received_at
        .duration_since(posts[0].received_at)
        .unwrap();
    assert!(gap >= Duration::from_millis(990), "{gap:?}");
}

/// Issue 17 item 6: Echo processed the event but answered after baton's timeout. Echo has no
/// idempotency key, so the retry delivers it a second time; the timed-out attempt is marked
/// "possibly delivered" on the event, where `baton events` shows it.
#[tokio::test]
async fn a_timed_out_webhook_is_marked_possibly_delivered_on_its_event() {
    let gate = gate().await;
    gate.set_fault(Fault {
        times: Some(1),
        ..Fault::on("/webhooks/", FaultKind::SlowAnswer(Duration::from_secs(3)))
    });
    let client = spinnaker_client::Client::builder(gate.url())
        .timeout(Duration::from_secs(1))
        .build()
        .unwrap();
    let (w, event, r) = send(client, 7, Duration::from_secs(15)).await;
    assert_eq!(r.state, State::Delivered, "{r:?}");
    assert_eq!(r.attempts, 2);
    assert_eq!(
        webhook_posts(&gate).len(),
        2,
        "the documented one duplicate"
    );
    let ev = w.store.event(&event).await.unwrap().unwrap();
    let detail = ev.correlation.detail.unwrap_or_default();
    assert!(
        detail.contains("possibly delivered") && detail.contains("attempt 1"),
        "{detail}"
    );
}
