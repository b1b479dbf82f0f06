//! `baton serve`: loads the config, builds the [`Daemon`] on the config's `listen:` address and
//! runs it until SIGTERM or ctrl-c. With `--ready-file`, the bound address is written to that
//! file once every task runs (and, on a second line, the probe listener's address when
//! `api.probe_listen` is set): an explicit readiness signal for supervisors and tests.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use tokio_util::sync::CancellationToken;

use baton_core::config;
use baton_daemon::daemon::Daemon;

/// What `baton serve` was asked for.
pub(super) struct ServeArgs {
    pub drain: Duration,
    pub cache_dir: Option<PathBuf>,
    pub ready_file: Option<PathBuf>,
}

pub(super) async fn run(config_file: &Path, args: ServeArgs) -> anyhow::Result<()> {
    let started = std::time::Instant::now();
    let loaded = config::load(config_file)?;
    log_loaded(&loaded, started.elapsed());
    let mut builder = Daemon::builder(loaded).drain(args.drain);
    if let Some(dir) = args.cache_dir {
        builder = builder.cache_dir(dir);
    }
    let daemon = builder.build().await?;
    let shutdown = CancellationToken::new();
    super::signals::spawn(shutdown.clone());
    if let Some(file) = args.ready_file {
        let addr = daemon.local_addr();
        let probe = daemon.probe_addr();
        let mut ready = daemon.ready();
        tokio::spawn(async move {
            if ready.wait().await.is_ok()
                && let Err(e) = write_ready_file(&file, addr, probe)
            {
                tracing::error!(error = %format!("{e:#}"), "cannot write the ready file");
            }
        });
    }
    daemon.run(shutdown).await
}

/// Logs what the config holds and how long reading it took; a YAML config slow to read (one of
/// thousands of images) gets the hint that JSON reads several times faster.
fn log_loaded(loaded: &config::Loaded, took: Duration) {
    let products = loaded.config.products.len();
    let images: usize = loaded.config.products.iter().map(|p| p.images.len()).sum();
    let ms = took.as_millis();
    let hint = json_hint(&loaded.file, took);
    tracing::info!(
        config = %loaded.file.display(),
        products,
        images,
        ms,
        "config read in {ms} ms (products: {products}, images: {images}){hint}"
    );
}

/// The hint for a YAML config that took [`SLOW_YAML`] or longer to read; empty otherwise.
fn json_hint(file: &Path, took: Duration) -> &'static str {
    let yaml = matches!(
        file.extension().and_then(|e| e.to_str()),
        Some("yaml" | "yml")
    );
    if yaml && took >= SLOW_YAML {
        "; the same config as JSON reads several times faster (docs/configuration.md)"
    } else {
        ""
    }
}

/// How long reading a YAML config may take before `baton serve` suggests JSON: about what
/// 5,000 images take (bench/README.md "Start-up at 10,000 images").
const SLOW_YAML: Duration = Duration::from_millis(50);

/// Writes `ADDR\n` (then `PROBE_ADDR\n` when there is a probe listener) to `file` through a
/// temporary file and a rename, so a reader never sees a partial address.
fn write_ready_file(
    file: &Path,
    addr: std::net::SocketAddr,
    probe: Option<std::net::SocketAddr>,
) -> anyhow::Result<()> {
    let tmp = file.with_extension("tmp");
    let probe = probe.map(|p| format!("{p}\n")).unwrap_or_default();
    std::fs::write(&tmp, format!("{addr}\n{probe}"))
        .with_context(|| format!("writing {}", tmp.display()))?;
    std::fs::rename(&tmp, file).with_context(|| format!("renaming to {}", file.display()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn only_a_slow_yaml_config_gets_the_json_hint() {
        let slow = SLOW_YAML;
        let fast = SLOW_YAML - Duration::from_millis(1);
        assert!(json_hint(Path::new("baton.yaml"), slow).contains("as JSON"));
        assert!(json_hint(Path::new("/etc/baton.yml"), slow * 3).contains("as JSON"));
        assert_eq!(json_hint(Path::new("baton.yaml"), fast), "");
        assert_eq!(json_hint(Path::new("baton.json"), slow * 3), "");
        assert_eq!(json_hint(Path::new("baton.toml"), slow * 3), "");
    }
}
