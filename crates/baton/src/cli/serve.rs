//! `baton serve`: the HTTP API, the outbox worker and the job intake, stopped together.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use crate::api::{self, AppState, auth::Tokens};
use crate::clock::Clock;
use crate::config::{self, secrets::Secrets};
use crate::jobs::{self, Job};
use crate::outbox::Outbox;
use crate::outbox::deliverers::Deliverers;
use crate::outbox::worker::{Worker, WorkerSettings};
use crate::store::events::Correlation;
use crate::store::{Store, redact};

pub(super) async fn run(config_file: &Path, drain: Duration) -> anyhow::Result<()> {
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
    let promoter = match &c.spinnaker {
        Some(sp) => {
            let gate = crate::promote::gate::client(sp, secrets.gate.as_ref())?;
            Some(Arc::new(
                crate::promote::Promoter::new(gate, store.clone(), clock, Arc::new(loaded.clone()))
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
    let state = AppState {
        config: Arc::new(loaded.clone()),
        tokens: Tokens::new(&secrets.api_tokens),
        outbox: outbox.clone(),
        jobs: jobs_tx,
        metrics: metrics.clone(),
    };

    let tracker = TaskTracker::new();
    let mut router = api::router(state);
    if let Some(p) = &promoter {
        router = router.layer(axum::Extension(p.clone()));
        tracker.spawn(
            p.clone()
                .watch_pending(Duration::from_secs(30), shutdown.clone()),
        );
    }
    let api_shutdown = shutdown.clone();
    tracker.spawn(async move {
        if let Err(e) = api::serve(listener, router, api_shutdown.clone()).await {
            tracing::error!(error = %e, "HTTP server failed; shutting down");
            api_shutdown.cancel();
        }
    });
    tracker.spawn(
        Worker::new(&outbox, deliverers, settings)
            .with_metrics(metrics)
            .run(shutdown.clone()),
    );
    tracker.spawn(intake(jobs_rx, store.clone(), shutdown.clone()));
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

/// Takes requested jobs off the channel. The chart sync and rebuild jobs are not in this
/// build yet: each request is marked on its event so `baton events` shows it was not run.
async fn intake(mut rx: mpsc::Receiver<Job>, store: Store, shutdown: CancellationToken) {
    loop {
        let job = tokio::select! {
            _ = shutdown.cancelled() => return,
            job = rx.recv() => match job { Some(job) => job, None => return },
        };
        tracing::warn!(?job, "no job runner for this request in this build");
        let note = Correlation {
            detail: Some("not run: this build has no chart sync / rebuild job yet".into()),
            ..Default::default()
        };
        if let Err(e) = store.correlate(job.event_id(), &note).await {
            tracing::warn!(error = %e, "cannot mark the event");
        }
    }
}
