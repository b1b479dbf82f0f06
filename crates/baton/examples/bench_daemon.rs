//! Latency benchmarks of `baton serve` (issues 6 and 7) on the rig, driven by `bench/run-daemon`.
//! Not a test: it prints Markdown tables.
//!
//! - `bench_daemon config DIR`: writes `DIR/baton.yaml` (+ `api-tokens`, `hook-secret`) for a
//!   fresh rig git repo and Helm repo, with a Spinnaker URL that nobody answers (for start-up,
//!   RSS and webhook-ingest runs where nothing is delivered).
//! - `bench_daemon latency BATON_BIN SYNCS PUSHES PEERS`: starts FakeSpinnaker in-process and
//!   `BATON_BIN serve` on a fresh config; SYNCS times commit values-dev.yaml, then
//!   `POST /v1/products/{p}/sync` and time until the chart webhook arrives at the stand-in
//!   (its recorded arrival time); PEERS times `git ls-remote` + one POST of the same webhook body
//!   (the raw cost of a check and a delivery); PUSHES times commit, then a signed GitHub push
//!   to `/hooks/github`, until the chart webhook arrives.
//!
//! - `bench_daemon poll BATON_BIN SAMPLES`: the same set-up with `poll: 1s` and no trigger;
//!   SAMPLES times commit -> chart webhook, each commit at a random moment of the interval
//!   (`bench_daemon/poll.rs`).
//!
//! - `bench_daemon startup URL RUNS IDLE_SECS -- CMD ARGS...`: RUNS times, starts CMD and
//!   polls `URL/readyz` every millisecond until it answers 200 (time from spawn); after the
//!   last run waits IDLE_SECS and reads `VmRSS` from `/proc/PID/status`. Prints one line:
//!   `min median max rss_kib`.
//!
//! Needs `scripts/rig up` (the rig's env file) and a release `baton`.

use std::path::Path;
use std::process::{Command, Stdio};
use std::time::{Duration, Instant, SystemTime};

use anyhow::{Context, bail};
use baton_daemon::hooks::{WebhookSecret, sign_sha256};
use baton_harness::config::{Config, chart_product};
use secrecy::SecretString;
use serde_json::json;
use testkit::baton::BatonProcess;
use testkit::rig::{GitRepo, Rig};
use testkit::spinnaker::FakeSpinnaker;

#[path = "bench_daemon/poll.rs"]
mod poll;

const APP: &str = "micro-gw";
const TOKEN: &str = "bench-token";
const HOOK_SECRET: &str = "bench-hook-secret";
const CHART_PATH: &str = "/webhooks/webhook/chart";

fn files(dev: &str) -> Vec<(&'static str, Option<Vec<u8>>)> {
    vec![
        ("values-dev.yaml", Some(dev.as_bytes().to_vec())),
        ("values-prod.yaml", Some(b"replicas: 3\n".to_vec())),
    ]
}

fn commit(repo: &GitRepo, dev: &str, msg: &str) -> anyhow::Result<String> {
    let f = files(dev);
    let refs: Vec<(&str, Option<&[u8]>)> = f.iter().map(|(p, c)| (*p, c.as_deref())).collect();
    repo.commit("main", &refs, msg)
}

/// Writes config + secrets into `dir`; returns the git repo it watches.
fn write_config(rig: &Rig, dir: &Path, gate: &str, poll: &str) -> anyhow::Result<GitRepo> {
    let repo = rig.new_git_repo("bench")?;
    commit(&repo, "replicas: 1\n", "initial")?;
    let helm = rig.new_helm_repo("bench")?;
    helm.publish("microgateway", "3.0.1", "replicas: 1\n")?;
    std::fs::create_dir_all(dir.join("data"))?;
    std::fs::write(dir.join("hook-secret"), format!("{HOOK_SECRET}\n"))?;
    Config::new(TOKEN)
        .jenkins(None)
        .gate(gate)
        .line("git: {webhook_secret_file: hook-secret}")
        .line("outbox: {initial_delay: 100ms, max_delay: 1s, jitter: none}")
        .products(&chart_product(APP, &helm.url, &repo.http_url, poll))
        .write(dir);
    Ok(repo)
}

/// `bin serve` on `DIR/baton.yaml`, ready when its ready file names its address.
fn start(bin: &str, dir: &Path) -> anyhow::Result<BatonProcess> {
    BatonProcess::serve(bin, &dir.join("baton.yaml"))
        .env("BATON_CACHE_DIR", dir.join("cache"))
        .env("RUST_LOG", "warn,baton=info")
        .args(["--drain", "1s"])
        .start()
}

fn chart_hooks(s: &FakeSpinnaker) -> Vec<SystemTime> {
    s.requests()
        .into_iter()
        .filter(|r| r.method == "POST" && r.path == CHART_PATH)
        .map(|r| r.received_at)
        .collect()
}

/// Waits (at most 30 s) for webhook number `n + 1` and returns the time from `t0` to its arrival.
async fn next_hook(s: &FakeSpinnaker, n: usize, t0: SystemTime) -> anyhow::Result<Duration> {
    let deadline = Instant::now() + Duration::from_secs(30);
    loop {
        let hooks = chart_hooks(s);
        if hooks.len() > n {
            return Ok(hooks[n].duration_since(t0).unwrap_or_default());
        }
        if Instant::now() > deadline {
            bail!("no chart webhook number {} within 30 s", n + 1);
        }
        tokio::time::sleep(Duration::from_millis(1)).await;
    }
}

fn row(name: &str, mut v: Vec<Duration>) -> String {
    v.sort();
    let pick = |q: f64| {
        let i = ((q * v.len() as f64).ceil() as usize).clamp(1, v.len()) - 1;
        v[i].as_secs_f64() * 1000.0
    };
    format!(
        "| {name} | {} | {:.1} ms | {:.1} ms | {:.1} ms | {:.1} ms |",
        v.len(),
        pick(0.0),
        pick(0.5),
        pick(0.99),
        pick(1.0)
    )
}

/// Waits (at most 60 s) until the first check's baseline (nothing sent) is recorded.
async fn baseline(http: &reqwest::Client, daemon: &BatonProcess) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let ev: serde_json::Value = http
            .get(format!("{}/v1/events?product={APP}&limit=50", daemon.url))
            .bearer_auth(TOKEN)
            .send()
            .await?
            .json()
            .await?;
        let done = ev["events"].as_array().is_some_and(|a| {
            a.iter().any(|e| {
                e["detail"]
                    .as_str()
                    .is_some_and(|d| d.starts_with("baseline"))
            })
        });
        if done {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("no baseline within 60 s: {ev}");
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

/// A latency run's parts: FakeSpinnaker, the watched repo, `baton serve` past its baseline.
struct Bench {
    _dir: tempfile::TempDir,
    spinnaker: FakeSpinnaker,
    repo: GitRepo,
    daemon: BatonProcess,
    http: reqwest::Client,
}

/// Starts FakeSpinnaker and `bin serve` on a fresh config polling every `poll`, and waits for
/// the first check's baseline.
async fn bench_setup(bin: &str, poll: &str) -> anyhow::Result<Bench> {
    let rig = Rig::load()?;
    let dir = tempfile::tempdir()?;
    let spinnaker = FakeSpinnaker::builder()
        .start(tokio::net::TcpListener::bind("127.0.0.1:0").await?)
        .await?;
    let repo = write_config(&rig, dir.path(), spinnaker.url(), poll)?;
    let daemon = start(bin, dir.path())?;
    baton_daemon::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(30))
        .build()?;
    baseline(&http, &daemon).await?;
    Ok(Bench {
        _dir: dir,
        spinnaker,
        repo,
        daemon,
        http,
    })
}

async fn latency(bin: &str, syncs: usize, pushes: usize, peers: usize) -> anyhow::Result<()> {
    let Bench {
        _dir,
        spinnaker,
        repo,
        daemon,
        http,
    } = bench_setup(bin, "1h").await?;

    let mut sync_lat = Vec::new();
    for i in 0..syncs {
        commit(&repo, &format!("replicas: {}\n", i + 2), "dev")?;
        let n = chart_hooks(&spinnaker).len();
        let t0 = SystemTime::now();
        let r = http
            .post(format!("{}/v1/products/{APP}/sync", daemon.url))
            .bearer_auth(TOKEN)
            .json(&json!({}))
            .send()
            .await?;
        if r.status() != 202 {
            bail!("sync answered {}: {}", r.status(), r.text().await?);
        }
        sync_lat.push(next_hook(&spinnaker, n, t0).await?);
    }

    let body = spinnaker
        .requests()
        .into_iter()
        .rfind(|r| r.path == CHART_PATH)
        .map(|r| r.body)
        .unwrap_or_default();
    let mut peer_lat = Vec::new();
    for _ in 0..peers {
        let before = spinnaker.requests().len();
        let t0 = SystemTime::now();
        let out = Command::new("git")
            .args(["ls-remote", &repo.http_url, "refs/heads/main"])
            .output()?;
        if !out.status.success() {
            bail!(
                "git ls-remote failed: {}",
                String::from_utf8_lossy(&out.stderr)
            );
        }
        http.post(format!("{}/webhooks/webhook/peer", spinnaker.url()))
            .header("Content-Type", "application/json")
            .body(body.clone())
            .send()
            .await?;
        let arrived = spinnaker.requests()[before].received_at;
        peer_lat.push(arrived.duration_since(t0).unwrap_or_default());
    }

    let secret = WebhookSecret::new(SecretString::from(HOOK_SECRET.to_owned()))?;
    let mut push_lat = Vec::new();
    for i in 0..pushes {
        let before = repo
            .head("main")?
            .context("the bench repo has a main branch")?;
        let sha = commit(
            &repo,
            &format!("replicas: {}\n", 10_000 + i),
            "dev via push",
        )?;
        // As GitHub sends it: the old and new head and each commit's files.
        let body = serde_json::to_vec(&json!({
            "ref": "refs/heads/main", "before": before, "after": sha, "deleted": false,
            "commits": [{"added": [], "removed": [], "modified": ["values-dev.yaml"]}],
            "repository": {"clone_url": repo.http_url},
        }))?;
        let n = chart_hooks(&spinnaker).len();
        let t0 = SystemTime::now();
        let r = http
            .post(format!("{}/hooks/github", daemon.url))
            .header("X-GitHub-Event", "push")
            .header("X-GitHub-Delivery", format!("bench-push-{i}"))
            .header("X-Hub-Signature-256", sign_sha256(&secret, &body))
            .header("Content-Type", "application/json")
            .body(body)
            .send()
            .await?;
        if r.status() != 202 {
            bail!("push hook answered {}: {}", r.status(), r.text().await?);
        }
        push_lat.push(next_hook(&spinnaker, n, t0).await?);
    }
    drop(daemon);

    println!("| path | n | min | p50 | p99 | max |");
    println!("| --- | --- | --- | --- | --- | --- |");
    if syncs > 0 {
        println!(
            "{}",
            row(
                "commit, `POST /v1/products/{p}/sync` -> chart webhook at the stand-in",
                sync_lat
            )
        );
    }
    if peers > 0 {
        println!(
            "{}",
            row(
                "peer: `git ls-remote` + one POST of the same webhook body",
                peer_lat
            )
        );
    }
    if pushes > 0 {
        println!(
            "{}",
            row(
                "commit, signed GitHub push to `/hooks/github` -> chart webhook",
                push_lat
            )
        );
    }
    spinnaker.shutdown().await;
    Ok(())
}

fn vm_rss_kib(pid: u32) -> anyhow::Result<u64> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status"))?;
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.trim().trim_end_matches("kB").trim().parse().ok())
        .context("no VmRSS line in /proc/PID/status")
}

async fn startup(url: &str, runs: usize, idle: u64, cmd: &[String]) -> anyhow::Result<()> {
    baton_daemon::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(2))
        .pool_max_idle_per_host(0)
        .build()?;
    let mut times = Vec::new();
    let mut rss = 0;
    for run in 0..runs {
        let t0 = Instant::now();
        let mut child = Command::new(&cmd[0])
            .args(&cmd[1..])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .with_context(|| format!("starting {cmd:?}"))?;
        let deadline = t0 + Duration::from_secs(60);
        loop {
            let ok = http
                .get(format!("{url}/readyz"))
                .send()
                .await
                .is_ok_and(|r| r.status() == 200);
            if ok {
                break;
            }
            if Instant::now() > deadline {
                let _ = child.kill();
                bail!("{cmd:?} not ready at {url}/readyz within 60 s");
            }
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        times.push(t0.elapsed());
        if run + 1 == runs {
            tokio::time::sleep(Duration::from_secs(idle)).await;
            rss = vm_rss_kib(child.id())?;
        }
        let _ = child.kill();
        let _ = child.wait();
    }
    times.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "{:.1} {:.1} {:.1} {rss}",
        ms(times[0]),
        ms(times[times.len() / 2]),
        ms(times[times.len() - 1])
    );
    Ok(())
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let num = |i: usize| -> anyhow::Result<usize> {
        args.get(i)
            .with_context(|| format!("argument {i} missing"))?
            .parse()
            .with_context(|| format!("argument {i}: {:?} is not a number", args[i]))
    };
    match args.first().map(String::as_str) {
        Some("config") => {
            let dir = Path::new(args.get(1).context("usage: config DIR")?);
            write_config(&Rig::load()?, dir, "http://127.0.0.1:9", "1h")?;
            Ok(())
        }
        Some("latency") => {
            let bin = args
                .get(1)
                .context("usage: latency BATON_BIN SYNCS PUSHES PEERS")?;
            latency(bin, num(2)?, num(3)?, num(4)?).await
        }
        Some("poll") => {
            let bin = args.get(1).context("usage: poll BATON_BIN SAMPLES")?;
            poll::latency(bin, num(2)?).await
        }
        Some("startup") => {
            let url = args
                .get(1)
                .context("usage: startup URL RUNS IDLE_SECS -- CMD ARGS...")?;
            let cmd = args
                .iter()
                .position(|a| a == "--")
                .map(|i| &args[i + 1..])
                .filter(|c| !c.is_empty())
                .context("startup: the command goes after --")?;
            startup(url, num(2)?, num(3)? as u64, cmd).await
        }
        _ => bail!(
            "usage: bench_daemon config DIR | latency BATON_BIN SYNCS PUSHES PEERS | \
             poll BATON_BIN SAMPLES | startup URL RUNS IDLE_SECS -- CMD ARGS..."
        ),
    }
}
