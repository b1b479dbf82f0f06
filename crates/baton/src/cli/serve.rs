//! `baton serve`: the HTTP API (with push webhooks when a secret is set), the outbox worker,
//! the source loops and the job intake, stopped together.

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{self, AppState, auth::Tokens};
use crate::clock::Clock;
use crate::config::{self, secrets::Secrets};
use crate::hooks::{self, HooksState, SharedWatchTable, WebhookSecret};
use crate::jobs;
use crate::jobs::context::{JobContext, default_cache_dir};
use crate::outbox::Outbox;
use crate::outbox::deliverers::Deliverers;
use crate::outbox::worker::{Worker, WorkerSettings};
use crate::store::{Store, redact};

pub(super) async fn run(
    config_file: &Path,
    drain: Duration,
    cache_dir: Option<PathBuf>,
) -> anyhow::Result<()> {
    let loaded = config::load(config_file)?;
    let secrets = Secrets::load(&loaded)?;
    if secrets.api_tokens.is_empty() {
        tracing::warn!("no api_tokens_file: every /v1 request will be refused");
    }
    let c = &loaded.config;
    let store = Store::open(&c.state)
        .await
        .with_context(|| format!("opening the state store {}", redact(&c.state)))?;
    let clock = Clock::system();
    let outbox = Outbox::new(store.clone(), clock.clone());
    let (jobs_tx, jobs_rx) = jobs::channel();
    let shutdown = CancellationToken::new();
    super::signals::spawn(shutdown.clone());

    let listener = tokio::net::TcpListener::bind(&c.listen)
        .await
        .with_context(|| format!("listening on {} (listen:)", c.listen))?;
    let addr = listener.local_addr()?;

    let mut settings = WorkerSettings::from(&c.outbox);
    settings.drain = drain;
    let metrics = Arc::new(crate::metrics::Metrics::default());
    let config = Arc::new(loaded.clone());
    let promoter = match &c.spinnaker {
        Some(sp) => {
            let gate = crate::promote::gate::client(sp, secrets.gate.as_ref())?;
            Some(Arc::new(
                crate::promote::Promoter::new(gate, store.clone(), clock, config.clone())
                    .with_metrics(metrics.clone()),
            ))
        }
        None => None,
    };
    let mut deliverers =
        Deliverers::from_config(&loaded, &secrets, &store).map_err(anyhow::Error::msg)?;
    if let (Some(p), Some(sp)) = (&promoter, c.spinnaker.as_ref()) {
        deliverers.spinnaker = deliverers
            .spinnaker
            .take()
            .map(|d| d.with_supersede(p.clone(), &sp.webhook_source));
    }
    let missing = deliverers.missing_kinds();
    if !missing.is_empty() {
        tracing::warn!(
            kinds = ?missing,
            "no deliverer for these outbox kinds (their config section is missing); their records stay pending"
        );
    }
    let follower = deliverers.jenkins.as_ref().map(|j| {
        crate::outbox::follow::BuildFollower::new(
            j.client().clone(),
            store.clone(),
            j.delivered_signal(),
            crate::outbox::follow::FollowSettings::default(),
        )
    });
    let ctx = JobContext::new(
        config.clone(),
        outbox.clone(),
        metrics.clone(),
        cache_dir.unwrap_or_else(|| default_cache_dir(&c.state)),
    )?;
    metrics.watch_registries(ctx.registries.clone());
    let state = AppState {
        config,
        tokens: Tokens::new(&secrets.api_tokens),
        outbox: outbox.clone(),
        jobs: jobs_tx,
        metrics: metrics.clone(),
    };

    let tracker = TaskTracker::new();
    let triggers = jobs::run::spawn_sources(&ctx, &tracker, &shutdown)?;
    let (checks_tx, checks_rx) = tokio::sync::mpsc::channel(64);
    let mut router = api::router(state);
    if let Some(secret) = secrets.webhook_secret.clone() {
        let secret = WebhookSecret::new(secret).context("git.webhook_secret_file")?;
        let table = SharedWatchTable::new(triggers.watch_table());
        let hooks_state = HooksState::new(secret, table, checks_tx).with_seen_deliveries(Arc::new(
            crate::store::deliveries::StoredDeliveries::new(store.clone(), outbox.clock()),
        ));
        metrics.watch_hooks(hooks_state.counters().clone());
        router = router.merge(hooks::router(hooks_state));
        tracing::info!("push webhooks at /hooks/{{github,gitlab,gitea,bitbucket}}");
    } else {
        drop(checks_tx);
    }
    if let Some(p) = &promoter {
        router = router.layer(axum::Extension(p.clone()));
        tracker.spawn(
            p.clone()
                .watch_pending(Duration::from_secs(30), shutdown.clone()),
        );
    }
    let api_shutdown = shutdown.clone();
    let limits = c.api.clone();
    tracker.spawn(async move {
        if let Err(e) = api::serve(listener, router, &limits, api_shutdown.clone()).await {
            tracing::error!(error = %e, "HTTP server failed; shutting down");
            api_shutdown.cancel();
        }
    });
    tracker.spawn(
        Worker::new(&outbox, deliverers, settings)
            .with_metrics(metrics)
            .run(shutdown.clone()),
    );
    tracker.spawn(jobs::run::intake(
        ctx,
        triggers,
        jobs_rx,
        checks_rx,
        tracker.clone(),
        shutdown.clone(),
    ));
    if let Some(f) = follower {
        tracker.spawn(f.run(shutdown.clone()));
    }
    tracker.close();
    tracing::info!(%addr, state = %redact(&c.state), "baton listening on {addr}");

    shutdown.cancelled().await;
    let deadline = drain + Duration::from_secs(5);
    if tokio::time::timeout(deadline, tracker.wait())
        .await
        .is_err()
    {
        tracing::warn!(
            "tasks still running after {}; exiting anyway",
            humantime::format_duration(deadline)
        );
    }
    store.close().await;
    tracing::info!("baton stopped");
    Ok(())
}
