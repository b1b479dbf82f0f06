//! Replays and GitHub's form-encoded hooks (issue 17 items 5 and 7): a captured signed body
//! under a fresh (unsigned) delivery id is a duplicate, also after a restart and on another
//! replica sharing the state store; a `payload=` form body is accepted, signed over the raw
//! form bytes.

use baton_daemon::clock::Clock;
use baton_daemon::store::Store;
use baton_daemon::store::deliveries::StoredDeliveries;

use super::*;

async fn store_at(dir: &std::path::Path) -> Store {
    Store::open(&format!("sqlite://{}", dir.join("baton.db").display()))
        .await
        .unwrap()
}

fn stored(store: &Store) -> impl FnOnce(HooksState) -> HooksState {
    let seen = Arc::new(StoredDeliveries::new(store.clone(), Clock::system()));
    move |s| s.with_seen_deliveries(seen)
}

#[tokio::test]
async fn a_captured_body_under_a_new_delivery_id_is_a_duplicate_even_after_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let store = store_at(dir.path()).await;
    let mut first = harness_with(8, stored(&store));
    let (status, _) = first.push(Provider::GitHub, GITHUB, "d-1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(drain(&mut first.checks).len(), 1);

    // Same process, same body, new delivery id: a replay.
    let (status, json) = first.push(Provider::GitHub, GITHUB, "d-forged").await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    assert!(drain(&mut first.checks).is_empty());

    // A restarted daemon (or another replica) on the same state store.
    store.close().await;
    let store = store_at(dir.path()).await;
    let mut second = harness_with(8, stored(&store));
    for id in ["d-1", "d-after-restart"] {
        let (status, json) = second.push(Provider::GitHub, GITHUB, id).await;
        assert_eq!(
            (status, json["status"].as_str()),
            (StatusCode::OK, Some("duplicate")),
            "{id}: {json}"
        );
    }
    assert!(drain(&mut second.checks).is_empty());
}

#[tokio::test]
async fn the_in_memory_record_also_keys_by_body() {
    let mut h = harness();
    for (id, want) in [("m-1", "triggered"), ("m-2", "duplicate")] {
        let (_, json) = h.push(Provider::GitHub, GITHUB, id).await;
        assert_eq!(json["status"], want, "{id}: {json}");
    }
    assert_eq!(drain(&mut h.checks).len(), 1);
}

async fn post_form(app: &Router, body: &str) -> (StatusCode, Value) {
    let req = Request::post("/hooks/github")
        .header("content-type", "application/x-www-form-urlencoded")
        .header("x-github-event", "push")
        .header("x-github-delivery", "form-1")
        .header(
            "x-hub-signature-256",
            sign_sha256(&secret(), body.as_bytes()),
        )
        .body(Body::from(body.to_owned()))
        .unwrap();
    let resp = app.clone().oneshot(req).await.unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    (status, serde_json::from_slice(&bytes).unwrap())
}

#[tokio::test]
async fn a_form_encoded_github_push_is_accepted() {
    let mut h = harness();
    let form: String = url::form_urlencoded::Serializer::new(String::new())
        .append_pair("payload", GITHUB)
        .finish();
    let (status, json) = post_form(&h.app, &form).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    assert_eq!(json["status"], "triggered", "{json}");
    let checks = drain(&mut h.checks);
    assert_eq!(checks.len(), 1);
    assert_eq!(checks[0].source.0, "waffle");

    // A form without payload= says how to fix the hook.
    let mut h = harness();
    let (status, json) = post_form(&h.app, "other=1").await;
    assert_eq!(status, StatusCode::BAD_REQUEST, "{json}");
    assert!(
        json["detail"]
            .as_str()
            .unwrap()
            .contains("application/json"),
        "{json}"
    );
    assert!(drain(&mut h.checks).is_empty());
}
