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
    let loaded = config::load(config_file)?;
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
