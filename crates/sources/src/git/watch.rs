//! The branch watch: `ls-refs`, then the watched files at the head (`read_wire` in-process,
//! else a blob-filtered fetch into a cache clone and `read`).

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use super::command::Git;
use super::ls_refs::{LsRef, ls_ref};
use super::observation::GitObservation;
use super::refs::{parse_ls_remote, valid_branch};
use crate::{CheckReport, Error};

/// A branch of a remote and the files to read from it.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitWatch {
    /// Remote URL: `https://`, `http://`, `git://`, `file://`, `ssh://` or a local path.
    pub url: String,
    /// Branch name.
    pub branch: String,
    /// Paths relative to the repository root (e.g. `microgateway/values-dev.yaml`).
    pub files: Vec<String>,
    /// Local folder for the blob-filtered cache clone of this remote (made only by CLI reads:
    /// ssh, `file://`, `sync --commit`, servers the in-process client does not serve). Run one check at a time
    /// per folder (the daemon polls each watch from one task); git's own locks refuse overlaps.
    pub cache_dir: PathBuf,
}

impl GitWatch {
    /// A watch for `values-<env>.yaml` in `dir` (`.` or empty for the repository root).
    pub fn for_values(
        url: &str,
        branch: &str,
        dir: &str,
        environments: &[&str],
        cache_root: &Path,
    ) -> Result<Self, Error> {
        if !valid_branch(branch) {
            return Err(Error::Config {
                key: "chart_source.branch".into(),
                reason: format!("{branch:?} is not a valid branch name"),
            });
        }
        let dir = dir.trim_matches('/');
        if dir.split('/').any(|c| c == "..") {
            return Err(Error::Config {
                key: "chart_source.dir".into(),
                reason: format!("{dir:?} must stay inside the repository"),
            });
        }
        let prefix = if dir.is_empty() || dir == "." {
            String::new()
        } else {
            format!("{dir}/")
        };
        let files = environments
            .iter()
            .map(|e| format!("{prefix}values-{e}.yaml"))
            .collect();
        let key = crate::http::sha256_digest(format!("{url}\n{branch}").as_bytes());
        Ok(GitWatch {
            url: url.to_string(),
            branch: branch.to_string(),
            files,
            cache_dir: cache_root.join(&key[7..23]),
        })
    }

    /// The commit the branch points at, with one `ls-refs` round trip; `None` when deleted.
    /// In-process for `git://` and smart HTTP (see `ls_refs`), else `git ls-remote`.
    pub async fn remote_head(&self, git: &Git) -> Result<Option<String>, Error> {
        let refname = format!("refs/heads/{}", self.branch);
        let found = ls_ref(&self.url, &refname, git.credentials.as_ref(), git.timeout).await?;
        if let LsRef::Head(head) = found {
            return Ok(head);
        }
        let out = git
            .run(
                None,
                &["ls-remote", "--", &self.url, &refname],
                &[],
                &format!("ls-remote {} {refname}", self.shown_url()),
            )
            .await?;
        parse_ls_remote(&String::from_utf8_lossy(&out.stdout), &refname)
    }

    /// Checks the branch and compares with `last`. Unmoved costs one `ls-refs`; a move costs
    /// one fetch of the commit and its trees plus one of the changed watched blobs
    /// (in-process, `read_wire`; the CLI's cache clone for other remotes).
    pub async fn check(
        &self,
        git: &Git,
        last: Option<&GitObservation>,
    ) -> CheckReport<GitObservation> {
        CheckReport::timed(
            last,
            |old, new| old.commit == new.commit,
            self.observe(git, last),
        )
        .await
    }

    /// One observation, without comparing.
    pub async fn observe(
        &self,
        git: &Git,
        last: Option<&GitObservation>,
    ) -> Result<GitObservation, Error> {
        let Some(head) = self.remote_head(git).await? else {
            return Ok(self.empty(None));
        };
        // Same commit and the same watched paths: nothing to read.
        if let Some(l) = last.filter(|l| self.same_commit(l, &head)) {
            return Ok(l.clone());
        }
        if let Some(obs) = self.read_wire(git, &head, last, None).await? {
            return Ok(obs);
        }
        let repo = self.ensure_cache(git).await?;
        let refspec = format!("+refs/heads/{b}:refs/heads/{b}", b = self.branch);
        self.fetch(git, &repo, &[&refspec]).await?;
        // The branch may have moved again since ls-remote: report what was fetched.
        let commit = self
            .rev(git, &repo, &format!("refs/heads/{}", self.branch))
            .await?;
        self.read_at(git, &repo, &commit, last, None).await
    }

    fn empty(&self, commit: Option<String>) -> GitObservation {
        GitObservation {
            url: self.shown_url(),
            branch: self.branch.clone(),
            commit,
            author: None,
            subject: None,
            history: None,
            files: BTreeMap::new(),
        }
    }

    pub(super) fn sorted_files(&self) -> Vec<&String> {
        let mut v: Vec<&String> = self.files.iter().collect();
        v.sort();
        v.dedup();
        v
    }

    /// The URL without any userinfo, for observations and errors.
    pub(super) fn shown_url(&self) -> String {
        match url::Url::parse(&self.url) {
            Ok(mut u) if !u.username().is_empty() || u.password().is_some() => {
                let _ = u.set_username("");
                let _ = u.set_password(None);
                u.to_string()
            }
            _ => self.url.clone(),
        }
    }

    pub(super) async fn ensure_cache(&self, git: &Git) -> Result<PathBuf, Error> {
        let repo = self.cache_dir.clone();
        let ready = repo.join("baton-ready");
        if ready.exists() {
            return Ok(repo);
        }
        let io = |action, source| Error::Io {
            action,
            path: repo.display().to_string(),
            source,
        };
        // A set-up that was interrupted leaves no marker: start that cache over.
        if repo.exists() {
            std::fs::remove_dir_all(&repo).map_err(|e| io("remove half-made cache", e))?;
        }
        std::fs::create_dir_all(&repo).map_err(|e| io("create", e))?;
        git.run(Some(&repo), &["init", "--quiet", "--bare"], &[], "init")
            .await?;
        for args in [
            &["remote", "add", "origin", self.url.as_str()][..],
            &["config", "remote.origin.promisor", "true"],
            &["config", "remote.origin.partialclonefilter", "blob:none"],
            &["config", "extensions.partialClone", "origin"],
        ] {
            git.run(Some(&repo), args, &[], &args[..2].join(" "))
                .await?;
        }
        std::fs::write(&ready, b"").map_err(|e| io("mark ready", e))?;
        Ok(repo)
    }

    async fn rev(&self, git: &Git, repo: &Path, rev: &str) -> Result<String, Error> {
        let out = git
            .run_local(
                repo,
                &[
                    "rev-parse",
                    "--verify",
                    "--quiet",
                    &format!("{rev}^{{commit}}"),
                ],
                None,
                &[],
                "rev-parse",
            )
            .await?;
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
    }
}
