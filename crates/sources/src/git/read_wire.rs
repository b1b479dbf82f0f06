//! Reading the watched files at a commit without a `git` process or a local repository
//! (issue 13: the push path), over the transport of `ls-refs`.
//!
//! Why: the CLI read was three local processes and two fetches, each a process that also
//! indexes its pack; at 5-15 ms a spawn that was most of a push's latency. Here a read is one
//! fetch of the commit and its trees (`deepen 1` and `filter blob:none`: no history, no
//! blobs) and, when a watched blob changed, one fetch of those blobs by id. The relation to
//! the last observed commit comes from the commit's parents; when that commit is not a
//! parent, one more fetch of commits only (`filter tree:0`, `have <last>`) tells a
//! fast-forward, a move back or a rewrite. Nothing is written to disk. Remotes this does not
//! serve (ssh, `file://`, protocol v0, servers that refuse filters) get the CLI read.

use std::collections::{BTreeMap, HashMap};

use super::command::Git;
use super::fetch::{Fetched, Limits, Want, fetch};
use super::observation::{GitObservation, History};
use super::pack::{self, Kind, Object, tree_entries};
use super::watch::GitWatch;
use super::wire::{self, Remote};
use crate::Error;

/// The commit and its trees: trees of a large monorepo stay well under this.
const TREES: Limits = Limits {
    answer: 32 << 20,
    pack: pack::Limits {
        object: 16 << 20,
        total: 128 << 20,
    },
};

/// The watched blobs: each at most the largest values file read.
pub(super) const BLOBS: Limits = Limits {
    answer: 32 << 20,
    pack: pack::Limits {
        object: super::snapshot::MAX_FILE_BYTES,
        total: 64 << 20,
    },
};

/// Commits only, to relate the new commit to the last; past this the relation is unknown.
const HISTORY: Limits = Limits {
    answer: 8 << 20,
    pack: pack::Limits {
        object: 1 << 20,
        total: 32 << 20,
    },
};

impl GitWatch {
    /// The observation at `commit` (a full SHA-1 id), read in-process; `None` when the remote
    /// is one for the CLI. [`Error::NotOnBranch`] when the remote does not hold the commit.
    pub(super) async fn read_wire(
        &self,
        git: &Git,
        commit: &str,
        last: Option<&GitObservation>,
        changed: Option<&[String]>,
    ) -> Result<Option<GitObservation>, Error> {
        let Some(remote) = Remote::parse(&self.url, git.credentials.as_ref()) else {
            return Ok(None);
        };
        if commit.len() != 40 || !commit.bytes().all(|b| b.is_ascii_hexdigit()) {
            return Ok(None);
        }
        let commit = commit.to_ascii_lowercase();
        // Boxed: three fetches make a large future for the callers' stacks.
        let work = Box::pin(self.read_remote(&remote, &commit, last, changed));
        tokio::time::timeout(git.timeout, work)
            .await
            .map_err(|_| Error::Timeout {
                what: format!("fetch {commit} from {}", remote.url),
                after: git.timeout,
            })?
    }

    async fn read_remote(
        &self,
        remote: &Remote,
        commit: &str,
        last: Option<&GitObservation>,
        changed: Option<&[String]>,
    ) -> Result<Option<GitObservation>, Error> {
        let lookup = self.lookup(last, changed);
        let want = Want {
            wants: &[commit],
            deepen: Some(1),
            // Only the commit when no watched path is looked up.
            filter: Some(if lookup.is_empty() {
                "tree:0"
            } else {
                "blob:none"
            }),
            ..Want::default()
        };
        let what = format!("commit {commit}");
        let objects = match fetch(remote, &want, TREES, &what).await? {
            Fetched::Objects(objects) => objects,
            Fetched::Missing(msg) => {
                let why = format!("the remote does not hold it ({msg})");
                return Err(self.not_on_branch(commit, why));
            }
            Fetched::UseCli(why) => {
                tracing::debug!(url = %remote.url, %why, "in-process fetch not served; using the git CLI");
                return Ok(None);
            }
        };
        let raw = object(&objects, commit, Kind::Commit, remote)?;
        let mut blobs = BTreeMap::new();
        if !lookup.is_empty() {
            let root = header(&raw.data, "tree").unwrap_or_default();
            for path in &lookup {
                if let Some(oid) = blob_at(&objects, root, path, remote)? {
                    blobs.insert(path.to_string(), oid);
                }
            }
        }
        let wanted = self.wanted(last, &lookup, &blobs);
        let what = format!(
            "{} at {commit}",
            lookup
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        );
        // The history fetch (only when the last commit is not a parent) and the blob fetch
        // (only when a watched blob changed) do not depend on each other.
        let history = async {
            match last.and_then(|l| l.commit.as_deref()) {
                None => Ok(None),
                Some(prev) => relation(remote, &raw.data, prev, commit).await.map(Some),
            }
        };
        let (history, contents) = tokio::try_join!(history, read_blobs(remote, &wanted, &what))?;
        let files = self.files(last, &lookup, &blobs, contents)?;
        Ok(Some(self.observed(commit, &raw.data, history, files)))
    }
}

/// The blobs `wanted`, by id, in one fetch (none when `wanted` is empty).
async fn read_blobs(
    remote: &Remote,
    wanted: &[&str],
    what: &str,
) -> Result<BTreeMap<String, Vec<u8>>, Error> {
    let mut contents = BTreeMap::new();
    if wanted.is_empty() {
        return Ok(contents);
    }
    let want = Want {
        wants: wanted,
        ..Want::default()
    };
    let mut got = match fetch(remote, &want, BLOBS, what).await? {
        Fetched::Objects(objects) => objects,
        Fetched::Missing(msg) | Fetched::UseCli(msg) => {
            return Err(wire::protocol(&remote.url, &format!("fetch {what}: {msg}")));
        }
    };
    for oid in wanted {
        // Two watched paths may hold the same blob.
        if contents.contains_key(*oid) {
            continue;
        }
        object(&got, oid, Kind::Blob, remote)?;
        if let Some(blob) = got.remove(*oid) {
            contents.insert(oid.to_string(), blob.data);
        }
    }
    Ok(contents)
}

/// How `new` (whose raw commit is `raw`) relates to `prev`: from its parents when `prev` is
/// one, else from the commits the remote sends for `want new, have prev`: none when `new` is
/// reachable from `prev` (behind); one whose parent is `prev` when `prev` is an ancestor.
async fn relation(remote: &Remote, raw: &[u8], prev: &str, new: &str) -> Result<History, Error> {
    let is_parent = |raw: &[u8]| parents(raw).any(|p| p.eq_ignore_ascii_case(prev));
    if is_parent(raw) {
        return Ok(History::FastForward);
    }
    let want = Want {
        wants: &[new],
        have: Some(prev),
        filter: Some("tree:0"),
        ..Want::default()
    };
    let commits = match fetch(remote, &want, HISTORY, &format!("history of {new}")).await {
        Ok(Fetched::Objects(commits)) => commits,
        Ok(_) | Err(Error::TooLarge { .. }) => return Ok(History::Unknown),
        Err(e) => return Err(e),
    };
    Ok(if !commits.contains_key(new) {
        History::Behind
    } else if commits
        .values()
        .any(|o| o.kind == Kind::Commit && is_parent(&o.data))
    {
        History::FastForward
    } else {
        History::ForcePush
    })
}

/// The value of the first `name` header of a raw commit.
fn header<'a>(raw: &'a [u8], name: &str) -> Option<&'a str> {
    headers(raw).find_map(|(k, v)| (k == name).then_some(v))
}

fn parents(raw: &[u8]) -> impl Iterator<Item = &str> {
    headers(raw).filter_map(|(k, v)| (k == "parent").then_some(v))
}

fn headers(raw: &[u8]) -> impl Iterator<Item = (&str, &str)> {
    raw.split(|b| *b == b'\n')
        .take_while(|l| !l.is_empty())
        .filter_map(|l| std::str::from_utf8(l).ok()?.split_once(' '))
}

/// The object `oid` of the answer, which must be of `kind`.
fn object<'a>(
    objects: &'a HashMap<String, Object>,
    oid: &str,
    kind: Kind,
    remote: &Remote,
) -> Result<&'a Object, Error> {
    objects.get(oid).filter(|o| o.kind == kind).ok_or_else(|| {
        wire::protocol(
            &remote.url,
            &format!("fetch: the answer lacks the {kind:?} {oid}").to_lowercase(),
        )
    })
}

/// The blob id at `path` from the tree `root`, or `None` when the path is not a file there.
fn blob_at(
    objects: &HashMap<String, Object>,
    root: &str,
    path: &str,
    remote: &Remote,
) -> Result<Option<String>, Error> {
    let mut tree = root.to_owned();
    let mut parts = path.split('/').peekable();
    while let Some(name) = parts.next() {
        let data = &object(objects, &tree, Kind::Tree, remote)?.data;
        let entries = tree_entries(data)
            .map_err(|e| wire::protocol(&remote.url, &format!("fetch: tree {tree}: {e}")))?;
        let last = parts.peek().is_none();
        let found = entries.into_iter().find(|(mode, n, _)| {
            *n == name.as_bytes() && (*mode == "40000") != last && *mode != "160000"
        });
        match found {
            None => return Ok(None),
            Some((_, _, oid)) if last => return Ok(Some(oid)),
            Some((_, _, oid)) => tree = oid,
        }
    }
    Ok(None)
}

#[cfg(test)]
#[path = "read_wire_tests.rs"]
mod tests;
