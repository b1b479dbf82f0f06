//! `baton probe image|images|chart|git`: one-shot source checks for operators debugging a
//! source, and cold-process runs for side-by-side benchmarks (skopeo, helm, `git ls-remote`).
//!
//! Each verb runs the daemon's own library code once ([`ImageWatch`], [`ChartWatch`],
//! [`GitWatch::remote_head`]), so what it prints is what `baton serve` would observe. With a
//! config file present (`--config`, default `baton.yaml`) the config's registry and git
//! credentials apply; without one, access is anonymous. Nothing is written to any state.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use anyhow::{Context as _, bail};
use baton_sources::git::{Git, GitWatch, git_for};
use baton_sources::helm::{ChartWatch, HelmClient, VersionSpec};
use baton_sources::registry::{ImageReference, ImageWatch, Registries, RegistryConfig};
use serde_json::json;

use baton_daemon::jobs::context::{SOURCE_TIMEOUT, git_credentials, registry_configs};

/// `baton probe ...`; with `--output json` each verb prints JSON (`images`: one object a
/// line).
#[derive(Debug, clap::Args)]
pub struct ProbeArgs {
    /// What to probe.
    #[command(subcommand)]
    what: Probe,
}

#[derive(Debug, clap::Subcommand)]
enum Probe {
    /// Print the digest REF points at (and each platform's digest when it is an index).
    Image {
        /// Image reference, e.g. `docker.io/library/alpine:3.20`.
        reference: String,
        /// Talk plain HTTP to the registry (test registries only).
        #[arg(long)]
        insecure: bool,
    },
    /// Print `REF DIGEST` for every reference in FILE (one a line, `#` comments); exit 1 if
    /// any fails.
    Images {
        /// File of references.
        #[arg(long)]
        file: PathBuf,
        /// Requests in flight at once per registry.
        #[arg(long, default_value_t = 16)]
        concurrency: usize,
        /// Talk plain HTTP to the registries (test registries only).
        #[arg(long)]
        insecure: bool,
    },
    /// Download NAME VERSION from a Helm repository (`https://...` or `oci://...`) into DIR and
    /// print its sha256.
    Chart {
        /// Repository URL.
        repository: String,
        /// Chart name.
        name: String,
        /// Exact version or SemVer range.
        version: String,
        /// Folder for `NAME-VERSION.tgz`.
        #[arg(short = 'o', long = "output-dir", default_value = ".")]
        dir: PathBuf,
        /// Talk plain HTTP to an `oci://` repository's registry (test registries only).
        #[arg(long)]
        insecure: bool,
    },
    /// Print the full commit id the branch of URL points at (one `ls-refs` round trip).
    Git {
        /// Remote URL.
        url: String,
        /// Branch name.
        #[arg(long, default_value = "main")]
        branch: String,
    },
}

/// Runs one probe; an error (or any failed reference of `images`) fails the command.
pub async fn run(config: &Path, args: ProbeArgs, json: bool) -> anyhow::Result<()> {
    baton_daemon::install_crypto_provider();
    let conf = load_config(config)?;

    match args.what {
        Probe::Image {
            reference,
            insecure,
        } => {
            let r = parse_ref(&reference)?;
            let regs = registries(conf.as_ref(), std::slice::from_ref(&r), insecure, 8)?;
            let found = image(&regs, &r).await?;
            println!(
                "{}",
                if json {
                    found.to_string()
                } else {
                    text(&found)
                }
            );
            Ok(())
        }
        Probe::Images {
            file,
            concurrency,
            insecure,
        } => images(conf.as_ref(), &file, concurrency, insecure, json).await,
        Probe::Chart {
            repository,
            name,
            version,
            dir,
            insecure,
        } => {
            let oci_host = repository
                .strip_prefix("oci://")
                .map(|rest| parse_ref(&format!("{rest}/{name}:{version}")))
                .transpose()?;
            let regs = registries(conf.as_ref(), oci_host.as_slice(), insecure, 8)?;
            chart(regs, &repository, &name, &version, &dir, json).await
        }
        Probe::Git { url, branch } => {
            let creds = conf.as_ref().map(git_credentials).unwrap_or_default();
            let mut base = Git::new();
            base.timeout = SOURCE_TIMEOUT;
            let git =
                git_for(&creds, &url, base).with_context(|| format!("credentials for {url}"))?;
            let watch = GitWatch::for_values(&url, &branch, ".", &[], &std::env::temp_dir())?;
            let head = watch
                .remote_head(&git)
                .await?
                .with_context(|| format!("{url} has no branch {branch:?}"))?;
            if json {
                println!("{}", json!({"url": url, "branch": branch, "commit": head}));
            } else {
                println!("{head}");
            }
            Ok(())
        }
    }
}

/// The config when its file exists; a `--config` naming a missing file is an error.
fn load_config(file: &Path) -> anyhow::Result<Option<baton_core::config::Config>> {
    if !file.exists() {
        if file != Path::new("baton.yaml") {
            bail!(
                "config file {} not found; pass an existing file or leave --config out for anonymous access",
                file.display()
            );
        }
        return Ok(None);
    }
    Ok(Some(baton_core::config::load_for_probes(file)?.config))
}

fn parse_ref(s: &str) -> anyhow::Result<ImageReference> {
    ImageReference::parse(s).with_context(|| format!("image reference {s:?}"))
}

/// Clients for the hosts of `refs`: the config's entries, with `insecure` and `concurrency`
/// applied to every host named.
fn registries(
    conf: Option<&baton_core::config::Config>,
    refs: &[ImageReference],
    insecure: bool,
    concurrency: usize,
) -> anyhow::Result<Registries> {
    let mut configs = conf.map(registry_configs).unwrap_or_default();
    for r in refs {
        if !configs.iter().any(|c| c.host == r.registry) {
            let mut c = RegistryConfig::anonymous(&r.registry);
            c.timeout = SOURCE_TIMEOUT;
            configs.push(c);
        }
    }
    for c in &mut configs {
        c.insecure |= insecure;
        c.max_concurrency = concurrency.max(1);
    }
    Ok(Registries::new(configs)?)
}

/// The digest of `r` and, for an index, its platforms' digests, as JSON.
async fn image(regs: &Registries, r: &ImageReference) -> anyhow::Result<serde_json::Value> {
    let obs = ImageWatch {
        reference: r.clone(),
        platform: None,
    }
    .observe(regs, None)
    .await?;
    let mut platforms = Vec::new();
    if obs.media_type.contains("index") || obs.media_type.contains("list") {
        let client = regs.client(&r.registry)?;
        let (body, _, _) = client.get_manifest(&r.repository, &obs.digest).await?;
        let index: serde_json::Value = serde_json::from_slice(&body)
            .with_context(|| format!("the index of {r} is not JSON"))?;
        for m in index["manifests"].as_array().into_iter().flatten() {
            let p = &m["platform"];
            let name = [&p["os"], &p["architecture"], &p["variant"]]
                .iter()
                .filter_map(|v| v.as_str())
                .collect::<Vec<_>>()
                .join("/");
            platforms.push(json!({"platform": name, "digest": m["digest"]}));
        }
    }
    Ok(json!({
        "reference": r.to_string(),
        "digest": obs.digest,
        "media_type": obs.media_type,
        "platforms": platforms,
    }))
}

/// The digest, then `  PLATFORM DIGEST` lines for an index.
fn text(found: &serde_json::Value) -> String {
    let s = |v: &serde_json::Value| v.as_str().unwrap_or_default().to_string();
    let mut out = s(&found["digest"]);
    for p in found["platforms"].as_array().into_iter().flatten() {
        out.push_str(&format!("\n  {} {}", s(&p["platform"]), s(&p["digest"])));
    }
    out
}

async fn images(
    conf: Option<&baton_core::config::Config>,
    file: &Path,
    concurrency: usize,
    insecure: bool,
    json: bool,
) -> anyhow::Result<()> {
    let list = std::fs::read_to_string(file)
        .with_context(|| format!("reading the reference list {}", file.display()))?;
    let mut refs = Vec::new();
    for (n, line) in list.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        refs.push(parse_ref(line).with_context(|| format!("{}:{}", file.display(), n + 1))?);
    }
    // The client's per-registry semaphore bounds what is in flight; the tasks only wait on it.
    let regs = Arc::new(registries(conf, &refs, insecure, concurrency)?);
    let tasks: Vec<_> = refs
        .into_iter()
        .map(|r| {
            let regs = regs.clone();
            tokio::spawn(async move {
                let obs = ImageWatch {
                    reference: r.clone(),
                    platform: None,
                }
                .observe(&regs, None)
                .await;
                (r, obs)
            })
        })
        .collect();
    let mut failed = 0usize;
    for t in tasks {
        let (r, obs) = t.await.context("a probe task panicked")?;
        match (obs, json) {
            (Ok(o), false) => println!("{r} {}", o.digest),
            (Ok(o), true) => println!(
                "{}",
                json!({"reference": r.to_string(), "digest": o.digest})
            ),
            (Err(e), j) => {
                failed += 1;
                let e = baton_http::chain(&e);
                if j {
                    println!("{}", json!({"reference": r.to_string(), "error": e}));
                } else {
                    println!("{r} error: {e}");
                }
            }
        }
    }
    if failed > 0 {
        bail!("{failed} of the references in {} failed", file.display());
    }
    Ok(())
}

async fn chart(
    regs: Registries,
    repo: &str,
    name: &str,
    version: &str,
    dir: &Path,
    json: bool,
) -> anyhow::Result<()> {
    let cache = std::env::temp_dir().join(format!("baton-probe-{}", std::process::id()));
    let client = HelmClient::new(cache.clone(), Arc::new(regs), &[], SOURCE_TIMEOUT)?;
    let watch = ChartWatch {
        repository: repo.to_string(),
        name: name.to_string(),
        version: VersionSpec::parse(version).map_err(|e| match e {
            baton_sources::Error::Config { reason, .. } => anyhow::anyhow!("VERSION: {reason}"),
            other => anyhow::anyhow!("VERSION: {other}"),
        })?,
        prereleases: false,
    };
    let result = async {
        let obs = watch.observe(&client, None).await?;
        let chart = ChartWatch::load(&client, &obs)?;
        std::fs::create_dir_all(dir).with_context(|| format!("creating {}", dir.display()))?;
        let path = dir.join(format!("{}-{}.tgz", chart.name, chart.version));
        std::fs::write(&path, &chart.tgz).with_context(|| format!("writing {}", path.display()))?;
        anyhow::Ok((obs, path))
    }
    .await;
    let _ = std::fs::remove_dir_all(&cache);
    let (obs, path) = result?;
    if json {
        let o = json!({"name": obs.name, "version": obs.version, "digest": obs.digest, "file": path, "source": obs.source});
        println!("{o}");
    } else {
        println!(
            "{} {}",
            obs.digest.trim_start_matches("sha256:"),
            path.display()
        );
    }
    Ok(())
}
