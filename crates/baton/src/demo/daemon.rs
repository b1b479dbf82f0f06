//! The demo's chart-source git repository (git CLI, `file://`), its baton config and the
//! daemon, run in this process, with a small API client.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::Value;
use tokio::process::Command;

/// A bare repository and a working clone that pushes to it.
pub struct GitRepo {
    /// `file://` URL of the bare repository.
    pub url: String,
    work: PathBuf,
}

async fn git(dir: &Path, args: &[&str]) -> anyhow::Result<String> {
    let out = Command::new("git")
        .current_dir(dir)
        .args([
            "-c",
            "user.name=baton demo",
            "-c",
            "user.email=demo@example.invalid",
        ])
        .args([
            "-c",
            "init.defaultBranch=main",
            "-c",
            "commit.gpgsign=false",
        ])
        .args(args)
        .kill_on_drop(true)
        .output()
        .await
        .with_context(|| format!("running git {} (is git installed?)", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} in {} failed: {}",
            args.join(" "),
            dir.display(),
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
}

impl GitRepo {
    /// `root/charts.git` (bare) and `root/work` (clone on branch `main`).
    pub async fn create(root: &Path) -> anyhow::Result<Self> {
        let bare = root.join("charts.git");
        let work = root.join("work");
        std::fs::create_dir_all(&bare)?;
        std::fs::create_dir_all(&work)?;
        git(&bare, &["init", "--bare", "-q", "-b", "main"]).await?;
        git(&work, &["init", "-q", "-b", "main"]).await?;
        let url = format!("file://{}", bare.display());
        git(&work, &["remote", "add", "origin", &url]).await?;
        Ok(Self { url, work })
    }

    /// Writes `files` (path, text), commits them with `message` and pushes; returns the commit.
    pub async fn commit(&self, files: &[(&str, &str)], message: &str) -> anyhow::Result<String> {
        for (path, text) in files {
            let p = self.work.join(path);
            if let Some(parent) = p.parent() {
                std::fs::create_dir_all(parent)?;
            }
            std::fs::write(&p, text).with_context(|| format!("writing {path}"))?;
        }
        git(&self.work, &["add", "-A"]).await?;
        git(&self.work, &["commit", "-q", "-m", message]).await?;
        git(&self.work, &["push", "-q", "origin", "main"]).await?;
        git(&self.work, &["rev-parse", "HEAD"]).await
    }
}

/// The daemon, in this process, with a small client of its HTTP API; stopped when dropped.
pub struct Daemon {
    handle: baton_daemon::daemon::DaemonHandle,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    http: reqwest::Client,
    token: String,
}

impl Daemon {
    /// Builds the daemon for `config` and waits (at most `wait`) until it is ready.
    pub async fn start(config: &Path, token: &str, wait: Duration) -> anyhow::Result<Self> {
        let loaded = baton_core::config::load(config)?;
        let cache = config.parent().unwrap_or(Path::new(".")).join("cache");
        let mut handle = baton_daemon::daemon::Daemon::builder(loaded)
            .cache_dir(cache)
            .drain(Duration::from_secs(2))
            .build()
            .await?
            .spawn();
        tokio::time::timeout(wait, handle.ready())
            .await
            .with_context(|| format!("baton was not ready within {wait:?}"))??;
        baton_daemon::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("building the demo's HTTP client")?;
        Ok(Self {
            url: handle.url(),
            handle,
            http,
            token: token.to_owned(),
        })
    }

    /// Stops the daemon and waits for its drain.
    pub async fn stop(self) -> anyhow::Result<()> {
        self.handle.stop().await
    }

    /// `GET path` -> JSON.
    pub async fn get(&self, path: &str) -> anyhow::Result<Value> {
        let r = self
            .http
            .get(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .send()
            .await
            .with_context(|| format!("GET {path} at baton"))?;
        let status = r.status();
        let body: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("GET {path} at baton: {status}: {body}");
        }
        Ok(body)
    }

    /// The text of `/metrics`.
    pub async fn metrics(&self) -> anyhow::Result<String> {
        let r = self
            .http
            .get(format!("{}/metrics", self.url))
            .send()
            .await
            .context("GET /metrics at baton")?;
        r.text().await.context("reading /metrics at baton")
    }

    /// `POST path` with JSON `body` -> JSON, failing on a non-2xx answer.
    pub async fn post(&self, path: &str, body: &Value) -> anyhow::Result<Value> {
        let r = self
            .http
            .post(format!("{}{path}", self.url))
            .bearer_auth(&self.token)
            .json(body)
            .send()
            .await
            .with_context(|| format!("POST {path} at baton"))?;
        let status = r.status();
        let answer: Value = r.json().await.unwrap_or(Value::Null);
        if !status.is_success() {
            bail!("POST {path} at baton: {status}: {answer}");
        }
        Ok(answer)
    }
}

/// What the config needs to know.
pub struct Endpoints<'a> {
    /// Jenkins stand-in URL.
    pub jenkins: &'a str,
    /// Gate URL of the Spinnaker stand-in.
    pub gate: &'a str,
    /// Chart-source git URL.
    pub git: &'a str,
    /// Helm repository URL.
    pub helm: &'a str,
    /// Registry host.
    pub registry: &'a str,
}

/// Writes `dir/baton.yaml` (+ token files) and returns its path.
pub fn write_config(dir: &Path, token: &str, e: &Endpoints<'_>) -> anyhow::Result<PathBuf> {
    std::fs::write(dir.join("api-tokens"), format!("demo:{token}\n"))?;
    std::fs::write(dir.join("jenkins-token"), "demo-jenkins-token\n")?;
    let file = dir.join("baton.yaml");
    let state = format!("sqlite://{}", dir.join("state/baton.db").display());
    std::fs::write(
        &file,
        format!(
            r#"state: "{state}"
listen: 127.0.0.1:0
api_tokens_file: api-tokens
first_seen: baseline
jenkins: {{url: "{jenkins}", user: baton, token_file: jenkins-token}}
spinnaker: {{gate_url: "{gate}"}}
registries:
  - {{host: "{registry}", insecure: true}}
outbox: {{initial_delay: 100ms, max_delay: 1s, jitter: none}}
ui: {{open_read_only: true}}
products:
  - name: {app}
    environments: [dev, staging, prod]
    chart: {{repository: "{helm}", name: {chart}, version: "^3.0"}}
    chart_source: {{git: "{git}", branch: main, dir: {app}, poll: 1s}}
    images:
      - name: petstore
        base: "{registry}/vendor/base:1.0"
        check: "*/1 * * * * *"
        target: "{registry}/acme/petstore"
        jenkins_job: {job}
"#,
            app = super::APP,
            chart = super::servers::CHART,
            job = super::JOB,
            jenkins = e.jenkins,
            gate = e.gate,
            registry = e.registry,
            helm = e.helm,
            git = e.git,
        ),
    )?;
    Ok(file)
}
