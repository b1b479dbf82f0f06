//! The Spinnaker stand-in with baton-shaped pipelines, a SQLite store and the API (with a
//! promoter) over real sockets.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton::api::{AppState, auth::Tokens, router, serve};
use baton::clock::Clock;
use baton::outbox::Outbox;
use baton::promote::Promoter;
use baton::store::Store;
use baton::store::events::{Correlation, Event, new_event_id};
use baton::wire::{ChartArtifact, ChartEvent, chart_event};
use reqwest::StatusCode;
use serde_json::Value;
use spinnaker_client::Client;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use testkit::spinnaker::FakeSpinnaker;
use testkit::spinnaker::sample::deploy_pipeline;
use tokio_util::sync::CancellationToken;

pub const APP: &str = "micro-gw";
/// `alice:<token>` in the tokens file: the caller is recorded as alice.
pub const TOKEN: &str = "alice-token-0123456789";
pub const WAIT: Duration = Duration::from_secs(10);
pub const POLL: Duration = Duration::from_millis(20);

pub struct Stand {
    pub fake: FakeSpinnaker,
    pub gate: Client,
    pub store: Store,
    pub promoter: Arc<Promoter>,
    pub metrics: Arc<baton::metrics::Metrics>,
    pub url: String,
    pub http: reqwest::Client,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Stand {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn config(gate_url: &str, supersede: bool) -> String {
    format!(
        r#"
spinnaker: {{gate_url: "{gate_url}", supersede_waiting: {supersede}}}
products:
  - name: micro-gw
    environments: [dev, staging, prod]
    chart: {{repository: "https://helm.example.com", name: microgateway, version: "3.0.1-1"}}
    chart_source: {{git: "https://git.example.com/c.git"}}
"#
    )
}

impl Stand {
    /// The stand-in with testkit's sample pipelines.
    pub async fn start(supersede: bool) -> Self {
        let pipelines = [("dev", false), ("staging", true), ("prod", true)]
            .into_iter()
            .map(|(env, judgment)| deploy_pipeline(APP, env, "microgateway", "chart", judgment))
            .collect();
        Self::start_with(supersede, pipelines).await
    }

    /// The stand-in with the pipelines `baton pipelines render` writes for this config (each
    /// ends with its verification stage).
    pub async fn start_rendered() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("baton.yaml");
        std::fs::write(&file, config("http://127.0.0.1:9", true)).unwrap();
        let loaded = baton::config::load_with_env(Path::new(&file), Default::default()).unwrap();
        let apps = baton::pipelines::render(&loaded.config).unwrap();
        let pipelines = apps.into_iter().flat_map(|a| a.pipelines).collect();
        Self::start_with(true, pipelines).await
    }

    async fn start_with(
        supersede: bool,
        pipelines: Vec<spinnaker_client::model::pipeline::PipelineConfig>,
    ) -> Self {
        baton::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut builder = FakeSpinnaker::builder()
            .match_delay(Duration::from_millis(20))
            .stage_duration(Duration::from_millis(20));
        for p in pipelines {
            builder = builder.pipeline(p);
        }
        let fake = builder.start(listener).await.unwrap();
        let (store, dir) = crate::common::sqlite().await;
        let file = dir.path().join("baton.yaml");
        std::fs::write(&file, config(fake.url(), supersede)).unwrap();
        let loaded =
            Arc::new(baton::config::load_with_env(Path::new(&file), Default::default()).unwrap());
        let sp = loaded.config.spinnaker.clone().unwrap();
        let gate = baton::promote::gate::client(&sp, None).unwrap();
        let metrics = Arc::new(baton::metrics::Metrics::default());
        let promoter = Arc::new(
            Promoter::new(gate.clone(), store.clone(), Clock::system(), loaded.clone())
                .with_metrics(metrics.clone()),
        );
        let (tx, _rx) = tokio::sync::mpsc::channel(4);
        let state = AppState {
            config: loaded,
            tokens: Tokens::new(&[format!("alice:{TOKEN}").into()]),
            outbox: Outbox::new(store.clone(), Clock::system()),
            jobs: tx,
            metrics: metrics.clone(),
        };
        let api = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", api.local_addr().unwrap());
        let shutdown = CancellationToken::new();
        let app = router(state).layer(axum::Extension(promoter.clone()));
        let served = shutdown.clone();
        tokio::spawn(async move {
            serve(
                api,
                app,
                &baton::config::api::ApiSettings::default(),
                served,
            )
            .await
        });
        Self {
            fake,
            gate,
            store,
            promoter,
            metrics,
            url,
            http: reqwest::Client::builder().timeout(WAIT).build().unwrap(),
            shutdown,
            _dir: dir,
        }
    }

    /// What the chart deliverer does: records a chart event, posts it to Echo and correlates
    /// Echo's event id. Returns (baton event id, Echo event id).
    pub async fn deliver(&self, envs: &[&str], values: &str) -> (String, String) {
        let id = self.record("chart", Correlation::default()).await;
        let body = chart_event(&ChartEvent {
            product: APP,
            commit: "0123abc",
            chart: "microgateway",
            version: "3.0.1-1",
            artifact: ChartArtifact::Embedded {
                base64: "H4tjaGFydC0zLjAuMS0x",
            },
            environments: envs.to_vec(),
            values: envs.iter().map(|e| (*e, values.to_owned())).collect(),
            event_id: &id,
        });
        let echo = self.gate.post_webhook("chart", &body).await.unwrap();
        let c = Correlation {
            spinnaker_event_id: Some(echo.clone()),
            ..Default::default()
        };
        self.store.correlate(&id, &c).await.unwrap();
        (id, echo)
    }

    pub async fn record(&self, kind: &str, correlation: Correlation) -> String {
        let now = time::OffsetDateTime::now_utc();
        let id = new_event_id(now);
        let e = Event {
            id: id.clone(),
            product: APP.into(),
            kind: kind.into(),
            image: None,
            created_at: now,
            correlation,
        };
        self.store.insert_event(&e).await.unwrap();
        id
    }

    /// The execution of `<app>-deploy-<env>` started by Echo event `echo` (waits for it).
    pub async fn execution_of(&self, echo: &str, env: &str) -> Execution {
        let name = format!("{APP}-deploy-{env}");
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found = self.gate.find_executions_by_event(APP, echo).await.unwrap();
            if let Some(x) = found.into_iter().find(|x| x.name.as_deref() == Some(&name)) {
                return self.gate.execution(&x.id).await.unwrap();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {name} for {echo}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits until `id` waits for its judgment.
    pub async fn waiting(&self, id: &str) -> Execution {
        let x = self.gate.wait_for_judgment(id, WAIT, POLL).await.unwrap();
        assert_eq!(x.status, ExecutionStatus::Running, "{id} finished instead");
        assert!(x.pending_judgment().is_some());
        x
    }

    pub async fn finished(&self, id: &str) -> Execution {
        self.gate.wait_for_execution(id, WAIT, POLL).await.unwrap()
    }

    pub async fn promote(&self, env: &str, body: &str) -> (StatusCode, Value) {
        let resp = self
            .http
            .post(format!(
                "{}/v1/products/{APP}/environments/{env}/promote",
                self.url
            ))
            .bearer_auth(TOKEN)
            .header("content-type", "application/json")
            .body(body.to_owned())
            .send()
            .await
            .unwrap();
        let status = resp.status();
        (status, resp.json().await.unwrap())
    }

    pub async fn get(&self, path: &str) -> String {
        let resp = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(TOKEN)
            .send()
            .await
            .unwrap();
        assert!(resp.status().is_success());
        resp.text().await.unwrap()
    }

    /// Runs the `baton` binary against this API.
    pub async fn cli(&self, args: &[&str]) -> std::process::Output {
        tokio::process::Command::new(env!("CARGO_BIN_EXE_baton"))
            .args(args)
            .env("BATON_SERVER", &self.url)
            .env("BATON_TOKEN", TOKEN)
            .env_remove("BATON_CONFIG")
            .kill_on_drop(true)
            .output()
            .await
            .unwrap()
    }
}
