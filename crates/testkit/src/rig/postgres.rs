//! A PostgreSQL server of a test's own, from the same Debian packages as the rig's, on a free
//! port in a temporary folder, so a test can stop and start it (a database outage) without
//! disturbing the rig's server that other tests share. Stopped and removed on drop.

use std::net::TcpStream;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// A running (or stopped) PostgreSQL of one test.
#[derive(Debug)]
pub struct OwnPostgres {
    bin: PathBuf,
    dir: tempfile::TempDir,
    port: u16,
    url: String,
    server: Option<Child>,
}

/// The newest `/usr/lib/postgresql/N/bin` with `initdb` (what `scripts/rig` uses).
fn server_bin() -> anyhow::Result<PathBuf> {
    let mut found: Vec<(u32, PathBuf)> = std::fs::read_dir("/usr/lib/postgresql")
        .context("no PostgreSQL server under /usr/lib/postgresql: run scripts/rig up")?
        .filter_map(|e| {
            let e = e.ok()?;
            let n = e.file_name().to_str()?.parse().ok()?;
            let bin = e.path().join("bin");
            bin.join("initdb").exists().then_some((n, bin))
        })
        .collect();
    found.sort();
    found
        .pop()
        .map(|(_, b)| b)
        .context("no initdb under /usr/lib/postgresql/*/bin")
}

/// `cmd` run as the `postgres` user when we are root (postgres refuses to run as root).
fn as_postgres(root: bool, program: &Path) -> Command {
    if root {
        let mut c = Command::new("setpriv");
        c.args(["--reuid=postgres", "--regid=postgres", "--init-groups"])
            .arg(program);
        c
    } else {
        Command::new(program)
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.trim_ascii() == b"0")
}

impl OwnPostgres {
    /// Creates a cluster (user `baton`, a random password) and starts it.
    pub fn start_new() -> anyhow::Result<Self> {
        let bin = server_bin()?;
        let dir = tempfile::Builder::new().prefix("baton-own-pg").tempdir()?;
        let root = is_root();
        let password = format!("pw{:016x}", rand::random::<u64>());
        std::fs::write(dir.path().join("pw"), &password)?;
        if root {
            let chown = Command::new("chown")
                .args(["-R", "postgres:"])
                .arg(dir.path())
                .status()?;
            if !chown.success() {
                bail!("chown postgres {} failed", dir.path().display());
            }
        }
        let out = as_postgres(root, &bin.join("initdb"))
            .arg("-D")
            .arg(dir.path().join("data"))
            .args(["-U", "baton", "--auth=scram-sha-256", "-E", "UTF8"])
            .args(["--no-locale", "--no-sync"])
            .arg(format!("--pwfile={}", dir.path().join("pw").display()))
            .output()?;
        if !out.status.success() {
            bail!(
                "initdb failed: {}",
                String::from_utf8_lossy(&out.stderr).trim()
            );
        }
        let port = std::net::TcpListener::bind("127.0.0.1:0")?
            .local_addr()?
            .port();
        let conf = "listen_addresses = '127.0.0.1'\nunix_socket_directories = ''\n\
                    fsync = off\nsynchronous_commit = off\nfull_page_writes = off\n";
        let file = dir.path().join("data/postgresql.conf");
        let text = std::fs::read_to_string(&file)? + conf;
        std::fs::write(&file, text)?;
        let mut pg = OwnPostgres {
            bin,
            url: format!("postgres://baton:{password}@127.0.0.1:{port}/postgres"),
            dir,
            port,
            server: None,
        };
        pg.start()?;
        Ok(pg)
    }

    /// `postgres://baton:PASSWORD@127.0.0.1:PORT/postgres`.
    pub fn url(&self) -> &str {
        &self.url
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> String {
        format!("127.0.0.1:{}", self.port)
    }

    /// Starts the server (again) and waits (at most 30 s) until it accepts connections.
    pub fn start(&mut self) -> anyhow::Result<()> {
        if self.server.is_some() {
            return Ok(());
        }
        let child = as_postgres(is_root(), &self.bin.join("postgres"))
            .arg("-D")
            .arg(self.dir.path().join("data"))
            .args(["-p", &self.port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(self.dir.path().join("server.log"))?)
            .spawn()?;
        self.server = Some(child);
        let deadline = Instant::now() + Duration::from_secs(30);
        // Accepting TCP is not enough while it recovers: wait for pg_isready.
        loop {
            let ready = Command::new(self.bin.join("pg_isready"))
                .args(["-h", "127.0.0.1", "-p", &self.port.to_string(), "-t", "2"])
                .stdout(Stdio::null())
                .status()
                .is_ok_and(|s| s.success());
            if ready && TcpStream::connect(self.addr()).is_ok() {
                return Ok(());
            }
            if Instant::now() > deadline {
                bail!(
                    "PostgreSQL did not start in 30 s: {}",
                    std::fs::read_to_string(self.dir.path().join("server.log")).unwrap_or_default()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Stops the server (fast shutdown: clients are disconnected) and waits for it to exit.
    pub fn stop(&mut self) -> anyhow::Result<()> {
        let Some(mut child) = self.server.take() else {
            return Ok(());
        };
        // The postmaster runs as postgres: signal it through kill(1), which root may do.
        Command::new("kill")
            .args(["-INT", &child.id().to_string()])
            .status()?;
        let deadline = Instant::now() + Duration::from_secs(30);
        while child.try_wait()?.is_none() {
            if Instant::now() > deadline {
                child.kill()?;
                bail!("PostgreSQL did not stop in 30 s");
            }
            std::thread::sleep(Duration::from_millis(50));
        }
        Ok(())
    }
}

impl Drop for OwnPostgres {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
