//! The HTTP API over a real socket: Jenkins reporting built images, and the outbox endpoints.

use baton_harness::common;

use common::api::{Api, D, assert_error};
use reqwest::StatusCode;
use serde_json::{Value, json};

#[tokio::test]
async fn built_enqueues_the_image_event_once_per_digest() {
    let api = Api::start().await;
    let (s, v) = api
        .post("/v1/products/micro-gw/images/petstore/rebuild", None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let rebuild_event = v["event_id"].as_str().unwrap().to_owned();
    let body = json!({"reference": format!("registry.internal:5000/acme/petstore@{D}"), "tag": "3.0.1-b7",
                      "build_url": "https://jenkins.example.com/job/micro-gw/job/petstore-image/7/", "event_id": rebuild_event});
    let (s, v) = api
        .post(
            "/v1/products/micro-gw/images/petstore/built",
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    assert_eq!(v["event_id"], rebuild_event.as_str());
    assert_eq!(v["duplicate"], false);
    let record = api
        .store
        .record(v["outbox_id"].as_i64().unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(record.kind, "spinnaker.webhook");
    assert_eq!(record.target, "spinnaker.webhook:image:micro-gw");
    assert_eq!(
        record.payload,
        json!({"source": "image", "body": {
        "application": "micro-gw",
        "parameters": {"product": "micro-gw", "image": "petstore", "digest": D, "tag": "3.0.1-b7", "batonEvent": rebuild_event},
        "artifacts": [{"type": "docker/image", "name": "registry.internal:5000/acme/petstore",
                       "reference": format!("registry.internal:5000/acme/petstore@{D}"), "version": D}]}})
    );
    let e = api.store.event(&rebuild_event).await.unwrap().unwrap();
    assert_eq!(e.correlation.image_digest.as_deref(), Some(D));
    assert_eq!(
        e.correlation.build_url.as_deref(),
        Some("https://jenkins.example.com/job/micro-gw/job/petstore-image/7/")
    );

    let (s, again) = api
        .post(
            "/v1/products/micro-gw/images/petstore/built",
            Some(&body.to_string()),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    assert_eq!(
        (again["duplicate"].as_bool(), again["outbox_id"].as_i64()),
        (Some(true), v["outbox_id"].as_i64())
    );
    assert_eq!(api.store.outbox_counts().await.unwrap().pending, 1);

    let (s, v) = api.get("/v1/status").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["outbox"]["pending"], 1);
    assert_eq!(
        v["products"][0]["images"][0]["last_build"]["image_digest"],
        D
    );
}

#[tokio::test]
async fn built_rejects_bad_reports_naming_the_field() {
    let api = Api::start().await;
    let post = |b: Value| {
        let api = &api;
        async move {
            api.post(
                "/v1/products/micro-gw/images/petstore/built",
                Some(&b.to_string()),
            )
            .await
        }
    };
    let tagged = post(json!({"reference": "registry.internal:5000/acme/petstore:3.0.1"})).await;
    assert_error(
        &tagged,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "has no digest",
    );
    let short = post(json!({"reference": "registry.internal:5000/acme/petstore@sha256:abc"})).await;
    assert_error(
        &short,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "64",
    );
    let other = post(json!({"reference": format!("registry.internal:5000/acme/other@{D}")})).await;
    assert_error(
        &other,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "target of image",
    );
    let missing = post(json!({"tag": "x"})).await;
    assert_error(
        &missing,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "reference: is required",
    );
    let typed = post(json!({"reference": 5})).await;
    assert_error(
        &typed,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "reference",
    );
    let (_, other_image) = api
        .post("/v1/products/images-only/images/tool/rebuild", None)
        .await;
    let foreign = post(json!({"reference": format!("registry.internal:5000/acme/petstore@{D}"), "event_id": other_image["event_id"]})).await;
    assert_error(
        &foreign,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "belongs to images-only/tool",
    );
    let ghost = post(json!({"reference": format!("registry.internal:5000/acme/petstore@{D}"), "event_id": "ev-ghost"})).await;
    assert_error(
        &ghost,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "no event \"ev-ghost\"",
    );
    let huge = format!(r#"{{"reference":"{}"}}"#, "a".repeat(70 * 1024));
    let got = api
        .post("/v1/products/micro-gw/images/petstore/built", Some(&huge))
        .await;
    assert_error(
        &got,
        StatusCode::PAYLOAD_TOO_LARGE,
        "payload_too_large",
        "65536",
    );
    assert_eq!(api.store.outbox_counts().await.unwrap().pending, 0);
}

#[tokio::test]
async fn outbox_can_be_listed_retried_and_dropped_by_hand() {
    let api = Api::start().await;
    let body = json!({"reference": format!("registry.internal:5000/acme/petstore@{D}")});
    let (_, v) = api
        .post(
            "/v1/products/micro-gw/images/petstore/built",
            Some(&body.to_string()),
        )
        .await;
    let id = v["outbox_id"].as_i64().unwrap();
    let (s, list) = api.get("/v1/outbox?state=pending").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["records"][0]["id"], id);
    let got = api.get("/v1/outbox?state=lost").await;
    assert_error(&got, StatusCode::BAD_REQUEST, "bad_request", "lost");
    let (s, _) = api.post(&format!("/v1/outbox/{id}/retry"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api.delete(&format!("/v1/outbox/{id}")).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"dropped": id})));
    let got = api.delete(&format!("/v1/outbox/{id}")).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", "not found");
    let got = api.post("/v1/outbox/abc/retry", None).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", "ids are numbers");
    let got = api.get("/v1/events?limit=lots").await;
    assert_error(&got, StatusCode::BAD_REQUEST, "bad_request", "limit");
    let (s, ev) = api.get("/v1/events?product=micro-gw").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ev["events"][0]["kind"], "image");
}
