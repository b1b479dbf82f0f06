//! Starting the source loops of a config and routing work to them: manual syncs and webhook
//! check requests go to the loop that owns the source (one check at a time per source and
//! git cache); manual rebuilds run at once. Base-image checks run from one scheduler per cron
//! expression ([`super::cron_group`]), not a loop each.

use std::collections::{HashMap, HashSet};
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;

use baton_sources::git::GitWatch;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tokio_util::task::TaskTracker;

use super::Job;
use super::chart::{ChartSync, ChartTrigger, Pushed, chart_source_id};
use super::context::JobContext;
use super::cron_group::{Group, run_group};
use super::image::{ImageJob, artifact_id, base_id};
use super::schedule::{CheckLimit, LoopSettings, Schedule, run_loop};
use crate::hooks::{CheckRequest, WatchTable};
use crate::store::events::Correlation;

/// Capacity of each loop's trigger channel; a full channel already has a check coming.
const TRIGGERS: usize = 8;

/// Where to send work for each source.
#[derive(Debug, Clone, Default)]
pub struct Triggers {
    charts: HashMap<String, mpsc::Sender<ChartTrigger>>,
    checks: HashMap<String, mpsc::Sender<()>>,
    watches: Vec<(String, String, String)>,
}

impl Triggers {
    /// The webhook watch table: each chart source and artifact source, by repository and branch.
    pub fn watch_table(&self) -> WatchTable {
        WatchTable::new(self.watches.clone())
    }

    /// Asks the loop of the pushed source to check now (a chart source at the pushed
    /// commit); `false` if no loop has that id.
    pub fn check_now(&self, req: &CheckRequest) -> bool {
        let source = req.source.0.as_str();
        if let Some(tx) = self
            .charts
            .get(source.strip_prefix("chart-source:").unwrap_or("\0"))
        {
            let _ = tx.try_send(ChartTrigger::Hook(Pushed {
                delivery_id: req.delivery_id.clone(),
                after: req.after.clone(),
                before: req.before.clone(),
                changed: req.changed.clone(),
            }));
            return true;
        }
        if let Some(tx) = self.checks.get(source) {
            let _ = tx.try_send(());
            return true;
        }
        false
    }
}

/// A source loop, built and not yet running.
type Loop = Pin<Box<dyn Future<Output = ()> + Send>>;

/// Every source loop of a config, built (so a bad source is an error before anything runs)
/// but not started: the daemon starts its HTTP API first, so that `/readyz` answers at once
/// instead of after the first polls of 10,000 loops.
pub struct Sources {
    triggers: Triggers,
    loops: Vec<Loop>,
}

impl Sources {
    /// Where to send work for each source (valid before and after [`Sources::spawn`]).
    pub fn triggers(&self) -> &Triggers {
        &self.triggers
    }

    /// Starts every loop on `tracker`.
    pub fn spawn(self, tracker: &TaskTracker) -> Triggers {
        for l in self.loops {
            tracker.spawn(l);
        }
        self.triggers
    }
}

/// Builds every source loop of the config; they stop on `shutdown` once spawned. `failing`:
/// the sources with an error recorded in the store ([`crate::store::Store::failing_sources`]).
pub fn sources(
    ctx: &JobContext,
    failing: &HashSet<String>,
    shutdown: &CancellationToken,
) -> anyhow::Result<Sources> {
    let mut t = Triggers::default();
    let mut loops: Vec<Loop> = Vec::new();
    let limit = CheckLimit::default();
    let settings = |source: String, schedule: Schedule| LoopSettings {
        recorded_error: failing.contains(&source),
        source: source.into(),
        schedule,
        clock: ctx.clock(),
        metrics: ctx.metrics.clone(),
        store: Some(ctx.store().clone()),
        turns: ctx.turns.clone(),
        limit: Some(limit.clone()),
    };
    // One context for every loop: a loop keeps its closure (and so what it captured) for as
    // long as it lives, 10,000 times over.
    let shared = Arc::new(ctx.clone());
    // The base-image checks, by cron expression: one scheduler task each (cron_group).
    let mut crons: HashMap<&str, CronMembers> = HashMap::new();
    for (pi, p) in ctx.config.config.products.iter().enumerate() {
        if let (Some(sync), Some(cs)) = (ChartSync::new(ctx, p)?, &p.chart_source) {
            let (tx, rx) = mpsc::channel(TRIGGERS);
            let id = chart_source_id(&p.name);
            t.charts.insert(p.name.clone(), tx);
            t.watches
                .push((id.clone(), cs.git.to_string(), cs.branch.clone()));
            let (ctx2, sync) = (shared.clone(), Arc::new(sync));
            loops.push(Box::pin(run_loop(
                settings(id, Schedule::Every(cs.poll)),
                rx,
                shutdown.clone(),
                move |trigger| {
                    let (ctx, sync) = (ctx2.clone(), sync.clone());
                    async move {
                        let trigger = trigger.unwrap_or(ChartTrigger::Poll);
                        let r = sync.run(&ctx, &trigger).await;
                        if let (Err(e), ChartTrigger::Manual { event_id, .. }) = (&r, &trigger) {
                            fail(&ctx, event_id, &format!("sync failed: {e:#}")).await;
                        }
                        r.map(|d| d.outcome())
                    }
                },
            )));
        }
        for (ii, img) in p.images.iter().enumerate() {
            // One per image, shared by its loops; it points into the shared config.
            let job = Arc::new(ImageJob::new(ctx.config.clone(), pi, ii)?);
            if let Some(check) = &img.check {
                let id = base_id(&p.name, &img.name);
                let group = crons.entry(check.as_str()).or_insert_with(|| CronMembers {
                    cron: check.pattern().clone(),
                    sources: Vec::new(),
                    jobs: Vec::new(),
                });
                group.sources.push((id.clone(), failing.contains(&id)));
                group.jobs.push(job.clone());
            }
            if let Some(a) = &img.artifact_source {
                let id = artifact_id(&p.name, &img.name);
                let watch = Arc::new(GitWatch {
                    url: a.git.to_string(),
                    branch: a.branch.clone(),
                    files: Vec::new(),
                    cache_dir: ctx.git_cache(&id),
                });
                let git = Arc::new(ctx.git_for(a.git.as_str())?);
                let (tx, rx) = mpsc::channel::<()>(TRIGGERS);
                t.checks.insert(id.clone(), tx);
                t.watches
                    .push((id.clone(), a.git.to_string(), a.branch.clone()));
                let (ctx2, job) = (shared.clone(), job.clone());
                loops.push(Box::pin(run_loop(
                    settings(id, Schedule::Every(a.poll)),
                    rx,
                    shutdown.clone(),
                    move |_| {
                        let (ctx, job, watch, git) =
                            (ctx2.clone(), job.clone(), watch.clone(), git.clone());
                        async move {
                            job.check_artifact(&ctx, &watch, &git)
                                .await
                                .map(|d| d.outcome())
                        }
                    },
                )));
            }
        }
    }
    for (
        _,
        CronMembers {
            cron,
            sources,
            jobs,
        },
    ) in crons
    {
        let group = Group {
            schedule: Schedule::Cron(cron),
            clock: ctx.clock(),
            metrics: ctx.metrics.clone(),
            store: Some(ctx.store().clone()),
            turns: ctx.turns.clone(),
            limit: limit.clone(),
        };
        let ctx = shared.clone();
        loops.push(Box::pin(run_group(
            group,
            sources,
            shutdown.clone(),
            move |i| {
                let (ctx, job) = (ctx.clone(), jobs[i].clone());
                async move { job.check_base(&ctx).await.map(|d| d.outcome()) }
            },
        )));
    }
    Ok(Sources { triggers: t, loops })
}

/// The base images checked on one cron expression.
struct CronMembers {
    cron: Arc<croner::Cron>,
    /// Source id and whether the store holds an error of it.
    sources: Vec<(String, bool)>,
    /// The image job of each source, in the same order.
    jobs: Vec<Arc<ImageJob>>,
}

/// The source ids of a product's loops (chart source, base images, artifact sources).
pub fn source_ids(p: &baton_core::config::model::Product) -> Vec<String> {
    let mut ids = Vec::new();
    if p.chart.is_some() && p.chart_source.is_some() {
        ids.push(chart_source_id(&p.name));
    }
    for img in &p.images {
        if img.check.is_some() {
            ids.push(base_id(&p.name, &img.name));
        }
        if img.artifact_source.is_some() {
            ids.push(artifact_id(&p.name, &img.name));
        }
    }
    ids
}

async fn fail(ctx: &JobContext, event_id: &str, detail: &str) {
    let c = Correlation {
        detail: Some(detail.to_owned()),
        ..Default::default()
    };
    if let Err(e) = ctx.store().correlate(event_id, &c).await {
        tracing::warn!(event_id, "cannot mark the event: {e}");
    }
}

/// Takes API jobs and webhook check requests until `shutdown`: syncs go to the product's chart
/// loop, rebuilds run at once (tracked), check requests wake the named source's loop.
pub async fn intake(
    ctx: JobContext,
    triggers: Triggers,
    mut jobs: mpsc::Receiver<Job>,
    mut checks: mpsc::Receiver<CheckRequest>,
    tracker: TaskTracker,
    shutdown: CancellationToken,
) {
    let mut checks_open = true;
    loop {
        tokio::select! {
            _ = shutdown.cancelled() => return,
            req = checks.recv(), if checks_open => match req {
                Some(req) => {
                    tracing::info!(source = %req.source, delivery = %req.delivery_id, "push webhook: checking now");
                    if !triggers.check_now(&req) {
                        tracing::warn!(source = %req.source, "push webhook names a source with no loop");
                    }
                }
                None => checks_open = false,
            },
            job = jobs.recv() => match job {
                None => return,
                Some(Job::Sync { product, commit, force, event_id, verdict }) => {
                    let sent = match triggers.charts.get(&product) {
                        Some(tx) => tx.try_send(ChartTrigger::Manual { force, commit, event_id: event_id.clone(), verdict })
                            .map_err(|_| "the chart loop is busy or stopped; retry shortly"),
                        None => Err("the product has no chart_source to sync from"),
                    };
                    if let Err(why) = sent {
                        fail(&ctx, &event_id, &format!("not run: {why}")).await;
                    }
                }
                Some(Job::Rebuild { product, image, event_id }) => {
                    // Rare: the job is made from the config for the request, not kept per image.
                    match ImageJob::find(&ctx.config, &product, &image) {
                        Some(Ok(job)) => {
                            let ctx = ctx.clone();
                            tracker.spawn(async move {
                                if let Err(e) = job.manual(&ctx, &event_id).await {
                                    tracing::warn!(image = %job.name(), "manual rebuild failed: {e:#}");
                                    fail(&ctx, &event_id, &format!("rebuild failed: {e:#}")).await;
                                }
                            });
                        }
                        Some(Err(e)) => fail(&ctx, &event_id, &format!("not run: {e:#}")).await,
                        None => fail(&ctx, &event_id, "not run: no such image in the config").await,
                    }
                }
            }
        }
    }
}
