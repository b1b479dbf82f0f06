//! The real `baton serve` binary as a child process, for tests and benchmarks that need a
//! process (SIGKILL, exit codes, stderr). It is started with `--ready-file` and counted ready
//! when that file names the bound address: no log scraping.
//!
//! The path of the binary is the caller's (`env!("CARGO_BIN_EXE_baton")` in baton's own
//! tests), so testkit does not depend on baton.

use std::io::{BufRead as _, BufReader};
use std::path::Path;
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};

/// How `baton serve` is started.
#[must_use]
pub struct ServeCommand {
    command: Command,
    wait: Duration,
    keep_reading: bool,
    ready_dir: tempfile::TempDir,
}

impl ServeCommand {
    /// Sets an environment variable of the child.
    pub fn env(mut self, key: &str, value: impl AsRef<std::ffi::OsStr>) -> Self {
        self.command.env(key, value);
        self
    }

    /// Extra arguments after `serve` (e.g. `--drain 1s`).
    pub fn args<I, S>(mut self, args: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: AsRef<std::ffi::OsStr>,
    {
        self.command.args(args);
        self
    }

    /// How long to wait for readiness (default 60 s).
    pub fn wait(mut self, wait: Duration) -> Self {
        self.wait = wait;
        self
    }

    /// Stop reading (and close) the child's stderr once it is ready, as when the reader of a
    /// pipeline or a log collector goes away.
    pub fn close_stderr_when_ready(mut self) -> Self {
        self.keep_reading = false;
        self
    }

    /// Starts the child and waits until its ready file names its address.
    pub fn start(mut self) -> anyhow::Result<BatonProcess> {
        let ready_file = self.ready_dir.path().join("ready");
        self.command
            .arg("--ready-file")
            .arg(&ready_file)
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::piped());
        let mut child = self.command.spawn().context("starting baton serve")?;
        let stderr = child.stderr.take().context("baton serve's stderr")?;
        let log = Arc::new(Mutex::new(Vec::new()));
        let lines = log.clone();
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<()>();
        let keep_reading = self.keep_reading;
        std::thread::spawn(move || {
            let mut reader = BufReader::new(stderr).lines();
            loop {
                if !keep_reading && ready_rx.try_recv().is_ok() {
                    return;
                }
                match reader.next() {
                    Some(Ok(line)) => lines.lock().unwrap_or_else(|e| e.into_inner()).push(line),
                    _ => return,
                }
            }
        });
        let mut process = BatonProcess {
            child,
            url: String::new(),
            probe_url: None,
            log,
            _ready_dir: self.ready_dir,
        };
        let deadline = Instant::now() + self.wait;
        loop {
            if let Ok(text) = std::fs::read_to_string(&ready_file)
                && let Some(addr) = text.lines().next().filter(|a| !a.is_empty())
            {
                process.url = format!("http://{addr}");
                process.probe_url = text.lines().nth(1).map(|p| format!("http://{p}"));
                let _ = ready_tx.send(());
                return Ok(process);
            }
            if let Some(status) = process.child.try_wait()? {
                bail!(
                    "baton serve exited ({status}) before it was ready:\n{}",
                    process.log()
                );
            }
            if Instant::now() >= deadline {
                bail!(
                    "baton serve was not ready within {:?}:\n{}",
                    self.wait,
                    process.log()
                );
            }
            std::thread::sleep(Duration::from_millis(10));
        }
    }
}

/// A running `baton serve`; SIGKILLed on drop.
pub struct BatonProcess {
    child: Child,
    /// `http://IP:PORT` of its HTTP API.
    pub url: String,
    /// `http://IP:PORT` of its probe listener, when `api.probe_listen` is set.
    pub probe_url: Option<String>,
    log: Arc<Mutex<Vec<String>>>,
    _ready_dir: tempfile::TempDir,
}

impl BatonProcess {
    /// `bin serve --config config`, with `BATON_CONFIG` removed and `RUST_LOG=info` unless
    /// set otherwise.
    pub fn serve(bin: impl AsRef<Path>, config: &Path) -> ServeCommand {
        let mut command = Command::new(bin.as_ref());
        command
            .env_remove("BATON_CONFIG")
            .env("RUST_LOG", "info")
            .arg("serve")
            .arg("--config")
            .arg(config);
        ServeCommand {
            command,
            wait: Duration::from_secs(60),
            keep_reading: true,
            ready_dir: tempfile::tempdir().expect("a temporary folder for the ready file"),
        }
    }

    /// What the daemon wrote to stderr so far.
    pub fn log(&self) -> String {
        self.log
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .join("\n")
    }

    /// The child's process id.
    pub fn pid(&self) -> u32 {
        self.child.id()
    }

    /// SIGKILL: no drain, no cleanup; leases stay in the store.
    pub fn kill9(mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// SIGTERM, then waits (bounded) for the exit; SIGKILL after `grace`.
    pub fn terminate(mut self, grace: Duration) -> Option<std::process::ExitStatus> {
        let _ = Command::new("kill")
            .args(["-TERM", &self.child.id().to_string()])
            .status();
        let deadline = Instant::now() + grace;
        while Instant::now() < deadline {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Some(status);
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        None
    }
}

impl Drop for BatonProcess {
    fn drop(&mut self) {
        if let Ok(None) = self.child.try_wait() {
            let _ = self.child.kill();
            let _ = self.child.wait();
        }
    }
}
