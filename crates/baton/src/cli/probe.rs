//! Network probes of `baton check`: one row per endpoint the config names, each bounded by a
//! timeout. Read-only: nothing is triggered or written anywhere.
//!
//! - Jenkins: `whoAmI` with the configured user and API token (fails when Jenkins does not see
//!   that user, e.g. a wrong token read as anonymous) and the version (`X-Jenkins`).
//! - Gate: `GET /health` with the configured auth.
//! - Registries: `GET /v2/` (200, or 401 with a challenge = the registry API answers).
//! - Git remotes: `git ls-remote --exit-code URL HEAD` (prompts off; credentials helpers of the
//!   machine apply, baton's `git.credentials` do not).
//! - Helm repositories: `HEAD index.yaml` (classic) or `GET /v2/` of the host (`oci://`).

use std::time::Duration;

use baton_core::config::Loaded;
use baton_core::config::secrets::Secrets;
use baton_daemon::outbox::jenkins::JenkinsDeliverer;
use baton_daemon::outbox::spinnaker::SpinnakerDeliverer;

/// How long one probe may take.
pub const PROBE_TIMEOUT: Duration = Duration::from_secs(10);

/// One probe's result: (check, target, Ok(note) | Err(problem)).
pub type Probed = (&'static str, String, Result<String, String>);

/// Runs every probe the config calls for.
pub async fn all(loaded: &Loaded, secrets: &Secrets) -> Vec<Probed> {
    let c = &loaded.config;
    let mut out = Vec::new();
    if let Some(j) = &c.jenkins {
        out.push(("jenkins", j.url.to_string(), jenkins(j, secrets).await));
    }
    if let Some(s) = &c.spinnaker {
        out.push(("gate", s.gate_url.to_string(), gate(s, secrets).await));
    }
    let http = http();
    for r in &c.registries {
        let scheme = if r.insecure { "http" } else { "https" };
        let url = format!("{scheme}://{}/v2/", r.host);
        out.push(("registry", r.host.clone(), registry_v2(&http, &url).await));
    }
    let mut helm = Vec::new();
    let mut git = Vec::new();
    for p in &c.products {
        if let Some(ch) = &p.chart {
            helm.push(ch.repository.to_string());
        }
        if let Some(cs) = &p.chart_source {
            git.push(cs.git.to_string());
        }
        for i in &p.images {
            if let Some(a) = &i.artifact_source {
                git.push(a.git.to_string());
            }
        }
    }
    for list in [&mut helm, &mut git] {
        list.sort();
        list.dedup();
    }
    for repo in helm {
        let result = match &http {
            Err(e) => Err(e.clone()),
            Ok(h) => match repo.strip_prefix("oci://") {
                Some(rest) => {
                    let host = rest.split('/').next().unwrap_or_default();
                    let insecure = c.registries.iter().any(|r| r.host == host && r.insecure);
                    let scheme = if insecure { "http" } else { "https" };
                    registry_v2(&http, &format!("{scheme}://{host}/v2/")).await
                }
                None => helm_index(h, &repo).await,
            },
        };
        out.push(("helm repo", repo, result));
    }
    for url in git {
        let result = git_ls_remote(&url).await;
        out.push(("git remote", url, result));
    }
    out
}

fn http() -> Result<reqwest::Client, String> {
    baton_daemon::install_crypto_provider();
    reqwest::Client::builder()
        .timeout(PROBE_TIMEOUT)
        .connect_timeout(PROBE_TIMEOUT)
        .build()
        .map_err(|e| format!("cannot build the HTTP client: {e}"))
}

async fn jenkins(
    j: &baton_core::config::model::Jenkins,
    secrets: &Secrets,
) -> Result<String, String> {
    let client =
        JenkinsDeliverer::client_from_config(j, secrets.jenkins_token.as_ref(), PROBE_TIMEOUT)?;
    let who = client.who_am_i().await.map_err(|e| baton_http::chain(&e))?;
    if who.anonymous || !who.authenticated || who.name != j.user {
        return Err(format!(
            "Jenkins sees this client as {:?}, not {:?}: check jenkins.user and the API token in jenkins.token_file",
            who.name, j.user
        ));
    }
    let version = client.version().await.map_err(|e| baton_http::chain(&e))?;
    Ok(format!("Jenkins {version}, authenticated as {}", who.name))
}

async fn gate(
    s: &baton_core::config::model::Spinnaker,
    secrets: &Secrets,
) -> Result<String, String> {
    let client = SpinnakerDeliverer::client_from_config(s, secrets.gate.as_ref(), PROBE_TIMEOUT)?;
    let health = client.health().await.map_err(|e| baton_http::chain(&e))?;
    let status = health
        .get("status")
        .and_then(|v| v.as_str())
        .unwrap_or("answered");
    if status != "answered" && status != "UP" {
        return Err(format!("Gate /health says {status}"));
    }
    Ok(format!("Gate /health: {status}"))
}

async fn registry_v2(http: &Result<reqwest::Client, String>, url: &str) -> Result<String, String> {
    let http = http.as_ref().map_err(Clone::clone)?;
    let r = http
        .get(url)
        .send()
        .await
        .map_err(|e| format!("GET {url}: {e}"))?;
    match r.status().as_u16() {
        200 => Ok("registry API v2 answers".into()),
        401 if r.headers().contains_key("www-authenticate") => {
            Ok("registry API v2 answers (authentication required)".into())
        }
        s => Err(format!(
            "GET {url} answered {s}; is this a container registry (and is `insecure` right)?"
        )),
    }
}

async fn helm_index(http: &reqwest::Client, repo: &str) -> Result<String, String> {
    let url = format!("{}/index.yaml", repo.trim_end_matches('/'));
    let r = http
        .head(&url)
        .send()
        .await
        .map_err(|e| format!("HEAD {url}: {e}"))?;
    if r.status().is_success() {
        Ok("index.yaml found".into())
    } else {
        Err(format!(
            "HEAD {url} answered {}; check products[].chart.repository",
            r.status()
        ))
    }
}

async fn git_ls_remote(url: &str) -> Result<String, String> {
    let run = tokio::process::Command::new("git")
        .args(["ls-remote", "--exit-code", url, "HEAD"])
        .env("GIT_TERMINAL_PROMPT", "0")
        .kill_on_drop(true)
        .output();
    let out = tokio::time::timeout(PROBE_TIMEOUT, run)
        .await
        .map_err(|_| format!("git ls-remote did not answer within {PROBE_TIMEOUT:?}"))?
        .map_err(|e| format!("cannot run git: {e}; install git"))?;
    if out.status.success() {
        let head = String::from_utf8_lossy(&out.stdout);
        let sha = head.split_whitespace().next().unwrap_or_default();
        Ok(format!("HEAD {}", &sha[..sha.len().min(12)]))
    } else {
        let err = String::from_utf8_lossy(&out.stderr);
        let err = err.trim();
        Err(format!(
            "git ls-remote failed ({}): {}",
            out.status,
            err.lines().last().unwrap_or("no output")
        ))
    }
}
