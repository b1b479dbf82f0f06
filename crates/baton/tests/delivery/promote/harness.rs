//! The Spinnaker stand-in with baton-shaped pipelines, a SQLite store and the API (with a
//! promoter) over real sockets.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use baton_core::wire::{ChartArtifact, ChartEvent, chart_event};
use baton_daemon::api::{AppState, auth::Tokens, router, serve};
use baton_daemon::clock::Clock;
use baton_daemon::outbox::Outbox;
use baton_daemon::promote::Promoter;
use baton_daemon::store::Store;
use baton_daemon::store::events::{Correlation, Event, new_event_id};
use reqwest::StatusCode;
use serde_json::Value;
use spinnaker_client::Client;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use spinnaker_client::model::pipeline::PipelineConfig;
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
    pub metrics: Arc<baton_daemon::metrics::Metrics>,
    pub url: String,
    pub http: reqwest::Client,
    /// The config file the promoter was built from.
    pub config_file: std::path::PathBuf,
    shutdown: CancellationToken,
    _dir: tempfile::TempDir,
}

impl Drop for Stand {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}

fn config(gate_url: &str, supersede: bool, product_extra: &str) -> String {
    format!(
        r#"
spinnaker: {{gate_url: "{gate_url}", supersede_waiting: {supersede}}}
products:
  - name: micro-gw
    environments: [dev, staging, prod]
    chart: {{repository: "https://helm.example.com", name: microgateway, version: "3.0.1-1"}}
    chart_source: {{git: "https://git.example.com/c.git"}}
{product_extra}
"#
    )
}

/// baton-shaped deploy pipelines: dev deploys at once, staging and prod wait for a judgment.
pub fn chart_pipelines() -> Vec<PipelineConfig> {
    [("dev", false), ("staging", true), ("prod", true)]
        .into_iter()
        .map(|(env, judgment)| deploy_pipeline(APP, env, "microgateway", "chart", judgment))
        .collect()
}

impl Stand {
    /// The stand-in with testkit's sample pipelines.
    pub async fn start(supersede: bool) -> Self {
        Self::with(chart_pipelines(), supersede, "").await
    }

    /// The stand-in with the pipelines `baton pipelines render` writes for this config (each
    /// ends with its verification stage).
    pub async fn start_rendered() -> Self {
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("baton.yaml");
        std::fs::write(&file, config("http://127.0.0.1:9", true, "")).unwrap();
        let loaded =
            baton_core::config::load_with_env(Path::new(&file), Default::default()).unwrap();
        let apps = baton_core::pipelines::render(&loaded.config).unwrap();
        let pipelines = apps.into_iter().flat_map(|a| a.pipelines).collect();
        Self::with(pipelines, true, "").await
    }

    /// The stand-in with `pipelines`; `product_extra` is YAML added to the product (indented
    /// four spaces).
    pub async fn with(
        pipelines: Vec<PipelineConfig>,
        supersede: bool,
        product_extra: &str,
    ) -> Self {
        baton_daemon::install_crypto_provider();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let mut builder = FakeSpinnaker::builder()
            .match_delay(Duration::from_millis(20))
            .stage_duration(Duration::from_millis(20));
        for p in pipelines {
            builder = builder.pipeline(p);
        }
        let fake = builder.start(listener).await.unwrap();
        let (store, dir) = baton_harness::common::sqlite().await;
        let file = dir.path().join("baton.yaml");
        std::fs::write(&file, config(fake.url(), supersede, product_extra)).unwrap();
        let loaded = Arc::new(
            baton_core::config::load_with_env(Path::new(&file), Default::default()).unwrap(),
        );
        let sp = loaded.config.spinnaker.clone().unwrap();
        let gate = baton_daemon::promote::gate::client(&sp, None).unwrap();
        let metrics = Arc::new(baton_daemon::metrics::Metrics::default());
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
                &baton_core::config::api::ApiSettings::default(),
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
            config_file: file,
            shutdown,
            _dir: dir,
        }
    }

    /// Asserts that execution `id` ended CANCELED with a reason naming baton event `by`.
    /// Waits until execution `id` finished with `status`; asserts that its manual judgment
    /// was `judgment` (`continue`, `stop`) with `input`.
    pub async fn assert_judged(
        &self,
        id: &str,
        status: ExecutionStatus,
        judgment: &str,
        input: &str,
    ) {
        let done = self.finished(id).await;
        assert_eq!(done.status, status);
        let judged = done
            .stages
            .iter()
            .find(|st| st.stage_type == "manualJudgment")
            .expect("a manualJudgment stage");
        assert_eq!(judged.context.judgment_status.as_deref(), Some(judgment));
        assert_eq!(judged.context.judgment_input.as_deref(), Some(input));
    }

    pub async fn assert_cancelled_by(&self, id: &str, by: &str) {
        let cancelled = self.finished(id).await;
        assert_eq!(
            cancelled.status,
            spinnaker_client::model::execution::ExecutionStatus::Canceled
        );
        let reason = cancelled.cancellation_reason.as_deref().unwrap_or("");
        assert!(reason.contains(by), "{cancelled:?}");
    }

    /// Supersedes what waits for a judgment in `envs` of [`APP`], for the event `deliver`
    /// returned (`baton_event`, `echo_event`), as the deliverer does after a chart event.
    pub async fn supersede(
        &self,
        envs: &[&str],
        baton_event: &str,
        echo_event: &str,
    ) -> Vec<baton_daemon::promote::Superseded> {
        let new = baton_daemon::promote::NewEvent {
            baton_event,
            echo_event: Some(echo_event),
        };
        self.promoter
            .supersede_for_event(APP, envs, new)
            .await
            .unwrap()
    }

    /// What the chart deliverer does: records a chart event, posts it to Echo and correlates
    /// Echo's event id. Returns (baton event id, Echo event id).
    pub async fn deliver(&self, envs: &[&str], values: &str) -> (String, String) {
        let values: Vec<_> = envs.iter().map(|e| (*e, values.to_owned())).collect();
        self.deliver_chart(envs, "3.0.1-1", "H4tjaGFydC0zLjAuMS0x", values)
            .await
    }

    /// Delivers the chart [`Stand::deliver`] sends to dev alone and waits until dev
    /// succeeded with it, so the rule by artifact lets staging have it.
    pub async fn dev_ran_the_chart(&self) {
        let (_, echo) = self.deliver(&["dev"], "cmVwbGljYXM6IDAK").await;
        let dev = self.execution_of(&echo, "dev").await;
        assert_eq!(
            self.finished(&dev.id).await.status,
            ExecutionStatus::Succeeded
        );
    }

    /// [`Stand::deliver`] of chart `version` with `.tgz` bytes `tgz_b64` and `values`
    /// (environment, base64) as baton sends them: the values of every environment.
    pub async fn deliver_chart(
        &self,
        envs: &[&str],
        version: &str,
        tgz_b64: &str,
        values: Vec<(&str, String)>,
    ) -> (String, String) {
        let id = self.record("chart", Correlation::default()).await;
        let body = chart_event(&ChartEvent {
            product: APP,
            commit: "0123abc",
            chart: "microgateway",
            version,
            artifact: ChartArtifact::Embedded { base64: tgz_b64 },
            environments: envs.to_vec(),
            values,
            event_id: &id,
        });
        self.post("chart", &id, &body).await
    }

    /// Posts `body` to webhook `source` and correlates Echo's id with baton event `id`;
    /// returns (baton event id, Echo event id).
    pub async fn post(&self, source: &str, id: &str, body: &Value) -> (String, String) {
        let echo = self.gate.post_webhook(source, body).await.unwrap();
        let c = Correlation {
            spinnaker_event_id: Some(echo.clone()),
            ..Default::default()
        };
        self.store.correlate(id, &c).await.unwrap();
        (id.to_owned(), echo)
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
        self.execution_of_pipeline(echo, &format!("{APP}-deploy-{env}"))
            .await
    }

    /// The execution of pipeline `name` started by Echo event `echo` (waits for it).
    pub async fn execution_of_pipeline(&self, echo: &str, name: &str) -> Execution {
        let deadline = tokio::time::Instant::now() + WAIT;
        loop {
            let found = self.gate.find_executions_by_event(APP, echo).await.unwrap();
            if let Some(x) = found.into_iter().find(|x| x.name.as_deref() == Some(name)) {
                return self.gate.execution(&x.id).await.unwrap();
            }
            assert!(
                tokio::time::Instant::now() < deadline,
                "no {name} for {echo}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// The execution of `<app>-deploy-<env>` started by Echo event `echo`, once it waits for
    /// its judgment (as [`Stand::waiting`] checks).
    pub async fn waiting_in(&self, echo: &str, env: &str) -> Execution {
        let x = self.execution_of(echo, env).await;
        self.waiting(&x.id).await;
        x
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

    /// The product's events of `kind`, newest first.
    pub async fn events_of(&self, kind: &str) -> Vec<Event> {
        let events = self.store.events(Some(APP), 50).await.unwrap();
        events.into_iter().filter(|e| e.kind == kind).collect()
    }

    /// The product's newest event of `kind`.
    pub async fn newest(&self, kind: &str) -> Event {
        let events = self.events_of(kind).await;
        events
            .into_iter()
            .next()
            .unwrap_or_else(|| panic!("no {kind} event"))
    }

    /// Runs the `baton` binary against this API and expects success: its standard output.
    pub async fn cli_ok(&self, args: &[&str]) -> String {
        let out = self.cli(args).await;
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(out.status.success(), "baton {args:?}: {stdout}{stderr}");
        stdout
    }

    /// Runs the `baton` binary against this API and expects it to fail: its standard error.
    pub async fn cli_err(&self, args: &[&str]) -> String {
        let out = self.cli(args).await;
        assert!(!out.status.success(), "baton {args:?} succeeded");
        String::from_utf8_lossy(&out.stderr).into_owned()
    }
}
