//! A daemon running on the current runtime: its address, its readiness and a way to stop it.

use std::net::SocketAddr;

use anyhow::Context as _;
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

/// Readiness of a daemon: resolves once every task runs.
#[derive(Clone)]
pub struct Ready(watch::Receiver<bool>);

impl Ready {
    pub(super) fn new(rx: watch::Receiver<bool>) -> Self {
        Self(rx)
    }

    /// Waits until the daemon is ready; an error when it stopped before it got there.
    pub async fn wait(&mut self) -> anyhow::Result<()> {
        self.0
            .wait_for(|ready| *ready)
            .await
            .map(|_| ())
            .context("the daemon stopped before it was ready")
    }

    /// Whether the daemon is ready now.
    pub fn is_ready(&self) -> bool {
        *self.0.borrow()
    }
}

/// A spawned daemon ([`super::Daemon::spawn`]). Dropping the handle stops it without waiting.
pub struct DaemonHandle {
    addr: SocketAddr,
    probe: Option<SocketAddr>,
    ready: Ready,
    shutdown: CancellationToken,
    task: Option<JoinHandle<anyhow::Result<()>>>,
}

impl DaemonHandle {
    pub(super) fn new(
        addr: SocketAddr,
        probe: Option<SocketAddr>,
        ready: Ready,
        shutdown: CancellationToken,
        task: JoinHandle<anyhow::Result<()>>,
    ) -> Self {
        Self {
            addr,
            probe,
            ready,
            shutdown,
            task: Some(task),
        }
    }

    /// The address the HTTP API is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the probe listener, when there is one (`api.probe_listen`).
    pub fn probe_addr(&self) -> Option<SocketAddr> {
        self.probe
    }

    /// `http://ADDR` of the HTTP API.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Waits until every task runs; an error (with the daemon's own error, when it has one)
    /// when it stopped first.
    pub async fn ready(&mut self) -> anyhow::Result<()> {
        if self.ready.wait().await.is_ok() {
            return Ok(());
        }
        match self.task.take() {
            Some(task) => match task.await {
                Ok(Err(e)) => Err(e.context("the daemon stopped before it was ready")),
                Ok(Ok(())) => anyhow::bail!("the daemon stopped before it was ready"),
                Err(e) => Err(anyhow::Error::new(e).context("the daemon task failed")),
            },
            None => anyhow::bail!("the daemon stopped before it was ready"),
        }
    }

    /// The token that stops the daemon (drain, then exit) when cancelled.
    pub fn shutdown_token(&self) -> CancellationToken {
        self.shutdown.clone()
    }

    /// Stops the daemon and waits for its drain to end.
    pub async fn stop(mut self) -> anyhow::Result<()> {
        self.shutdown.cancel();
        match self.task.take() {
            Some(task) => task.await.context("the daemon task failed")?,
            None => Ok(()),
        }
    }
}

impl Drop for DaemonHandle {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
