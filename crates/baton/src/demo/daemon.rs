//! The demo's chart-source git repository (git CLI, `file://`), its baton config and the
//! `baton serve` child process with a small API client.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use anyhow::{Context as _, bail};
use serde_json::Value;
use tokio::io::{AsyncBufReadExt as _, BufReader};
use tokio::process::{Child, Command};

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

/// `baton serve` as a child process; killed when dropped.
pub struct Daemon {
    _child: Child,
    /// `http://127.0.0.1:PORT`.
    pub url: String,
    log: Arc<Mutex<Vec<String>>>,
    http: reqwest::Client,
    token: String,
}

impl Daemon {
    /// Runs this executable's `serve` on `config` and waits (at most `wait`) for its address.
    pub async fn start(config: &Path, token: &str, wait: Duration) -> anyhow::Result<Self> {
        let exe = std::env::current_exe().context("finding the baton executable")?;
        let cache = config.parent().unwrap_or(Path::new(".")).join("cache");
        let mut child = Command::new(exe)
            .env_remove("BATON_CONFIG")
            .env("BATON_CACHE_DIR", cache)
            .env("RUST_LOG", "info")
            .args(["--log-format", "text", "serve", "--drain", "2s", "--config"])
            .arg(config)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .stdin(Stdio::null())
            .kill_on_drop(true)
            .spawn()
            .context("starting baton serve")?;
        let stderr = child.stderr.take().context("baton serve stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = tokio::sync::oneshot::channel();
        let lines = log.clone();
        tokio::spawn(async move {
            let mut tx = Some(tx);
            let mut reader = BufReader::new(stderr).lines();
            while let Ok(Some(line)) = reader.next_line().await {
                if let Some(rest) = line.split("baton listening on ").nth(1)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(rest.split_whitespace().next().unwrap_or("").to_owned());
                }
                lines.lock().expect("log lock").push(line);
            }
        });
        let addr = match tokio::time::timeout(wait, rx).await {
            Ok(Ok(addr)) => addr,
            _ => bail!(
                "baton serve did not report its address within {wait:?}; its log:\n{}",
                log.lock().expect("log lock").join("\n")
            ),
        };
        crate::install_crypto_provider();
        let http = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .connect_timeout(Duration::from_secs(5))
            .build()
            .context("building the demo's HTTP client")?;
        Ok(Self {
            _child: child,
            url: format!("http://{addr}"),
            log,
            http,
            token: token.to_owned(),
        })
    }

    /// The last `n` lines the daemon logged.
    pub fn log_tail(&self, n: usize) -> String {
        let log = self.log.lock().expect("log lock");
        log[log.len().saturating_sub(n)..].join("\n")
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
