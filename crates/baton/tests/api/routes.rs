//! The HTTP API over a real socket: health, auth, errors, sync and rebuild.

use baton_harness::common;

use baton_daemon::jobs::Job;
use common::api::{Api, TOKEN, assert_error, documented_operations};
use reqwest::StatusCode;
use serde_json::json;

#[tokio::test]
async fn health_needs_no_token_and_readiness_follows_the_store() {
    let api = Api::start().await;
    let (s, v) = api.call(reqwest::Method::GET, "/healthz", None, None).await;
    assert_eq!((s, v), (StatusCode::OK, json!({"status": "ok"})));
    let (s, _) = api.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_eq!(s, StatusCode::OK);
    api.store.close().await;
    let got = api.call(reqwest::Method::GET, "/readyz", None, None).await;
    assert_error(
        &got,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "state store",
    );
    api.shutdown.cancel();
}

#[tokio::test]
async fn v1_needs_a_valid_bearer_token() {
    let api = Api::start().await;
    let got = api
        .call(reqwest::Method::GET, "/v1/status", None, None)
        .await;
    assert_error(
        &got,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "Authorization: Bearer",
    );
    let got = api
        .call(
            reqwest::Method::GET,
            "/v1/status",
            Some("test-token-2"),
            None,
        )
        .await;
    assert_error(
        &got,
        StatusCode::UNAUTHORIZED,
        "unauthorized",
        "not accepted",
    );
    let resp = api
        .http
        .get(format!("{}/v1/status", api.url))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.headers()["www-authenticate"], "Bearer");
    // The scheme is case-insensitive; another scheme is refused.
    for (scheme, status) in [
        ("bearer", StatusCode::OK),
        ("Basic", StatusCode::UNAUTHORIZED),
    ] {
        let resp = api
            .http
            .get(format!("{}/v1/status", api.url))
            .header("authorization", format!("{scheme} {TOKEN}"))
            .send()
            .await
            .unwrap();
        assert_eq!(resp.status(), status, "{scheme}");
    }
    let (s, v) = api.get("/v1/status").await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["products"][0]["name"], "micro-gw");
    assert_eq!(
        v["products"][0]["environments"][2],
        json!({"name": "prod", "delivered": null})
    );
    assert_eq!(v["outbox"]["pending"], 0);
    let got = api.get("/v1/products/micro-gw/sync").await;
    assert_error(
        &got,
        StatusCode::METHOD_NOT_ALLOWED,
        "method_not_allowed",
        "method",
    );
    let got = api.call(reqwest::Method::GET, "/nowhere", None, None).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", "no such endpoint");
}

#[tokio::test]
async fn sync_records_an_event_and_queues_the_job() {
    let mut api = Api::start().await;
    let (s, v) = api
        .post("/v1/products/micro-gw/sync", Some(r#"{"force":true}"#))
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let id = v["event_id"].as_str().unwrap().to_owned();
    let job = api.jobs.try_recv().unwrap();
    assert_eq!(
        job,
        Job::Sync {
            product: "micro-gw".into(),
            commit: None,
            force: true,
            event_id: id.clone(),
            verdict: Default::default(),
        }
    );
    let e = api.store.event(&id).await.unwrap().unwrap();
    assert_eq!(e.kind.as_str(), "sync");

    let (s, _) = api.post("/v1/products/micro-gw/sync", None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "an empty body is fine");
    // What a sync refuses: product, body, status, error code, a word of the detail.
    let refused = [
        ("nope", None, 404, "not_found", "\"nope\""),
        ("images-only", None, 409, "conflict", "no chart"),
        ("micro-gw", Some("{"), 400, "bad_request", "not JSON"),
        (
            "micro-gw",
            Some(r#"{"comit":"x"}"#),
            422,
            "unprocessable",
            "comit",
        ),
        (
            "micro-gw",
            Some(r#"{"commit":"main"}"#),
            422,
            "unprocessable",
            "commit",
        ),
    ];
    for (product, body, status, code, detail) in refused {
        let got = api
            .post(&format!("/v1/products/{product}/sync"), body)
            .await;
        let status = StatusCode::from_u16(status).unwrap();
        assert_error(&got, status, code, detail);
    }
}

#[tokio::test]
async fn rebuild_checks_the_image_and_queues_the_job() {
    let mut api = Api::start().await;
    let (s, v) = api
        .post("/v1/products/micro-gw/images/petstore/rebuild", None)
        .await;
    assert_eq!(s, StatusCode::ACCEPTED);
    let job = api.jobs.try_recv().unwrap();
    assert_eq!(
        job,
        Job::Rebuild {
            product: "micro-gw".into(),
            image: "petstore".into(),
            event_id: v["event_id"].as_str().unwrap().into()
        }
    );
    assert_error(
        &api.post("/v1/products/micro-gw/images/nope/rebuild", None)
            .await,
        StatusCode::NOT_FOUND,
        "not_found",
        "no image \"nope\"",
    );
}

#[tokio::test]
async fn a_full_job_queue_is_a_clear_503() {
    let api = Api::start().await;
    for _ in 0..4 {
        assert_eq!(
            api.post("/v1/products/micro-gw/images/petstore/rebuild", None)
                .await
                .0,
            StatusCode::ACCEPTED
        );
    }
    let got = api
        .post("/v1/products/micro-gw/images/petstore/rebuild", None)
        .await;
    assert_error(
        &got,
        StatusCode::SERVICE_UNAVAILABLE,
        "unavailable",
        "retry",
    );
}

#[tokio::test]
async fn every_documented_operation_exists() {
    let api = Api::start().await;
    let (s, doc) = api
        .call(reqwest::Method::GET, "/openapi.json", None, None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(doc["openapi"], "3.1.0");
    let paths = doc["paths"].as_object().unwrap();
    assert!(paths.len() >= 12, "{}", paths.len());
    // The dashboard is on by default, under /ui; this harness serves the API alone, so the
    // dashboard's paths are checked against the whole daemon in the dashboard tests.
    assert!(paths["/ui/products/{product}"]["get"].is_object(), "{doc}");
    // `/hooks/*` is mounted by `serve` only with a webhook secret: the route-table unit test
    // and the hooks module cover it.
    for prefix in ["/v1/", "/healthz", "/readyz", "/metrics", "/openapi.json"] {
        for (m, path, concrete) in documented_operations(&doc, prefix) {
            let resp = api
                .http
                .request(m.clone(), format!("{}{concrete}", api.url))
                .bearer_auth(TOKEN)
                .send()
                .await
                .unwrap();
            let status = resp.status();
            let body = resp.text().await.unwrap();
            assert!(
                status != StatusCode::METHOD_NOT_ALLOWED && !body.contains("no such endpoint"),
                "{m} {path} is documented but not routed: {status} {body}"
            );
        }
    }
}
