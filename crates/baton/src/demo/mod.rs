//! `baton demo`: the whole hand-off on one machine with no external services. Starts the
//! Jenkins and Spinnaker stand-ins (testkit), a local git repository, a local Helm repository
//! and a minimal OCI registry in-process, runs the [`baton_daemon::daemon::Daemon`] on them in this
//! process (its log goes to [`logs`], printed when a step fails), then walks through a
//! values change -> dev deployed, staging waiting -> promote -> staging deployed, and a moved
//! base image -> rebuild -> image event, printing a timeline. Every wait is bounded. It prints
//! the dashboard's URL (read-only without login; the demo's token file logs in to act) and,
//! with `--keep`, keeps everything running after the walkthrough until ctrl-c.

mod daemon;
pub mod logs;
mod servers;
mod steps;

use std::future::Future;
use std::io::Write as _;
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use serde_json::Map;
use testkit::jenkins::{BuildScript, FakeJenkins, JobSpec, REBUILD_PARAMETERS, UserSpec};
use testkit::spinnaker::FakeSpinnaker;
use testkit::spinnaker::sample::deploy_pipeline;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use daemon::{Daemon, Endpoints, GitRepo};
use servers::Registry;

/// The demo product.
pub const APP: &str = "micro-gw";
/// The Jenkins job that rebuilds the product image.
pub const JOB: &str = "micro-gw/petstore-image";
/// How long each step may take before the demo gives up.
const STEP: Duration = Duration::from_secs(30);

const DEV: &str = "replicas: 1\nlog: info\n";
const DEV2: &str = "replicas: 1\nlog: debug\n";
const STAGING: &str = "replicas: 2\nlog: info\n";
const STAGING2: &str = "replicas: 2\nlog: debug\n";
const PROD: &str = "replicas: 3\nlog: warn\n";

/// Prints timeline lines with the time since the demo started.
struct Timeline(Instant);

impl Timeline {
    fn say(&self, what: &str) {
        let mut out = std::io::stdout().lock();
        let _ = writeln!(out, "[{:6.2}s] {what}", self.0.elapsed().as_secs_f64());
        let _ = out.flush();
    }
}

/// Polls `f` every 100 ms until it gives `Some`, for at most [`STEP`].
async fn wait_for<T, F, Fut>(what: &str, mut f: F) -> anyhow::Result<T>
where
    F: FnMut() -> Fut,
    Fut: Future<Output = anyhow::Result<Option<T>>>,
{
    let deadline = Instant::now() + STEP;
    loop {
        if let Some(v) = f().await? {
            return Ok(v);
        }
        if Instant::now() >= deadline {
            bail!("timed out after {STEP:?} waiting for {what}");
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

fn short(digest: &str) -> &str {
    &digest[..digest.len().min(19)]
}

/// Runs the demo; `Ok` when every step was observed. With `keep`, the daemon and the
/// stand-ins keep running after the walkthrough until ctrl-c.
pub async fn run(keep: bool) -> anyhow::Result<()> {
    let t = Timeline(Instant::now());
    let shutdown = CancellationToken::new();
    let dir = tempfile::Builder::new()
        .prefix("baton-demo-")
        .tempdir()
        .context("creating the demo's temporary folder")?;
    let result = walkthrough(&t, dir.path(), &shutdown, keep).await;
    shutdown.cancel();
    match &result {
        Ok(()) => t.say("demo finished: every step observed"),
        Err(e) => t.say(&format!("demo failed: {e:#}")),
    }
    result
}

fn spinnaker_pipelines() -> Vec<spinnaker_client::model::pipeline::PipelineConfig> {
    ["dev", "staging", "prod"]
        .into_iter()
        .map(|env| {
            let mut p = deploy_pipeline(APP, env, servers::CHART, "chart", env != "dev");
            // Constraints as baton renders them: `environments` is top-level in the event.
            let mut c = Map::new();
            c.insert("application".into(), format!("^{APP}$").into());
            c.insert("environments".into(), format!("(^|,){env}(,|$)").into());
            for trigger in p.triggers.iter_mut().flatten() {
                trigger.payload_constraints = Some(c.clone());
            }
            p
        })
        .collect()
}

async fn walkthrough(
    t: &Timeline,
    root: &std::path::Path,
    stop: &CancellationToken,
    keep: bool,
) -> anyhow::Result<()> {
    t.say("setting up in a temporary folder: git repo, Helm repo, OCI registry, Jenkins and Spinnaker stand-ins");
    let git = GitRepo::create(root).await?;
    let values = |dev: &'static str, staging: &'static str| {
        [
            ("micro-gw/values-dev.yaml", dev),
            ("micro-gw/values-staging.yaml", staging),
            ("micro-gw/values-prod.yaml", PROD),
        ]
    };
    git.commit(&values(DEV, STAGING), "initial values").await?;
    let helm = servers::helm_repo(stop.clone()).await?;
    let registry = Registry::start(stop.clone()).await?;
    let base_first = registry.set_tag("vendor/base", "1.0", "base v1");

    let job = JobSpec::new(JOB)
        .script(BuildScript::new(Duration::from_secs(1), "SUCCESS"))
        .string_params(&REBUILD_PARAMETERS);
    let jenkins = FakeJenkins::builder()
        .user(UserSpec::new("baton", "demo-jenkins-token"))
        .job(job)
        .start(TcpListener::bind("127.0.0.1:0").await?)
        .await
        .context("starting the Jenkins stand-in")?;
    let mut spinnaker = FakeSpinnaker::builder().application(APP);
    for p in spinnaker_pipelines() {
        spinnaker = spinnaker.pipeline(p);
    }
    let spinnaker = spinnaker
        .start(TcpListener::bind("127.0.0.1:0").await?)
        .await
        .context("starting the Spinnaker stand-in")?;
    let token = format!("demo-{:016x}", rand::random::<u64>());
    let jenkins_url = jenkins.url();
    let config = daemon::write_config(
        root,
        &token,
        &Endpoints {
            jenkins: &jenkins_url,
            gate: spinnaker.url(),
            git: &git.url,
            helm: &helm,
            registry: &registry.host,
        },
    )?;
    t.say(&format!("git chart source   {}", git.url));
    t.say(&format!(
        "Helm repository    {helm} ({}-{})",
        servers::CHART,
        servers::CHART_VERSION
    ));
    t.say(&format!(
        "OCI registry       {} (vendor/base:1.0 = {})",
        registry.host,
        short(&base_first)
    ));
    t.say(&format!("Jenkins stand-in   {jenkins_url} (job {JOB})"));
    t.say(&format!(
        "Spinnaker stand-in {} (pipelines {APP}-deploy-dev|staging|prod)",
        spinnaker.url()
    ));
    let d = Daemon::start(&config, &token, STEP).await?;
    t.say(&format!("baton serve        {}", d.url));
    let dashboard = format!("{}/ui", d.url);
    t.say(&format!(
        "dashboard          {dashboard} (read-only; to act, log in with the token in {})",
        root.join("api-tokens").display()
    ));

    let result = steps::run(t, &d, &git, &registry, &jenkins, &spinnaker).await;
    if result.is_err() {
        eprintln!("last lines of baton's log:\n{}", logs::tail(30));
    } else if keep {
        t.say(&format!(
            "walkthrough done; still serving the dashboard at {dashboard} (ctrl-c stops)"
        ));
        tokio::signal::ctrl_c()
            .await
            .context("waiting for ctrl-c")?;
    }
    if let Err(e) = d.stop().await {
        eprintln!("stopping baton: {e:#}");
    }
    spinnaker.shutdown().await;
    jenkins.shutdown().await;
    result
}
