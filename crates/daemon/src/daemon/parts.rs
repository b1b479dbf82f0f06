//! The daemon's components, made from the config before anything runs, and the one place that
//! wires them into tasks.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{self, AppState, auth::Tokens};
use crate::clock::Clock;
use crate::hooks::{self, HooksState, SharedWatchTable, WebhookSecret};
use crate::jobs;
use crate::jobs::context::JobContext;
use crate::metrics::Metrics;
use crate::outbox::Outbox;
use crate::outbox::deliverers::Deliverers;
use crate::outbox::follow::{BuildFollower, FollowSettings};
use crate::outbox::worker::{Worker, WorkerSettings};
use crate::promote::Promoter;
use crate::store::Store;
use baton_core::config::{Loaded, secrets::Secrets};

/// Everything [`super::Daemon::run`] starts.
pub(super) struct Parts {
    pub(super) store: Store,
    pub(super) state_url: baton_core::config::types::StateUrl,
    outbox: Outbox,
    settings: WorkerSettings,
    metrics: Arc<Metrics>,
    promoter: Option<Arc<Promoter>>,
    deliverers: Deliverers,
    follower: Option<BuildFollower>,
    /// Delivery verification and notifications (issue 16 items 3, 4).
    verifier: Option<crate::outbox::verify::Verifier>,
    notifier: Option<crate::outbox::notify::Notifier>,
    ctx: JobContext,
    state: AppState,
    jobs_rx: tokio::sync::mpsc::Receiver<jobs::Job>,
    webhook_secret: Option<WebhookSecret>,
    replica: crate::ha::Replica,
    api_settings: baton_core::config::api::ApiSettings,
    /// The dashboard (`ui.enabled`), built from the lines of `api_tokens_file`.
    ui: Option<Vec<secrecy::SecretString>>,
    /// Sources with an error recorded by an earlier run (cleared by their first success).
    failing: std::collections::HashSet<String>,
}

impl Parts {
    /// Takes the config by value: it is shared (one `Arc`) by every component, not copied (a
    /// copy of a 10,000-image config is ~4.5 MB).
    pub(super) async fn build(
        loaded: Loaded,
        cache_dir: Option<PathBuf>,
        drain: Duration,
    ) -> anyhow::Result<Self> {
        let config = Arc::new(loaded);
        let shared = config.clone();
        let loaded = &*shared;
        let secrets = Secrets::load(loaded)?;
        if secrets.api_tokens.is_empty() {
            tracing::warn!("no api_tokens_file: every /v1 request will be refused");
        }
        let webhook_secret = secrets
            .webhook_secret
            .clone()
            .map(WebhookSecret::new)
            .transpose()
            .context("git.webhook_secret_file")?;
        let c = &loaded.config;
        let store = Store::open(&c.state.connect_url())
            .await
            .with_context(|| format!("opening the state store {}", c.state))?;
        let clock = Clock::system();
        let outbox = Outbox::new(store.clone(), clock.clone());
        let replica =
            crate::ha::Replica::start(&store, &c.state.connect_url(), cache_dir, &clock).await?;
        let (jobs_tx, jobs_rx) = jobs::channel();

        let mut settings = WorkerSettings::from(&c.outbox);
        settings.drain = drain;
        let metrics = Arc::new(Metrics::default());
        let promoter = match &c.spinnaker {
            Some(sp) => {
                let gate = crate::promote::gate::client(sp, secrets.gate.as_ref())?;
                Some(Arc::new(
                    Promoter::new(gate, store.clone(), clock, config.clone())
                        .with_metrics(metrics.clone()),
                ))
            }
            None => None,
        };
        let mut deliverers =
            Deliverers::from_config(loaded, &secrets, &store).map_err(anyhow::Error::msg)?;
        if let (Some(p), Some(sp)) = (&promoter, c.spinnaker.as_ref()) {
            deliverers.spinnaker = deliverers
                .spinnaker
                .take()
                .map(|d| d.with_supersede(p.clone(), &sp.webhook_source));
        }
        let (verifier, notifier) = checks(c, &outbox, &store, &mut deliverers, &promoter, &metrics);
        let verifier = verifier.map(|v| v.with_owner(replica.id()));
        let missing = deliverers.missing_kinds();
        if !missing.is_empty() {
            tracing::warn!(
                kinds = ?missing,
                "no deliverer for these outbox kinds (their config section is missing); their records stay pending"
            );
        }
        let follower = deliverers.jenkins.as_ref().map(|j| {
            BuildFollower::new(
                j.client().clone(),
                store.clone(),
                j.delivered_signal(),
                FollowSettings::default(),
            )
            .with_owner(replica.id())
        });
        let ctx = JobContext::new(
            config.clone(),
            outbox.clone(),
            metrics.clone(),
            replica.cache_dir(),
        )?;
        // Turns share scheduled checks between replicas; SQLite takes exactly one replica, so
        // there a turn would only be one more write per check.
        let ctx = match store.backend() {
            crate::store::Backend::Sqlite => ctx,
            _ => ctx.with_turns(crate::ha::turns::Turns::new(store.clone(), replica.id())),
        };
        metrics.watch_registries(ctx.registries.clone());
        let ui = c.ui.enabled.then(|| secrets.api_tokens.clone());
        let failing = store
            .failing_sources()
            .await
            .context("reading the sources' recorded errors")?;
        let state = AppState {
            config: config.clone(),
            tokens: Tokens::new(&secrets.api_tokens),
            outbox: outbox.clone(),
            jobs: jobs_tx,
            metrics: metrics.clone(),
        };
        Ok(Self {
            store,
            state_url: c.state.clone(),
            outbox,
            settings,
            metrics,
            promoter,
            deliverers,
            follower,
            verifier,
            notifier,
            ctx,
            state,
            jobs_rx,
            webhook_secret,
            replica,
            api_settings: c.api.clone(),
            ui,
            failing,
        })
    }

    /// Starts every task on a tracker; the HTTP server cancels `shutdown` when it fails.
    /// Returns the replica too: it holds this process's locks (the SQLite file, the cache
    /// folder) and must live until the tasks are drained.
    pub(super) fn spawn(
        self,
        listener: TcpListener,
        probe: Option<TcpListener>,
        shutdown: &CancellationToken,
    ) -> anyhow::Result<(TaskTracker, crate::ha::Replica)> {
        let tracker = TaskTracker::new();
        let clock = self.outbox.clock();
        crate::ha::spawn(
            &self.replica,
            &self.store,
            &clock,
            self.outbox.notifier(),
            &tracker,
            shutdown,
        );
        let sources = jobs::run::sources(&self.ctx, &self.failing, shutdown)?;
        let (checks_tx, checks_rx) = tokio::sync::mpsc::channel(64);
        if let Some(probe) = probe {
            let (state, probe_shutdown) = (self.state.clone(), shutdown.clone());
            tracker.spawn(async move {
                if let Err(e) = api::probe::serve(probe, state, probe_shutdown.clone()).await {
                    tracing::error!(error = %e, "probe listener failed; shutting down");
                    probe_shutdown.cancel();
                }
            });
        }
        let mut router = api::router(self.state.clone());
        if let Some(tokens) = &self.ui {
            let ui = crate::ui::UiState::new(self.state, self.promoter.clone(), tokens);
            tracing::info!(path = %ui.paths.home(), "dashboard at {}", ui.paths.home());
            router = router.merge(crate::ui::router(ui));
        }
        if let Some(secret) = self.webhook_secret {
            let table = SharedWatchTable::new(sources.triggers().watch_table());
            let seen = crate::store::deliveries::StoredDeliveries::new(
                self.store.clone(),
                self.outbox.clock(),
            );
            let hooks_state =
                HooksState::new(secret, table, checks_tx).with_seen_deliveries(Arc::new(seen));
            self.metrics.watch_hooks(hooks_state.counters().clone());
            router = router.merge(hooks::router(hooks_state));
            tracing::info!("push webhooks at /hooks/{{github,gitlab,gitea,bitbucket}}");
        } else {
            drop(checks_tx);
        }
        if let Some(p) = &self.promoter {
            router = router.layer(axum::Extension(p.clone()));
            tracker.spawn(
                p.clone()
                    .watch_pending(Duration::from_secs(30), shutdown.clone()),
            );
            if let Some(every) = crate::promote::deadline::check_every(&self.ctx.config.config) {
                let turns = self.ctx.turns.clone();
                tracker.spawn(p.clone().watch_deadlines(every, turns, shutdown.clone()));
            }
        }
        let api_shutdown = shutdown.clone();
        let limits = self.api_settings;
        tracker.spawn(async move {
            if let Err(e) = api::serve(listener, router, &limits, api_shutdown.clone()).await {
                tracing::error!(error = %e, "HTTP server failed; shutting down");
                api_shutdown.cancel();
            }
        });
        let mut worker = Worker::new(&self.outbox, self.deliverers, self.settings)
            .with_owner(self.replica.id())
            .with_metrics(self.metrics);
        if let Some(n) = self.notifier {
            worker = worker.with_notifier(n.clone());
            let watch = crate::outbox::notices::watch(
                n,
                self.store.clone(),
                self.promoter.clone(),
                self.ctx.config.config.notifications.check_every,
                shutdown.clone(),
            );
            tracker.spawn(watch);
        }
        tracker.spawn(worker.run(shutdown.clone()));
        if let Some(v) = self.verifier {
            tracker.spawn(v.run(shutdown.clone()));
        }
        // The source loops start after the API, so `/readyz` does not wait behind their first
        // polls (10,000 of them with 10,000 watched tags).
        let triggers = sources.spawn(&tracker);
        tracker.spawn(jobs::run::intake(
            self.ctx,
            triggers,
            self.jobs_rx,
            checks_rx,
            tracker.clone(),
            shutdown.clone(),
        ));
        if let Some(f) = self.follower {
            tracker.spawn(f.run(shutdown.clone()));
        }
        Ok((tracker, self.replica))
    }
}

/// The notifier (with `notifications.targets`) and, with a Spinnaker deliverer and Gate, the
/// delivery checks on it and the verifier that follows them.
fn checks(
    c: &baton_core::config::Config,
    outbox: &Outbox,
    store: &Store,
    deliverers: &mut Deliverers,
    promoter: &Option<Arc<Promoter>>,
    metrics: &Arc<Metrics>,
) -> (
    Option<crate::outbox::verify::Verifier>,
    Option<crate::outbox::notify::Notifier>,
) {
    use crate::outbox::verify::{DeliveryChecks, Verifier};
    let targets = &c.notifications.targets;
    let notifier = (!targets.is_empty())
        .then(|| crate::outbox::notify::Notifier::new(outbox.clone(), targets.clone()));
    let wake = Arc::new(tokio::sync::Notify::new());
    let (Some(p), Some(checks)) = (promoter, DeliveryChecks::from_config(c, wake.clone())) else {
        return (None, notifier);
    };
    deliverers.spinnaker = deliverers
        .spinnaker
        .take()
        .map(|d| d.with_checks(Arc::new(checks)));
    let mut v = Verifier::new(p.gate().clone(), store.clone(), wake).with_metrics(metrics.clone());
    if let Some(n) = &notifier {
        v = v.with_notifier(n.clone());
    }
    (Some(v), notifier)
}
