//! Reading the watched files at one commit, and checking a commit that a push or an operator
//! names instead of asking the remote for the branch head.
//!
//! A pushed commit on a `git://` or smart-HTTP remote is read in-process (`read_wire`); this
//! is the CLI read, for the other remotes and for `sync --commit`. Why this shape: every `git` process costs a spawn (5-15 ms on a busy 2-core machine), and a
//! partial clone fetches each missing blob in a process of its own when a read touches it. So
//! a read here is: one `ls-tree` of the watched paths, one explicit fetch of the blobs that
//! changed (all in one request), and one `cat-file --batch` for the commit and those blobs. The
//! local commands run with lazy fetching off, so nothing reaches the network behind our back.

use std::collections::BTreeMap;
use std::path::Path;

use super::command::Git;
use super::observation::{GitObservation, History};
use super::watch::GitWatch;
use crate::Error;

/// A commit to read the watched files at, named by a push or an operator.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AtCommit {
    /// The commit id: full for a push, possibly abbreviated (7+ hex digits) for an operator.
    pub commit: String,
    /// How the commit is shown to belong to the branch.
    pub check: OnBranch,
    /// The watched paths that may differ from the last observation's commit, when the push
    /// listed the files of every commit since then; `None`: read every watched file.
    pub changed: Option<Vec<String>>,
}

/// How a named commit is verified against the remote.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OnBranch {
    /// A signed push names it as the branch's new head: it is fetched by its id (so the remote
    /// must hold it; the signature vouches for the branch), without listing the remote's refs.
    /// A server that refuses requests by id gets the [`OnBranch::Reachable`] check instead.
    Pushed,
    /// An operator names it: the branch is fetched and the commit must be reachable from its
    /// head (the head itself or an ancestor).
    Reachable,
}

impl GitWatch {
    /// The watched files at `at.commit`, after checking that commit against the remote
    /// ([`OnBranch`]). [`Error::NotOnBranch`] when the remote's branch does not hold it.
    /// `history` tells how it relates to `last`'s commit; [`History::Behind`] is a push that
    /// names an older commit than the one observed (a late, out-of-order delivery).
    pub async fn observe_at(
        &self,
        git: &Git,
        last: Option<&GitObservation>,
        at: &AtCommit,
    ) -> Result<GitObservation, Error> {
        let full = at.commit.len() >= 40 && at.commit.bytes().all(|b| b.is_ascii_hexdigit());
        if at.check == OnBranch::Pushed && full {
            if let Some(l) = last.filter(|l| self.same_commit(l, &at.commit)) {
                return Ok(l.clone());
            }
            let changed = at.changed.as_deref();
            if let Some(obs) = self.read_wire(git, &at.commit, last, changed).await? {
                return Ok(obs);
            }
        }
        let repo = self.ensure_cache(git).await?;
        let commit = match at.check {
            OnBranch::Pushed if full => {
                let refspec = format!("+{}:refs/heads/{}", at.commit, self.branch);
                match self.fetch(git, &repo, &[&refspec]).await {
                    Ok(()) => at.commit.to_ascii_lowercase(),
                    Err(e) => {
                        tracing::debug!(commit = %at.commit, error = %baton_http::chain(&e), "fetch by id refused; checking the branch instead");
                        self.reachable(git, &repo, &at.commit).await?
                    }
                }
            }
            _ => self.reachable(git, &repo, &at.commit).await?,
        };
        if let Some(l) = last.filter(|l| self.same_commit(l, &commit)) {
            return Ok(l.clone());
        }
        self.read_at(git, &repo, &commit, last, at.changed.as_deref())
            .await
    }

    pub(super) fn same_commit(&self, last: &GitObservation, commit: &str) -> bool {
        last.commit
            .as_deref()
            .is_some_and(|c| c.eq_ignore_ascii_case(commit))
            && last.files.keys().eq(self.sorted_files())
    }

    /// Fetches `refspecs` from the remote into the cache (commits and trees; blobs only when
    /// named by id).
    pub(super) async fn fetch(
        &self,
        git: &Git,
        repo: &Path,
        refspecs: &[&str],
    ) -> Result<(), Error> {
        let mut args = vec![
            "fetch",
            "--no-tags",
            "--no-write-fetch-head",
            "--quiet",
            "origin",
        ];
        args.extend(refspecs);
        let shown = format!("fetch {} {}", self.shown_url(), self.branch);
        git.run(Some(repo), &args, &[], &shown).await.map(drop)
    }

    /// Fetches the branch; the full id of `commit` if the branch head is it or descends from it.
    async fn reachable(&self, git: &Git, repo: &Path, commit: &str) -> Result<String, Error> {
        if commit.len() < 4 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Err(self.not_on_branch(commit, "it is not a commit id (hex digits)".into()));
        }
        let refspec = format!("+refs/heads/{b}:refs/heads/{b}", b = self.branch);
        self.fetch(git, repo, &[&refspec]).await?;
        let rev = format!("{commit}^{{commit}}");
        let out = git
            .run_local(
                repo,
                &["rev-parse", "--verify", "--quiet", &rev],
                None,
                &[1, 128],
                "rev-parse",
            )
            .await?;
        let full = String::from_utf8_lossy(&out.stdout).trim().to_owned();
        if out.code != Some(0) || full.is_empty() {
            let why = "the branch's history does not contain it (or the abbreviation is ambiguous)";
            return Err(self.not_on_branch(commit, why.into()));
        }
        let head = format!("refs/heads/{}", self.branch);
        let anc = git
            .run_local(
                repo,
                &["merge-base", "--is-ancestor", &full, &head],
                None,
                &[1],
                "merge-base",
            )
            .await?;
        if anc.code != Some(0) {
            let why = "it is not the branch head or one of its ancestors";
            return Err(self.not_on_branch(commit, why.into()));
        }
        Ok(full)
    }

    pub(super) fn not_on_branch(&self, commit: &str, why: String) -> Error {
        Error::NotOnBranch {
            commit: commit.to_owned(),
            branch: self.branch.clone(),
            url: self.shown_url(),
            why,
        }
    }

    /// The observation at `commit` (local in the cache): its author and subject, its relation
    /// to `last`, and the watched files. Only `changed` paths (all when `None`, or when `last`
    /// watched other paths) are looked up; only blobs that differ from `last`'s are read.
    pub(super) async fn read_at(
        &self,
        git: &Git,
        repo: &Path,
        commit: &str,
        last: Option<&GitObservation>,
        changed: Option<&[String]>,
    ) -> Result<GitObservation, Error> {
        let history = match last.and_then(|l| l.commit.as_deref()) {
            None => None,
            Some(prev) => Some(self.relation(git, repo, prev, commit).await?),
        };
        let lookup = self.lookup(last, changed);
        let blobs = if lookup.is_empty() {
            BTreeMap::new()
        } else {
            self.tree_entries(git, repo, commit, &lookup).await?
        };
        let wanted = self.wanted(last, &lookup, &blobs);
        if !wanted.is_empty() {
            self.fetch(git, repo, &wanted).await?;
        }
        let mut input = format!("{commit}\n");
        for oid in &wanted {
            input.push_str(oid);
            input.push('\n');
        }
        let out = git
            .run_local(
                repo,
                &["cat-file", "--batch"],
                Some(input.as_bytes()),
                &[],
                "cat-file --batch",
            )
            .await?;
        let mut objects = parse_batch(&out.stdout);
        let raw = objects.remove(commit).unwrap_or_default();
        let files = self.files(last, &lookup, &blobs, objects)?;
        Ok(self.observed(commit, &raw, history, files))
    }

    /// Blob ids of `paths` at `commit` (paths not in the tree are left out).
    async fn tree_entries(
        &self,
        git: &Git,
        repo: &Path,
        commit: &str,
        paths: &[&String],
    ) -> Result<BTreeMap<String, String>, Error> {
        let mut args = vec!["ls-tree", "-z", "--full-tree", commit, "--"];
        args.extend(paths.iter().map(|p| p.as_str()));
        let out = git.run_local(repo, &args, None, &[], "ls-tree").await?;
        let mut blobs = BTreeMap::new();
        for entry in out.stdout.split(|b| *b == 0).filter(|e| !e.is_empty()) {
            let entry = String::from_utf8_lossy(entry);
            // "<mode> <type> <oid>\t<path>"
            if let Some((meta, path)) = entry.split_once('\t')
                && let [_, "blob", oid] = meta.split(' ').collect::<Vec<_>>().as_slice()
            {
                blobs.insert(path.to_string(), oid.to_string());
            }
        }
        Ok(blobs)
    }

    async fn relation(
        &self,
        git: &Git,
        repo: &Path,
        prev: &str,
        new: &str,
    ) -> Result<History, Error> {
        let is_ancestor = |a: String, b: String| async move {
            let out = git
                .run_local(
                    repo,
                    &["merge-base", "--is-ancestor", &a, &b],
                    None,
                    &[1, 128],
                    "merge-base --is-ancestor",
                )
                .await?;
            Ok::<_, Error>(out.code)
        };
        Ok(match is_ancestor(prev.to_owned(), new.to_owned()).await? {
            Some(0) => History::FastForward,
            Some(1) => match is_ancestor(new.to_owned(), prev.to_owned()).await? {
                Some(0) => History::Behind,
                _ => History::ForcePush,
            },
            // The previous commit is not in the cache (cache lost).
            _ => History::Unknown,
        })
    }
}

/// The objects of `git cat-file --batch` output, by id (missing ones left out).
fn parse_batch(mut out: &[u8]) -> BTreeMap<String, Vec<u8>> {
    let mut objects = BTreeMap::new();
    while let Some(nl) = out.iter().position(|b| *b == b'\n') {
        let header = String::from_utf8_lossy(&out[..nl]).into_owned();
        out = &out[nl + 1..];
        // "<oid> <type> <size>" or "<name> missing"
        let mut parts = header.split(' ');
        let (Some(oid), Some(_kind), Some(size)) = (parts.next(), parts.next(), parts.next())
        else {
            continue;
        };
        let Ok(size) = size.parse::<usize>() else {
            continue;
        };
        let body = &out[..size.min(out.len())];
        objects.insert(oid.to_owned(), body.to_vec());
        out = out.get(size + 1..).unwrap_or_default();
    }
    objects
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
