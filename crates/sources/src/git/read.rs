//! Reading the watched files at one commit, and checking a commit that a push or an operator
//! names instead of asking the remote for the branch head.
//!
//! Why this shape: every `git` process costs a spawn (5-15 ms on a busy 2-core machine), and a
//! partial clone fetches each missing blob in a process of its own when a read touches it. So
//! a read here is: one `ls-tree` of the watched paths, one explicit fetch of the blobs that
//! changed (all in one request), and one `cat-file --batch` for the commit and those blobs. The
//! local commands run with lazy fetching off, so nothing reaches the network behind our back.

use std::collections::BTreeMap;
use std::path::Path;

use super::command::Git;
use super::observation::{FileState, GitObservation, History};
use super::watch::GitWatch;
use crate::Error;
use crate::yaml::{YamlLimits, validate};

/// Largest watched file read from a commit.
const MAX_FILE_BYTES: usize = 4 << 20;

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
        let repo = self.ensure_cache(git).await?;
        let full = at.commit.len() >= 40 && at.commit.bytes().all(|b| b.is_ascii_hexdigit());
        let commit = match at.check {
            OnBranch::Pushed if full => {
                if let Some(l) = last.filter(|l| self.same_commit(l, &at.commit)) {
                    return Ok(l.clone());
                }
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

    fn not_on_branch(&self, commit: &str, why: String) -> Error {
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
        let same_paths = last.is_some_and(|l| l.files.keys().eq(self.sorted_files()));
        let lookup: Vec<&String> = match (changed, same_paths) {
            (Some(c), true) => self.files.iter().filter(|p| c.contains(p)).collect(),
            _ => self.files.iter().collect(),
        };
        let blobs = if lookup.is_empty() {
            BTreeMap::new()
        } else {
            self.tree_entries(git, repo, commit, &lookup).await?
        };
        let previous = |path: &str| last.and_then(|l| l.files.get(path));
        let wanted: Vec<&str> = lookup
            .iter()
            .filter_map(|p| blobs.get(p.as_str()).map(|oid| (p, oid)))
            .filter(|(p, oid)| previous(p).and_then(FileState::blob) != Some(oid.as_str()))
            .map(|(_, oid)| oid.as_str())
            .collect();
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
        let (author, subject) = commit_meta(&raw);
        let mut files = BTreeMap::new();
        for path in &self.files {
            let state = if !lookup.contains(&path) {
                previous(path).cloned().unwrap_or(FileState::Absent)
            } else {
                match blobs.get(path) {
                    None => FileState::Absent,
                    Some(oid) => match previous(path).filter(|s| s.blob() == Some(oid.as_str())) {
                        Some(same) => same.clone(),
                        None => file_state(oid, objects.remove(oid.as_str()))?,
                    },
                }
            };
            files.insert(path.clone(), state);
        }
        Ok(GitObservation {
            url: self.shown_url(),
            branch: self.branch.clone(),
            commit: Some(commit.to_owned()),
            author: Some(author),
            subject: Some(subject),
            history,
            files,
        })
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

/// `("Name <email>", subject)` of a raw commit object.
fn commit_meta(raw: &[u8]) -> (String, String) {
    let text = String::from_utf8_lossy(raw);
    let (headers, message) = text.split_once("\n\n").unwrap_or((&text, ""));
    let author = headers
        .lines()
        .find_map(|l| l.strip_prefix("author "))
        // "Name <email> 1700000000 +0000": drop the time and zone.
        .map(|a| a.rsplitn(3, ' ').nth(2).unwrap_or(a).to_owned())
        .unwrap_or_default();
    let subject = message.lines().next().unwrap_or_default().to_owned();
    (author, subject)
}

/// A watched file from its blob; an error if the fetch did not bring the blob.
fn file_state(oid: &str, content: Option<Vec<u8>>) -> Result<FileState, Error> {
    let content = content.ok_or_else(|| Error::Git {
        command: "cat-file --batch".into(),
        status: "object missing".into(),
        stderr: format!("blob {oid} was fetched but is not in the cache"),
    })?;
    let sha256 = crate::http::sha256_digest(&content);
    if content.len() > MAX_FILE_BYTES {
        return Ok(FileState::Invalid {
            sha256,
            blob: oid.to_string(),
            line: 0,
            column: 0,
            message: format!(
                "file is {} bytes; the limit is {MAX_FILE_BYTES}",
                content.len()
            ),
        });
    }
    Ok(match validate(&content, &YamlLimits::default()) {
        Ok(()) => FileState::Present {
            sha256,
            blob: oid.to_string(),
            content,
        },
        Err(p) => FileState::Invalid {
            sha256,
            blob: oid.to_string(),
            line: p.line,
            column: p.column,
            message: p.message,
        },
    })
}

#[cfg(test)]
#[path = "read_tests.rs"]
mod tests;
