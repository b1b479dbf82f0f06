//! Running `git` safely: timeouts, no prompts, no ambient config, credentials via env.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use secrecy::ExposeSecret as _;
use tokio::process::Command;

use crate::{Credentials, Error};

/// Helper script for `credential.helper`: answers `get` from two environment variables.
const CREDENTIAL_HELPER: &str = "!f() { test \"$1\" = get || exit 0; printf 'username=%s\\npassword=%s\\n' \"$BATON_GIT_USERNAME\" \"$BATON_GIT_PASSWORD\"; }; f";

/// How to run git: binary, timeout, credentials.
#[derive(Debug, Clone)]
pub struct Git {
    /// The git binary (default `git` on `PATH`).
    pub binary: PathBuf,
    /// Limit for one git command.
    pub timeout: Duration,
    pub(crate) credentials: Option<Credentials>,
    pub(crate) ssh: Option<SshAuth>,
}

/// Key and known-hosts files for ssh remotes.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct SshAuth {
    pub key_file: PathBuf,
    pub known_hosts_file: Option<PathBuf>,
}

/// Quotes `s` for the POSIX shell git runs `GIT_SSH_COMMAND` through.
fn shell_quote(s: &str) -> String {
    format!("'{}'", s.replace('\'', "'\\''"))
}

impl SshAuth {
    /// `GIT_SSH_COMMAND`: batch mode, this key only, strict host key checking.
    pub(crate) fn command(&self) -> String {
        let mut c = format!(
            "ssh -o BatchMode=yes -o ConnectTimeout=15 -o IdentitiesOnly=yes -o StrictHostKeyChecking=yes -i {}",
            shell_quote(&self.key_file.display().to_string())
        );
        if let Some(kh) = &self.known_hosts_file {
            c.push_str(&format!(
                " -o UserKnownHostsFile={}",
                shell_quote(&kh.display().to_string())
            ));
        }
        c
    }
}

/// What a finished git command printed.
pub(crate) struct Output {
    pub stdout: Vec<u8>,
    pub code: Option<i32>,
}

impl Git {
    /// `git` from `PATH`, 60 s per command, no credentials.
    pub fn new() -> Self {
        Git {
            binary: PathBuf::from("git"),
            timeout: Duration::from_secs(60),
            credentials: None,
            ssh: None,
        }
    }

    /// Uses these credentials for HTTP remotes.
    pub fn with_credentials(mut self, credentials: Option<Credentials>) -> Self {
        self.credentials = credentials;
        self
    }

    /// Runs `git <args>` in `dir`; a non-zero exit is an error unless listed in `ok_codes`.
    /// `shown` is the command as it may appear in errors (no secrets, no URLs with userinfo).
    pub(crate) async fn run(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        ok_codes: &[i32],
        shown: &str,
    ) -> Result<Output, Error> {
        self.run_with(dir, args, None, ok_codes, shown).await
    }

    /// [`Git::run`] in a local repository, with `input` on stdin, never fetching missing
    /// objects from the promisor remote (`GIT_NO_LAZY_FETCH`): reads of a partial clone fetch
    /// what they need explicitly, in one request, instead of one process per missing object.
    pub(crate) async fn run_local(
        &self,
        dir: &Path,
        args: &[&str],
        input: Option<&[u8]>,
        ok_codes: &[i32],
        shown: &str,
    ) -> Result<Output, Error> {
        self.run_with(
            Some(dir),
            args,
            Some(input.unwrap_or_default()),
            ok_codes,
            shown,
        )
        .await
    }

    async fn run_with(
        &self,
        dir: Option<&Path>,
        args: &[&str],
        local_input: Option<&[u8]>,
        ok_codes: &[i32],
        shown: &str,
    ) -> Result<Output, Error> {
        let mut cmd = Command::new(&self.binary);
        cmd.args([
            "-c",
            "credential.helper=",
            "-c",
            &format!("credential.helper={CREDENTIAL_HELPER}"),
        ])
        .args([
            "-c",
            "protocol.version=2",
            "-c",
            "core.askPass=",
            "-c",
            "http.followRedirects=initial",
        ])
        .args(args)
        .env("GIT_TERMINAL_PROMPT", "0")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env(
            "GIT_CONFIG_GLOBAL",
            if cfg!(windows) { "NUL" } else { "/dev/null" },
        )
        .env(
            "GIT_ASKPASS",
            if cfg!(windows) {
                "cmd /c exit 1"
            } else {
                "false"
            },
        )
        .env("SSH_ASKPASS", "false")
        .env(
            "GIT_SSH_COMMAND",
            self.ssh.as_ref().map_or_else(
                || {
                    "ssh -o BatchMode=yes -o ConnectTimeout=15 -o StrictHostKeyChecking=yes"
                        .to_string()
                },
                SshAuth::command,
            ),
        )
        .env_remove("BATON_GIT_USERNAME")
        .env_remove("BATON_GIT_PASSWORD")
        .stdin(if local_input.is_some_and(|i| !i.is_empty()) {
            Stdio::piped()
        } else {
            Stdio::null()
        })
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true);
        if let Some(c) = &self.credentials {
            cmd.env("BATON_GIT_USERNAME", &c.username)
                .env("BATON_GIT_PASSWORD", c.password.expose_secret());
        }
        if let Some(d) = dir {
            cmd.current_dir(d);
        }
        if local_input.is_some() {
            cmd.env("GIT_NO_LAZY_FETCH", "1");
        }
        let mut child = cmd.spawn().map_err(|source| Error::Io {
            action: "run",
            path: self.binary.display().to_string(),
            source,
        })?;
        let io_err = |source| Error::Io {
            action: "wait for",
            path: format!("git {shown}"),
            source,
        };
        let done = async {
            // The input is a few object names: it fits in the pipe, so writing all of it
            // before reading cannot block on git's output.
            if let (Some(input), Some(mut stdin)) = (local_input, child.stdin.take()) {
                use tokio::io::AsyncWriteExt as _;
                stdin.write_all(input).await?;
            }
            child.wait_with_output().await
        };
        let out = tokio::time::timeout(self.timeout, done)
            .await
            .map_err(|_| Error::Timeout {
                what: format!("git {shown}"),
                after: self.timeout,
            })?
            .map_err(io_err)?;
        let code = out.status.code();
        if out.status.success() || code.is_some_and(|c| ok_codes.contains(&c)) {
            return Ok(Output {
                stdout: out.stdout,
                code,
            });
        }
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(4).collect();
        Err(Error::Git {
            command: shown.to_string(),
            status: out.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join(" | "),
        })
    }
}

impl Default for Git {
    fn default() -> Self {
        Git::new()
    }
}
