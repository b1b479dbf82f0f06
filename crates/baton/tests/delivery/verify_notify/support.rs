//! What the notification tests share: a local receiver that records every request and
//! answers 500 to the first request of each path (so each target's first notification is
//! retried), 200 after; and the daemon config each test varies ([`Setup`]).

use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};

use serde_json::Value;

use super::APP;
use baton_harness::flow::TOKEN;

/// A notification receiver: records every request (path, status answered, JSON body) and
/// answers 500 to the first request of each path, 200 after.
#[derive(Clone, Default)]
pub struct Receiver(Arc<Mutex<Vec<(String, u16, Value)>>>);

impl Receiver {
    pub async fn start(&self) -> String {
        let me = self.clone();
        let app = axum::Router::new().route(
            "/{hook}",
            axum::routing::post(
                move |axum::extract::Path(hook): axum::extract::Path<String>,
                      axum::Json(body): axum::Json<Value>| {
                    let me = me.clone();
                    async move {
                        let mut seen = me.0.lock().unwrap();
                        let first = !seen.iter().any(|(p, _, _)| *p == hook);
                        let status = if first { 500 } else { 200 };
                        seen.push((hook, status, body));
                        axum::http::StatusCode::from_u16(status).unwrap()
                    }
                },
            ),
        );
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(l, app).await });
        url
    }

    pub fn of(&self, hook: &str) -> Vec<(u16, Value)> {
        let seen = self.0.lock().unwrap();
        seen.iter()
            .filter(|(p, _, _)| p == hook)
            .map(|(_, s, b)| (*s, b.clone()))
            .collect()
    }
}

/// What a test's config varies; [`Setup::new`] is the delivery tests' one-environment product
/// with an image and no Jenkins or Spinnaker behind it.
pub struct Setup<'a> {
    /// Gate's URL.
    pub gate: &'a str,
    /// Keys added to `spinnaker:` (starting with `, `).
    pub spinnaker: &'a str,
    /// Top-level YAML (`notifications:`, `registries:`, ...).
    pub top: &'a str,
    /// Jenkins' URL.
    pub jenkins: &'a str,
    /// The product's `environments:` list.
    pub environments: &'a str,
    /// The image's base.
    pub base: &'a str,
    /// YAML added to the product (four spaces in).
    pub product: &'a str,
}

impl Setup<'_> {
    /// The delivery tests' setup.
    pub fn new() -> Self {
        Setup {
            gate: "http://127.0.0.1:9",
            spinnaker: "",
            top: "",
            jenkins: "http://127.0.0.1:9",
            environments: "[dev]",
            base: "docker.wso2.com/wso2micro-gw:3.0.1",
            product: "",
        }
    }
}

/// Writes the config of `s` (API caller `alice`) and its secrets into `dir`.
pub fn config(dir: &Path, s: &Setup<'_>) -> PathBuf {
    std::fs::write(dir.join("api-tokens"), format!("alice:{TOKEN}\n")).unwrap();
    std::fs::write(dir.join("jenkins-token"), "jenkins-api-token\n").unwrap();
    let file = dir.join("baton.yaml");
    std::fs::write(
        &file,
        format!(
            r#"
state: "sqlite://{state}"
listen: 127.0.0.1:0
api_tokens_file: api-tokens
jenkins: {{url: "{jenkins}", user: baton, token_file: jenkins-token}}
spinnaker: {{gate_url: "{gate}"{spinnaker}}}
outbox: {{initial_delay: 100ms, max_delay: 500ms, jitter: none}}
{top}
products:
  - name: {APP}
    environments: {environments}
    images:
      - name: petstore
        base: "{base}"
        target: registry.internal:5000/acme/petstore
        jenkins_job: micro-gw/petstore-image
{product}
"#,
            state = dir.join("baton.db").display(),
            jenkins = s.jenkins,
            gate = s.gate,
            spinnaker = s.spinnaker,
            top = s.top,
            environments = s.environments,
            base = s.base,
            product = s.product,
        ),
    )
    .unwrap();
    file
}
