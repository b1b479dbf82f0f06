//! An API server over a real socket with a SQLite store, for the API tests.

use std::path::Path;
use std::sync::Arc;

use baton_daemon::api::{AppState, auth::Tokens, router, serve};
use baton_daemon::clock::Clock;
use baton_daemon::jobs::Job;
use baton_daemon::outbox::Outbox;
use baton_daemon::store::Store;
use reqwest::StatusCode;
use serde_json::Value;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

/// The API token [`CONFIG`]'s server accepts.
pub const TOKEN: &str = "test-token-1";
/// A well-formed image digest for requests that need one.
pub const D: &str = "sha256:0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef";

/// Two products: `micro-gw` (chart, three environments, one image) and `images-only`.
pub const CONFIG: &str = r#"
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

/// The API router served on `127.0.0.1:0` over [`CONFIG`], with no source loops: the jobs it
/// asks for wait in [`Api::jobs`] for the test to read.
pub struct Api {
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    /// A client for [`Api::call`].
    pub http: reqwest::Client,
    /// The SQLite store behind the server.
    pub store: Store,
    /// Jobs (sync, rebuild) the API handed to the source loops.
    pub jobs: mpsc::Receiver<Job>,
    /// Stops the server.
    pub shutdown: CancellationToken,
    /// The temp folder of the store and the config; removed on drop.
    pub _dir: tempfile::TempDir,
}

impl Api {
    /// Starts the server and returns once it listens.
    pub async fn start() -> Self {
        Self::start_with("", &[TOKEN]).await
    }

    /// Starts the server over [`CONFIG`] followed by `extra` (top-level YAML keys, e.g.
    /// `api: {rights: ...}`), accepting the `api_tokens_file` lines `tokens`.
    pub async fn start_with(extra: &str, tokens: &[&str]) -> Self {
        baton_daemon::install_crypto_provider();
        let (store, dir) = super::sqlite().await;
        let file = dir.path().join("baton.yaml");
        std::fs::write(&file, format!("{CONFIG}{extra}\n")).unwrap();
        let loaded =
            baton_core::config::load_with_env(Path::new(&file), Default::default()).unwrap();
        let (tx, rx) = mpsc::channel(4);
        let state = AppState {
            config: Arc::new(loaded),
            tokens: Tokens::new(&tokens.iter().map(|t| (*t).into()).collect::<Vec<_>>()),
            outbox: Outbox::new(store.clone(), Clock::system()),
            jobs: tx,
            metrics: Default::default(),
        };
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let settings = baton_core::config::api::ApiSettings::default();
        let served = shutdown.clone();
        tokio::spawn(async move { serve(listener, router(state), &settings, served).await });
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

    /// One request; `token` as a bearer token, `body` as JSON. Returns the status and the
    /// JSON body; panics when the body is not JSON.
    pub async fn call(
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

    /// `GET path` with [`TOKEN`].
    pub async fn get(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::GET, path, Some(TOKEN), None)
            .await
    }

    /// `DELETE path` with [`TOKEN`].
    pub async fn delete(&self, path: &str) -> (StatusCode, Value) {
        self.call(reqwest::Method::DELETE, path, Some(TOKEN), None)
            .await
    }

    /// `POST path` with [`TOKEN`].
    pub async fn post(&self, path: &str, body: Option<&str>) -> (StatusCode, Value) {
        self.call(reqwest::Method::POST, path, Some(TOKEN), body)
            .await
    }
}

/// Asserts an API error: its status, its `code` and that its `detail` contains `detail`.
pub fn assert_error(got: &(StatusCode, Value), status: StatusCode, code: &str, detail: &str) {
    assert_eq!(got.0, status, "{}", got.1);
    assert_eq!(got.1["error"], code, "{}", got.1);
    let d = got.1["detail"].as_str().unwrap();
    assert!(d.contains(detail), "detail {d:?} lacks {detail:?}");
}

/// Every operation an OpenAPI document (`/openapi.json`'s JSON) lists under a path starting
/// with `prefix`: its method, its path as documented, and the path with each placeholder filled
/// with a value the test configs know (`micro-gw`, `petstore`, `dev`, record 999999, `retry`).
pub fn documented_operations(doc: &Value, prefix: &str) -> Vec<(reqwest::Method, String, String)> {
    let mut out = Vec::new();
    for (path, ops) in doc["paths"].as_object().expect("paths") {
        if !path.starts_with(prefix) {
            continue;
        }
        let concrete = path
            .replace("{product}", "micro-gw")
            .replace("{image}", "petstore")
            .replace("{env}", "dev")
            .replace("{id}", "999999")
            .replace("{op}", "retry");
        for method in ops.as_object().expect("operations").keys() {
            let m = method.to_uppercase().parse().expect("an HTTP method");
            out.push((m, path.clone(), concrete.clone()));
        }
    }
    out
}
