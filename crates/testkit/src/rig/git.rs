//! Bare repos under the rig's git root, served by smart HTTP and `git daemon`. Uses the git CLI;
//! commits are made in scratch clones under a temporary folder and pushed to the bare repo.

use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context, bail};

use super::Rig;

/// A bare repo on the rig.
#[derive(Debug, Clone)]
pub struct GitRepo {
    /// Folder name under the git root, e.g. `chart-1a2b3c.git`.
    pub name: String,
    /// Path of the bare repo.
    pub path: PathBuf,
    /// Smart-HTTP URL.
    pub http_url: String,
    /// `git://` URL.
    pub daemon_url: String,
}

impl Rig {
    /// A fresh, uniquely named bare repo under `git_root` with no commits; its default branch is
    /// [`Rig::git_branch`]. Seed it with [`GitRepo::commit`].
    pub fn new_git_repo(&self, prefix: &str) -> anyhow::Result<GitRepo> {
        if prefix.is_empty()
            || !prefix
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
        {
            bail!("git repo prefix {prefix:?} must be non-empty letters, digits, '-' or '_'");
        }
        let name = format!("{prefix}-{:016x}.git", rand::random::<u64>());
        let repo = self.git_repo(&name);
        let branch = format!("--initial-branch={}", self.git_branch);
        git(
            None,
            &["init", "-q", "--bare", &branch, path_str(&repo.path)?],
        )?;
        Ok(repo)
    }

    /// The repo called `name` under `git_root` (e.g. [`Rig::chart_source_repo`]); not checked.
    pub fn git_repo(&self, name: &str) -> GitRepo {
        GitRepo {
            name: name.to_string(),
            path: self.git_root.join(name),
            http_url: format!("{}/{name}", self.git_http_base),
            daemon_url: format!("{}/{name}", self.git_daemon_base),
        }
    }
}

impl GitRepo {
    /// Commit these files (path, content; `None` = delete) on `branch` and push to the bare
    /// repo; returns the commit sha. The branch is created (without parent) when missing.
    pub fn commit(
        &self,
        branch: &str,
        files: &[(&str, Option<&[u8]>)],
        message: &str,
    ) -> anyhow::Result<String> {
        let scratch = tempfile::tempdir().context("creating a scratch folder for a git clone")?;
        let work = scratch.path().join("work");
        let work_str = path_str(&work)?;
        git(None, &["clone", "-q", path_str(&self.path)?, work_str])?;
        let wd = Some(work.as_path());
        let remote_ref = format!("refs/remotes/origin/{branch}");
        if git(wd, &["rev-parse", "-q", "--verify", &remote_ref]).is_ok() {
            git(wd, &["checkout", "-q", "-B", branch, &remote_ref])?;
        } else {
            git(wd, &["checkout", "-q", "--orphan", branch])?;
            git(wd, &["rm", "-r", "-f", "-q", "--ignore-unmatch", "."])?;
        }
        for (path, content) in files {
            let target = work.join(path);
            if !target.starts_with(&work) || path.split('/').any(|c| c == "..") {
                bail!("file path {path:?} leaves the repository");
            }
            match content {
                Some(bytes) => {
                    if let Some(dir) = target.parent() {
                        std::fs::create_dir_all(dir)
                            .with_context(|| format!("creating folder for {path}"))?;
                    }
                    std::fs::write(&target, bytes).with_context(|| format!("writing {path}"))?;
                }
                None => {
                    git(wd, &["rm", "-q", "--", path])
                        .with_context(|| format!("deleting {path} on {branch}"))?;
                }
            }
        }
        git(wd, &["add", "-A"])?;
        git(
            wd,
            &[
                "-c",
                "user.name=baton test",
                "-c",
                "user.email=test@baton.invalid",
                "-c",
                "commit.gpgsign=false",
                "commit",
                "-q",
                "--allow-empty",
                "-m",
                message,
            ],
        )?;
        git(
            wd,
            &["push", "-q", "origin", &format!("HEAD:refs/heads/{branch}")],
        )?;
        git(wd, &["rev-parse", "HEAD"])
    }

    /// Force-move `branch` to `sha` (for force-push tests); delete it when `sha` is `None`.
    pub fn set_branch(&self, branch: &str, sha: Option<&str>) -> anyhow::Result<()> {
        let git_dir = format!("--git-dir={}", path_str(&self.path)?);
        let full = format!("refs/heads/{branch}");
        match sha {
            Some(sha) => git(None, &[&git_dir, "update-ref", &full, sha])?,
            None => git(None, &[&git_dir, "update-ref", "-d", &full])?,
        };
        Ok(())
    }

    /// The sha `branch` points at, or `None` when it does not exist.
    pub fn head(&self, branch: &str) -> anyhow::Result<Option<String>> {
        let git_dir = format!("--git-dir={}", path_str(&self.path)?);
        let full = format!("refs/heads/{branch}");
        Ok(git(None, &[&git_dir, "rev-parse", "-q", "--verify", &full]).ok())
    }
}

fn path_str(p: &Path) -> anyhow::Result<&str> {
    p.to_str()
        .with_context(|| format!("path {} is not UTF-8", p.display()))
}

/// Runs git (in `dir` if given) without the user's or system config; returns trimmed stdout.
fn git(dir: Option<&Path>, args: &[&str]) -> anyhow::Result<String> {
    let mut cmd = Command::new("git");
    if let Some(dir) = dir {
        cmd.current_dir(dir);
    }
    cmd.args(args)
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_TERMINAL_PROMPT", "0");
    let out = cmd
        .output()
        .with_context(|| format!("running git {}", args.join(" ")))?;
    if !out.status.success() {
        bail!(
            "git {} failed ({}): {}",
            args.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}
