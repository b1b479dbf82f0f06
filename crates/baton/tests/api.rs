//! The HTTP API over a real socket, with a SQLite store: auth, errors, sync/rebuild/built.

mod common;

use std::path::Path;
use std::sync::Arc;

use baton::api::{AppState, auth::Tokens, router, serve};
use baton::clock::Clock;
use baton::jobs::Job;
use baton::outbox::Outbox;
use baton::store::Store;
use reqwest::StatusCode;
use serde_json::{Value, json};
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

const TOKEN: &str = "test-token-1";
const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

const CONFIG: &str = r#"
jenkins: {url: "https://jenkins.example.com", user: baton, token_file: jt}
spinnaker: {gate_url: "https://gate.example.com"}
products:
  - name: micro-gw
    environments: [dev, staging, prod]
    chart: {repository: "https://helm.example.com", name: microgateway, version: "3.0.1-1"}
    chart_source: {git: "https://git.example.com/c.git"}
    images:
      - name: petstore
        base: docker.wso2.com/wso2micro-gw:3.0.1
        target: registry.internal:5000/acme/petstore
        jenkins_job: micro-gw/petstore-image
  - name: images-only
    images:
      - name: tool
        base: docker.io/library/alpine:3
        target: registry.internal:5000/acme/tool
        jenkins_job: images-only/tool
"#;

struct Api {
    url: String,
    http: reqwest::Client,
    store: Store,
    jobs: mpsc::Receiver<Job>,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Api {
    async fn start() -> Self {
        baton::install_crypto_provider();
        let (store, dir) = common::sqlite().await;
        let file = dir.path().join("baton.yaml");
        std::fs::write(&file, CONFIG).unwrap();
        let loaded = baton::config::load_with_env(Path::new(&file), Default::default()).unwrap();
        let (tx, rx) = mpsc::channel(4);
        let state = AppState {
            config: Arc::new(loaded),
            tokens: Tokens::new(&[TOKEN.to_owned().into()]),
            outbox: Outbox::new(store.clone(), Clock::system()),
            jobs: tx,
            metrics: Default::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        tokio::spawn(serve(listener, router(state), shutdown.clone()));
        let http = reqwest::Client::builder()
            .timeout(std::time::Duration::from_secs(10))
            .build()
            .unwrap();
        Self {
            url,
            http,
            store,
            jobs: rx,
            shutdown,
            _dir: dir,
        }
    }

    async fn call(
        &self,
        method: reqwest::Method,
        path: &str,
        token: Option<&str>,
        body: Option<&str>,
    ) -> (StatusCode, Value) {
        let mut req = self.http.request(method, format!("{}{path}", self.url));
        if let Some(t) = token {
            req = req.bearer_auth(t);
        }
        if let Some(b) = body {
            req = req
                .header("content-type", "application/json")
                .body(b.to_owned());
        }
        let resp = req.send().await.unwrap();
        let status = resp.status();
        let text = resp.text().await.unwrap();
        let json =
            serde_json::from_str(&text).unwrap_or_else(|_| panic!("{status}: not JSON: {text}"));
        (status, json)
    }

    async fn post(&self, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(TOKEN), body)
            .await
    }
}

fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str, detail: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    let d = got.1["detail"].as_str().unwrap();
    assert!(d.contains(detail), "detail {d:?} lacks {detail:?}");
}

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
    let resp = api
        .http
        .get(format!("{}/v1/status", api.url))
        .header("authorization", format!("bearer {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(
        resp.status(),
        StatusCode::OK,
        "the scheme is case-insensitive"
    );
    let resp = api
        .http
        .get(format!("{}/v1/status", api.url))
        .header("authorization", format!("Basic {TOKEN}"))
        .send()
        .await
        .unwrap();
    assert_eq!(resp.status(), StatusCode::UNAUTHORIZED);
    let (s, v) = api
        .call(reqwest::Method::GET, "/v1/status", Some(TOKEN), None)
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(v["products"][0]["name"], "micro-gw");
    assert_eq!(
        v["products"][0]["environments"][2],
        json!({"name": "prod", "delivered": null})
    );
    assert_eq!(v["outbox"]["pending"], 0);
    let got = api
        .call(
            reqwest::Method::GET,
            "/v1/products/micro-gw/sync",
            Some(TOKEN),
            None,
        )
        .await;
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
        .post(
            "/v1/products/micro-gw/sync",
            Some(r#"{"commit":"abc1234"}"#),
        )
        .await;
    assert_eq!(s, StatusCode::ACCEPTED, "{v}");
    let id = v["event_id"].as_str().unwrap().to_owned();
    let job = api.jobs.try_recv().unwrap();
    assert_eq!(
        job,
        Job::Sync {
            product: "micro-gw".into(),
            commit: Some("abc1234".into()),
            force: false,
            event_id: id.clone()
        }
    );
    let e = api.store.event(&id).await.unwrap().unwrap();
    assert_eq!(
        (e.kind.as_str(), e.correlation.commit.as_deref()),
        ("sync", Some("abc1234"))
    );

    let (s, _) = api.post("/v1/products/micro-gw/sync", None).await;
    assert_eq!(s, StatusCode::ACCEPTED, "an empty body is fine");
    assert_error(
        &api.post("/v1/products/nope/sync", None).await,
        StatusCode::NOT_FOUND,
        "not_found",
        "\"nope\"",
    );
    assert_error(
        &api.post("/v1/products/images-only/sync", None).await,
        StatusCode::CONFLICT,
        "conflict",
        "no chart",
    );
    assert_error(
        &api.post("/v1/products/micro-gw/sync", Some("{")).await,
        StatusCode::BAD_REQUEST,
        "bad_request",
        "not JSON",
    );
    assert_error(
        &api.post("/v1/products/micro-gw/sync", Some(r#"{"comit":"x"}"#))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "comit",
    );
    assert_error(
        &api.post("/v1/products/micro-gw/sync", Some(r#"{"commit":"main"}"#))
            .await,
        StatusCode::UNPROCESSABLE_ENTITY,
        "unprocessable",
        "commit",
    );
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

    let (s, v) = api
        .call(reqwest::Method::GET, "/v1/status", Some(TOKEN), None)
        .await;
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
    let (s, list) = api
        .call(
            reqwest::Method::GET,
            "/v1/outbox?state=pending",
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(list["records"][0]["id"], id);
    let got = api
        .call(
            reqwest::Method::GET,
            "/v1/outbox?state=lost",
            Some(TOKEN),
            None,
        )
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "bad_request", "lost");
    let (s, _) = api.post(&format!("/v1/outbox/{id}/retry"), None).await;
    assert_eq!(s, StatusCode::OK);
    let (s, v) = api
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/outbox/{id}"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!((s, v), (StatusCode::OK, json!({"dropped": id})));
    let got = api
        .call(
            reqwest::Method::DELETE,
            &format!("/v1/outbox/{id}"),
            Some(TOKEN),
            None,
        )
        .await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", "not found");
    let got = api.post("/v1/outbox/abc/retry", None).await;
    assert_error(&got, StatusCode::NOT_FOUND, "not_found", "ids are numbers");
    let got = api
        .call(
            reqwest::Method::GET,
            "/v1/events?limit=lots",
            Some(TOKEN),
            None,
        )
        .await;
    assert_error(&got, StatusCode::BAD_REQUEST, "bad_request", "limit");
    let (s, ev) = api
        .call(
            reqwest::Method::GET,
            "/v1/events?product=micro-gw",
            Some(TOKEN),
            None,
        )
        .await;
    assert_eq!(s, StatusCode::OK);
    assert_eq!(ev["events"][0]["kind"], "image");
}
