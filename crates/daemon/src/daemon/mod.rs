//! The daemon as a library value: one way in for `baton serve`, `baton demo`, the tests and the
//! benchmarks.
//!
//! ```no_run
//! # async fn example() -> anyhow::Result<()> {
//! use baton_daemon::daemon::Daemon;
//! let config = baton_core::config::load("baton.yaml".as_ref())?;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let daemon = Daemon::builder(config).listener(listener).build().await?;
//! println!("listening on {}", daemon.local_addr());
//! let shutdown = tokio_util::sync::CancellationToken::new();
//! daemon.run(shutdown).await?;
//! # Ok(()) }
//! ```
//!
//! [`DaemonBuilder::build`] does everything that can fail at start (secrets, the state store,
//! the listener, the deliverers, the source table) so that a bad config is an error before any
//! task runs; [`Daemon::run`] starts the tasks, reports readiness through [`Ready`] and drains
//! them when the shutdown token is cancelled. [`Daemon::spawn`] runs it on the current runtime
//! and returns a [`DaemonHandle`] with the bound address, readiness and a stop.
//!
//! With `api.probe_listen` (or [`DaemonBuilder::probe_listener`]) a second listener serves
//! `/healthz`, `/readyz` and `/metrics` ([`crate::api::probe`]); it is started and drained with
//! the API's.

mod handle;
mod parts;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_util::sync::CancellationToken;

use baton_core::config::Loaded;

pub use handle::{DaemonHandle, Ready};

/// How long shutdown waits for in-flight work by default (`baton serve --drain`).
pub const DEFAULT_DRAIN: Duration = Duration::from_secs(20);

/// Builds a [`Daemon`] from a loaded config.
#[must_use = "a builder does nothing until build() is awaited"]
pub struct DaemonBuilder {
    config: Loaded,
    listener: Option<TcpListener>,
    probe_listener: Option<TcpListener>,
    cache_dir: Option<PathBuf>,
    drain: Duration,
}

impl DaemonBuilder {
    /// Serve on this listener instead of binding the config's `listen:` address (tests bind
    /// `127.0.0.1:0` and pass the listener in).
    pub fn listener(mut self, listener: TcpListener) -> Self {
        self.listener = Some(listener);
        self
    }

    /// Serve the probe routes on this listener instead of binding `api.probe_listen` (which
    /// may be unset: a listener given here is served either way).
    pub fn probe_listener(mut self, listener: TcpListener) -> Self {
        self.probe_listener = Some(listener);
        self
    }

    /// The folder for the git and chart caches. Default: `cache/` next to a SQLite state
    /// file, else a folder in the system's temporary folder.
    pub fn cache_dir(mut self, dir: impl Into<PathBuf>) -> Self {
        self.cache_dir = Some(dir.into());
        self
    }

    /// How long shutdown waits for in-flight deliveries ([`DEFAULT_DRAIN`] unless set).
    pub fn drain(mut self, drain: Duration) -> Self {
        self.drain = drain;
        self
    }

    /// Reads the secrets, opens the state store, binds the listener (unless one was given) and
    /// builds every component. Nothing runs yet.
    pub async fn build(self) -> anyhow::Result<Daemon> {
        let listener = match self.listener {
            Some(l) => l,
            None => {
                let listen = &self.config.config.listen;
                TcpListener::bind(listen)
                    .await
                    .with_context(|| format!("listening on {listen} (listen:)"))?
            }
        };
        let addr = listener
            .local_addr()
            .context("reading the listener's address")?;
        let probe = match (self.probe_listener, self.config.config.api.probe_listen) {
            (Some(l), _) => Some(l),
            (None, Some(at)) => Some(
                TcpListener::bind(at)
                    .await
                    .with_context(|| format!("listening on {at} (api.probe_listen)"))?,
            ),
            (None, None) => None,
        };
        let probe_addr = probe
            .as_ref()
            .map(TcpListener::local_addr)
            .transpose()
            .context("reading the probe listener's address")?;
        let parts = parts::Parts::build(self.config, self.cache_dir, self.drain).await?;
        let (ready_tx, ready_rx) = watch::channel(false);
        Ok(Daemon {
            addr,
            listener,
            probe,
            probe_addr,
            parts,
            drain: self.drain,
            ready_tx,
            ready_rx,
        })
    }
}

/// A built daemon: every component made, nothing running until [`Daemon::run`].
pub struct Daemon {
    addr: SocketAddr,
    listener: TcpListener,
    probe: Option<TcpListener>,
    probe_addr: Option<SocketAddr>,
    parts: parts::Parts,
    drain: Duration,
    ready_tx: watch::Sender<bool>,
    ready_rx: watch::Receiver<bool>,
}

impl Daemon {
    /// Starts building a daemon for `config`.
    pub fn builder(config: Loaded) -> DaemonBuilder {
        DaemonBuilder {
            config,
            listener: None,
            probe_listener: None,
            cache_dir: None,
            drain: DEFAULT_DRAIN,
        }
    }

    /// The address the HTTP API is bound to.
    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// The address of the probe listener, when there is one (`api.probe_listen`).
    pub fn probe_addr(&self) -> Option<SocketAddr> {
        self.probe_addr
    }

    /// Resolves once every task of [`Daemon::run`] has started.
    pub fn ready(&self) -> Ready {
        Ready::new(self.ready_rx.clone())
    }

    /// Runs the HTTP API, the outbox worker, the build follower, the source loops and the job
    /// intake until `shutdown` is cancelled (or the HTTP server fails), then drains them for at
    /// most the drain time plus 5 s and closes the state store.
    pub async fn run(self, shutdown: CancellationToken) -> anyhow::Result<()> {
        let Self {
            addr,
            listener,
            probe,
            probe_addr,
            parts,
            drain,
            ready_tx,
            ready_rx: _,
        } = self;
        let store = parts.store.clone();
        let state_url = parts.state_url.clone();
        let (tracker, replica) = parts.spawn(listener, probe, &shutdown)?;
        tracker.close();
        if let Some(probe) = probe_addr {
            tracing::info!(%probe, "probes (/healthz, /readyz, /metrics) on {probe}");
        }
        tracing::info!(%addr, state = %state_url, "baton listening on {addr}");
        ready_tx.send_replace(true);

        shutdown.cancelled().await;
        let deadline = drain + Duration::from_secs(5);
        if tokio::time::timeout(deadline, tracker.wait())
            .await
            .is_err()
        {
            tracing::warn!(
                "tasks still running after {}; exiting anyway",
                humantime::format_duration(deadline)
            );
        }
        store.close().await;
        drop(replica);
        tracing::info!("baton stopped");
        Ok(())
    }

    /// Runs the daemon on the current tokio runtime until the handle is stopped or dropped.
    pub fn spawn(self) -> DaemonHandle {
        let shutdown = CancellationToken::new();
        let (addr, probe) = (self.addr, self.probe_addr);
        let ready = self.ready();
        let task = tokio::spawn(self.run(shutdown.clone()));
        DaemonHandle::new(addr, probe, ready, shutdown, task)
    }
}
