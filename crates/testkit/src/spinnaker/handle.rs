//! Starting, observing, steering and stopping the stand-in.

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spinnaker_client::model::execution::Execution;
use spinnaker_client::model::pipeline::PipelineConfig;
use tokio::net::TcpListener;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::state::{Bake, Deployment, FailRule, Fault, GateAuth, RecordedRequest, Settings, State};

/// Echo's default `front50.polling-interval-ms` (`PipelineCache`).
pub const DEFAULT_CACHE_REFRESH: Duration = Duration::from_secs(30);

/// Configures a [`FakeSpinnaker`].
#[derive(Debug, Default)]
pub struct FakeSpinnakerBuilder {
    applications: Vec<String>,
    pipelines: Vec<PipelineConfig>,
    match_delay: Duration,
    cache_refresh: Option<Duration>,
    stage_duration: Duration,
    manual_clock: bool,
    auth: GateAuth,
    webhook_auth: bool,
    namespaces: BTreeMap<String, String>,
    tls: Option<super::TlsSettings>,
}

impl FakeSpinnakerBuilder {
    /// Registers an application (applications of stored pipelines are registered anyway).
    pub fn application(mut self, name: &str) -> Self {
        self.applications.push(name.to_owned());
        self
    }

    /// Stores a pipeline config (as if saved through front50).
    pub fn pipeline(mut self, config: PipelineConfig) -> Self {
        self.pipelines.push(config);
        self
    }

    /// Loads a JSON file holding one pipeline config or a list of them.
    pub fn pipelines_from_file(mut self, path: &Path) -> Result<Self, String> {
        let bytes = std::fs::read(path).map_err(|e| format!("{}: {e}", path.display()))?;
        let what = path.display().to_string();
        let value: serde_json::Value =
            spinnaker_client::model::decode(&what, &bytes).map_err(|e| baton_http::chain(&e))?;
        let list = if value.is_array() {
            value
        } else {
            serde_json::Value::Array(vec![value])
        };
        let configs: Vec<PipelineConfig> =
            spinnaker_client::model::decode(&what, list.to_string().as_bytes())
                .map_err(|e| baton_http::chain(&e))?;
        self.pipelines.extend(configs);
        Ok(self)
    }

    /// Time between accepting a webhook and matching it (Echo handles events asynchronously after the 200; its pipeline cache is [`FakeSpinnakerBuilder::cache_refresh`]). Default 0.
    pub fn match_delay(mut self, d: Duration) -> Self {
        self.match_delay = d;
        self
    }

    /// How often Echo's pipeline cache polls front50 (`front50.polling-interval-ms`). Default
    /// 30 s as in Echo: a pipeline saved through Gate after the last poll is not matched yet,
    /// or is matched (and run) in its previous version. Pipelines given to the builder are in
    /// the first poll. `Duration::ZERO` makes every event see front50 as it is.
    pub fn cache_refresh(mut self, d: Duration) -> Self {
        self.cache_refresh = Some(d);
        self
    }

    /// Require authentication for `POST /webhooks/...` too (Gate's
    /// `security.webhooks.default-auth-enabled: true`). Default: webhooks are open.
    pub fn webhook_auth(mut self, required: bool) -> Self {
        self.webhook_auth = required;
        self
    }

    /// How long bake, deploy and other non-judgment stages run. Default 0.
    pub fn stage_duration(mut self, d: Duration) -> Self {
        self.stage_duration = d;
        self
    }

    /// Time moves only through [`FakeSpinnaker::advance`] (default: it follows the wall clock).
    pub fn manual_clock(mut self) -> Self {
        self.manual_clock = true;
        self
    }

    /// Authentication Gate requires. Default none.
    pub fn auth(mut self, auth: GateAuth) -> Self {
        self.auth = auth;
        self
    }

    /// The namespace a deploy to `account` uses without `namespaceOverride` (else `default`).
    pub fn account_namespace(mut self, account: &str, namespace: &str) -> Self {
        self.namespaces.insert(account.into(), namespace.into());
        self
    }

    /// Serves HTTPS (and, with a client CA, requires client certificates) instead of HTTP.
    pub fn tls(mut self, tls: super::TlsSettings) -> Self {
        self.tls = Some(tls);
        self
    }

    /// Serves on `listener` until [`FakeSpinnaker::shutdown`] or drop.
    pub async fn start(self, listener: TcpListener) -> std::io::Result<FakeSpinnaker> {
        let addr = listener.local_addr()?;
        let settings = Settings {
            match_delay: self.match_delay,
            cache_refresh: self.cache_refresh.unwrap_or(DEFAULT_CACHE_REFRESH),
            stage_duration: self.stage_duration,
            default_namespaces: self.namespaces,
            auth: self.auth,
            webhook_auth: self.webhook_auth,
        };
        let mut state = State::new(settings, Vec::new());
        state.applications.extend(self.applications);
        for p in self.pipelines {
            state.save_pipeline(p);
        }
        let shared = Shared(Arc::new(Mutex::new(state)));
        let cancel = CancellationToken::new();
        let offset = Arc::new(Mutex::new(Duration::ZERO));
        let app = super::routes::router(shared.clone());
        let token = cancel.clone();
        let (server, scheme) = match &self.tls {
            Some(tls) => {
                let acceptor = super::tls::acceptor(tls)?;
                let task = tokio::spawn(super::tls::serve(listener, acceptor, app, token));
                (task, "https")
            }
            None => {
                let task = tokio::spawn(async move {
                    let _ = axum::serve(listener, app)
                        .with_graceful_shutdown(token.cancelled_owned())
                        .await;
                });
                (task, "http")
            }
        };
        let mut tasks = vec![server];
        if !self.manual_clock {
            let (shared, token, offset) = (shared.clone(), cancel.clone(), offset.clone());
            tasks.push(tokio::spawn(async move {
                let started = tokio::time::Instant::now();
                let mut tick = tokio::time::interval(Duration::from_millis(5));
                loop {
                    tokio::select! {
                        _ = token.cancelled() => break,
                        _ = tick.tick() => {}
                    }
                    let extra = *offset.lock().unwrap_or_else(|p| p.into_inner());
                    let mut state = shared.lock();
                    let now = (started.elapsed() + extra).as_millis() as u64;
                    state.now_ms = state.now_ms.max(now);
                    super::orca::step(&mut state);
                }
            }));
        }
        Ok(FakeSpinnaker {
            shared,
            url: format!("{scheme}://{addr}"),
            cancel,
            tasks,
            offset,
        })
    }
}

/// A running stand-in. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeSpinnaker {
    shared: Shared,
    url: String,
    cancel: CancellationToken,
    tasks: Vec<JoinHandle<()>>,
    offset: Arc<Mutex<Duration>>,
}

impl FakeSpinnaker {
    /// Starts configuring a stand-in.
    pub fn builder() -> FakeSpinnakerBuilder {
        FakeSpinnakerBuilder::default()
    }

    /// Gate's base URL (`http://127.0.0.1:port`).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// A Gate client of this stand-in, without auth, each request bounded by 5 s.
    pub fn client(&self) -> spinnaker_client::Client {
        spinnaker_client::Client::builder(self.url())
            .timeout(Duration::from_secs(5))
            .build()
            .expect("a client of the stand-in builds")
    }

    /// Every request received, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared.lock().requests.clone()
    }

    /// Requests no route knew (answered 404); a correct client makes none.
    pub fn unexpected_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| r.unexpected)
            .collect()
    }

    /// Executions of `application`, oldest first.
    pub fn executions(&self, application: &str) -> Vec<Execution> {
        let state = self.shared.lock();
        state
            .runs
            .iter()
            .filter(|r| r.exec.application == application)
            .map(|r| r.exec.clone())
            .collect()
    }

    /// One execution by id.
    pub fn execution(&self, id: &str) -> Option<Execution> {
        let state = self.shared.lock();
        state
            .runs
            .iter()
            .find(|r| r.exec.id == id)
            .map(|r| r.exec.clone())
    }

    /// The pipeline configs stored for `application`.
    pub fn pipelines(&self, application: &str) -> Vec<PipelineConfig> {
        let state = self.shared.lock();
        state
            .pipelines
            .iter()
            .filter(|p| p.application == application)
            .cloned()
            .collect()
    }

    /// The latest deployment into `namespace` for `application`.
    pub fn deployed(&self, application: &str, namespace: &str) -> Option<Deployment> {
        let state = self.shared.lock();
        state
            .deployments
            .iter()
            .rev()
            .find(|d| d.application == application && d.namespace == namespace)
            .cloned()
    }

    /// Every deployment, oldest first.
    pub fn deployments(&self) -> Vec<Deployment> {
        self.shared.lock().deployments.clone()
    }

    /// Every bake, oldest first.
    pub fn bakes(&self) -> Vec<Bake> {
        self.shared.lock().bakes.clone()
    }

    /// Webhooks Echo accepted and then dropped whole, with what Echo threw (e.g. one artifact
    /// Jackson cannot read).
    pub fn dropped_events(&self) -> Vec<(String, String)> {
        self.shared.lock().dropped_events.clone()
    }

    /// Webhooks accepted but not matched yet.
    pub fn pending_events(&self) -> usize {
        self.shared.lock().events.len()
    }

    /// Adds a fault.
    pub fn set_fault(&self, fault: Fault) {
        self.shared.lock().faults.push(fault);
    }

    /// Removes every fault.
    pub fn clear_faults(&self) {
        self.shared.lock().faults.clear();
    }

    /// Adds a scripted stage failure.
    pub fn fail_stage(&self, rule: FailRule) {
        self.shared.lock().fail_rules.push(rule);
    }

    /// Scripts the result of Jenkins builds that `jenkins` stages run (default SUCCESS).
    pub fn jenkins_result(&self, rule: super::JenkinsRule) {
        self.shared.lock().jenkins_rules.push(rule);
    }

    /// Builds that `jenkins` stages ran, oldest first.
    pub fn jenkins_builds(&self) -> Vec<super::JenkinsBuild> {
        self.shared.lock().jenkins_builds.clone()
    }

    /// Forgets every form-login session (as when Gate's session expires).
    pub fn expire_sessions(&self) {
        self.shared.lock().sessions.clear();
    }

    /// Moves the virtual clock forward by `d` and runs everything that became due.
    pub fn advance(&self, d: Duration) {
        *self.offset.lock().unwrap_or_else(|p| p.into_inner()) += d;
        let mut state = self.shared.lock();
        state.now_ms += d.as_millis() as u64;
        super::orca::step(&mut state);
    }

    /// Runs everything due now without moving the clock.
    pub fn settle(&self) {
        self.advance(Duration::ZERO);
    }

    /// Stops the server and the clock, waiting for both.
    pub async fn shutdown(mut self) {
        self.cancel.cancel();
        for task in self.tasks.drain(..) {
            let _ = tokio::time::timeout(Duration::from_secs(5), task).await;
        }
    }
}

impl Drop for FakeSpinnaker {
    fn drop(&mut self) {
        self.cancel.cancel();
    }
}
