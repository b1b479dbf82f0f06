//! B-reg: one digest check (baton vs skopeo vs curl) and a 1,000-tag sweep at concurrency 16
//! (baton vs a raw HEAD loop and `xargs -P16 curl -sI`).

use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::Context;
use baton_sources::registry::{ImageWatch, Registries, RegistryConfig, challenge};
use futures::StreamExt as _;
use testkit::rig::{MANIFEST_ACCEPT, Rig};

use super::timing::{median, median_command, ms};

const N: usize = 30;

pub async fn registry_bench(tags: usize) -> anyhow::Result<()> {
    let rig = Rig::load()?;
    let dir = tempfile::tempdir()?;
    println!("## B-reg (median of {N} runs; sweep {tags} tags at concurrency 16)\n");
    println!(
        "| registry | baton check (warm) | baton check (new client) | skopeo inspect --raw | curl -sI (lower bound) |"
    );
    println!("| --- | --- | --- | --- | --- |");
    let repo = "bench/reg";
    rig.push_image(&rig.registry, repo, "1.0", "bench-seed")
        .await?;
    single(&rig, &rig.registry, repo, None, &dir).await?;
    if let Some(ep) = rig.registry_token.clone() {
        rig.push_image(&ep.host, repo, "1.0", "bench-seed").await?;
        single(
            &rig,
            &ep.host,
            repo,
            Some((&ep.username, &ep.password)),
            &dir,
        )
        .await?;
    }
    sweep(&rig, tags).await
}

/// The registry at `host`; with `creds`, the rig's token server may receive them (another
/// port is another origin, see `RegistryConfig::token_hosts`).
fn config(
    rig: &Rig,
    host: &str,
    creds: Option<(&str, &str)>,
    dir: &tempfile::TempDir,
) -> anyhow::Result<RegistryConfig> {
    let mut c = RegistryConfig::anonymous(host);
    c.insecure = true;
    c.max_concurrency = 16;
    if let Some((u, p)) = creds {
        c.token_hosts = rig.token_server.iter().cloned().collect();
        let f = dir.path().join(format!("pw-{}", host.replace(':', "_")));
        std::fs::write(&f, p)?;
        c.username = Some(u.to_string());
        c.password_file = Some(f);
    }
    Ok(c)
}

async fn single(
    rig: &Rig,
    host: &str,
    repo: &str,
    creds: Option<(&str, &str)>,
    dir: &tempfile::TempDir,
) -> anyhow::Result<()> {
    let reference = format!("{host}/{repo}:1.0");
    let watch = ImageWatch::new(&reference, None)?;
    let regs = Registries::new(vec![config(rig, host, creds, dir)?])?;
    watch.observe(&regs, None).await?; // warm: token cached, connection open
    let mut warm = Vec::new();
    for _ in 0..N {
        let t = Instant::now();
        watch.observe(&regs, None).await?;
        warm.push(t.elapsed());
    }
    let mut cold = Vec::new();
    for _ in 0..N {
        let t = Instant::now();
        let regs = Registries::new(vec![config(rig, host, creds, dir)?])?;
        watch.observe(&regs, None).await?;
        cold.push(t.elapsed());
    }
    let auth_file = dir.path().join("skopeo-auth.json");
    if let Some((u, p)) = creds {
        use base64::Engine as _;
        let b = base64::engine::general_purpose::STANDARD.encode(format!("{u}:{p}"));
        std::fs::write(
            &auth_file,
            format!(r#"{{"auths":{{"{host}":{{"auth":"{b}"}}}}}}"#),
        )?;
    } else {
        std::fs::write(&auth_file, r#"{"auths":{}}"#)?;
    }
    let skopeo = median_command(N.min(10), || {
        let mut c = Command::new(&rig.skopeo);
        c.args(["inspect", "--raw", "--tls-verify=false", "--authfile"])
            .arg(&auth_file)
            .arg(format!("docker://{reference}"));
        c
    })?;
    // curl's lower bound gets a ready token (in a header file, not on the command line).
    let headers = dir.path().join("curl-headers");
    let mut lines: Vec<String> = MANIFEST_ACCEPT
        .split(", ")
        .map(|a| format!("Accept: {a}"))
        .collect();
    if let Some((u, p)) = creds {
        lines.push(format!(
            "Authorization: Bearer {}",
            token(host, repo, u, p).await?
        ));
    }
    std::fs::write(&headers, lines.join("\n"))?;
    let url = format!("http://{host}/v2/{repo}/manifests/1.0");
    let curl = median_command(N, || {
        let mut c = Command::new("curl");
        c.args(["-sf", "-o", "/dev/null", "-I", "-H"])
            .arg(format!("@{}", headers.display()))
            .arg(&url);
        c
    })?;
    let kind = if creds.is_some() {
        "token auth"
    } else {
        "no auth"
    };
    println!(
        "| {kind} | {} | {} | {} | {} |",
        ms(median(warm)),
        ms(median(cold)),
        ms(skopeo),
        ms(curl)
    );
    Ok(())
}

async fn token(host: &str, repo: &str, user: &str, password: &str) -> anyhow::Result<String> {
    let http = testkit::rig::http_client()?;
    let resp = http
        .head(format!("http://{host}/v2/{repo}/manifests/1.0"))
        .send()
        .await?;
    let h = resp
        .headers()
        .get("www-authenticate")
        .context("no challenge")?
        .to_str()?
        .to_string();
    let Some(challenge::Challenge::Bearer {
        realm,
        service,
        scope,
    }) = challenge::parse_challenge(&h)
    else {
        anyhow::bail!("not a bearer challenge: {h}")
    };
    let mut url = url::Url::parse(&realm)?;
    url.query_pairs_mut()
        .append_pair("service", &service.unwrap_or_default())
        .append_pair("scope", &scope.unwrap_or_default());
    let v: serde_json::Value = http
        .get(url)
        .basic_auth(user, Some(password))
        .send()
        .await?
        .error_for_status()?
        .json()
        .await?;
    Ok(v["token"]
        .as_str()
        .or(v["access_token"].as_str())
        .context("no token")?
        .to_string())
}

async fn sweep(rig: &Rig, tags: usize) -> anyhow::Result<()> {
    let host = rig.registry.clone();
    let repo = "bench/sweep";
    let http = testkit::rig::http_client()?;
    rig.push_image(&host, repo, "t0", "sweep-seed").await?;
    let m = http
        .get(format!("http://{host}/v2/{repo}/manifests/t0"))
        .header("accept", MANIFEST_ACCEPT)
        .send()
        .await?
        .error_for_status()?;
    let ct = m
        .headers()
        .get("content-type")
        .context("content-type")?
        .to_str()?
        .to_string();
    let body = m.bytes().await?;
    sixteen_at_a_time((1..tags).map(|i| {
        let (http, ct, body, host) = (http.clone(), ct.clone(), body.clone(), host.clone());
        async move {
            http.put(format!("http://{host}/v2/{repo}/manifests/t{i}"))
                .header("content-type", ct)
                .body(body)
                .send()
                .await?
                .error_for_status()
                .map(drop)
        }
    }))
    .await?;
    let urls: Vec<String> = (0..tags)
        .map(|i| format!("http://{host}/v2/{repo}/manifests/t{i}"))
        .collect();

    // Lower bound: raw HEADs with the same HTTP stack, concurrency 16.
    let raw_client = testkit::rig::http_client()?;
    let raw = timed(|| {
        sixteen_at_a_time(urls.iter().map(|u| {
            let c = raw_client.clone();
            async move {
                c.head(u)
                    .header("accept", MANIFEST_ACCEPT)
                    .send()
                    .await?
                    .error_for_status()
                    .map(drop)
            }
        }))
    })
    .await?;
    let mut cfg = RegistryConfig::anonymous(host.clone());
    cfg.insecure = true;
    cfg.max_concurrency = 16;
    let regs = Arc::new(Registries::new(vec![cfg])?);
    let watches: Vec<ImageWatch> = (0..tags)
        .map(|i| ImageWatch::new(&format!("{host}/{repo}:t{i}"), None))
        .collect::<Result<_, _>>()?;
    let baton = timed(|| {
        sixteen_at_a_time(watches.iter().map(|w| {
            let regs = regs.clone();
            async move { w.observe(&regs, None).await.map(drop) }
        }))
    })
    .await?;
    let list = tempfile::NamedTempFile::new()?;
    std::fs::write(list.path(), urls.join("\n"))?;
    let accept = MANIFEST_ACCEPT.to_string();
    let xargs = super::timing::time_command(Command::new("sh").arg("-c").arg(format!(
        "xargs -P16 -n50 curl -sf -o /dev/null -I -H 'Accept: {accept}' < {}",
        list.path().display()
    )))?;
    println!("\n| sweep of {tags} tags, concurrency 16 | wall | vs raw HEAD loop |");
    println!("| --- | --- | --- |");
    println!(
        "| raw reqwest HEAD loop (lower bound) | {} | 1.00x |",
        ms(raw)
    );
    println!(
        "| baton ImageWatch::observe | {} | {:.2}x |",
        ms(baton),
        baton.as_secs_f64() / raw.as_secs_f64()
    );
    println!(
        "| xargs -P16 -n50 curl -sI | {} | {:.2}x |",
        ms(xargs),
        xargs.as_secs_f64() / raw.as_secs_f64()
    );
    Ok(())
}

/// Runs `requests` 16 at a time, as the sweep does; the first failure is the error.
async fn sixteen_at_a_time<Fut, E>(requests: impl Iterator<Item = Fut>) -> anyhow::Result<()>
where
    Fut: std::future::Future<Output = Result<(), E>>,
    E: Into<anyhow::Error>,
{
    let done: Vec<Result<(), E>> = futures::stream::iter(requests)
        .buffer_unordered(16)
        .collect()
        .await;
    done.into_iter().try_for_each(|r| r.map_err(Into::into))
}

/// Best of three runs of `f`.
async fn timed<F, Fut>(f: F) -> anyhow::Result<Duration>
where
    F: Fn() -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let mut best = Duration::MAX;
    for _ in 0..3 {
        let t = Instant::now();
        f().await?;
        best = best.min(t.elapsed());
    }
    Ok(best)
}
