//! Which sources watch which repository and branch, and how a pushed repository URL is
//! matched against them whatever form (https, ssh, scp-like) either side uses.

use std::fmt;
use std::sync::{Arc, RwLock};

/// The name of a watched source (a chart source or an artifact source) in the daemon config.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SourceId(pub String);

impl fmt::Display for SourceId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

impl From<&str> for SourceId {
    fn from(s: &str) -> Self {
        Self(s.to_owned())
    }
}

/// One watched repository and branch.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Watch {
    /// The source to check when this branch moves.
    pub source: SourceId,
    /// The repository as written in the config.
    pub repo_url: String,
    /// The branch, `main` or `refs/heads/main`.
    pub branch: String,
    key: String,
}

/// The watched `(source, repo_url, branch)` triples.
#[derive(Debug, Clone, Default)]
pub struct WatchTable {
    watches: Vec<Watch>,
}

impl WatchTable {
    /// Builds the table from `(source, repo_url, branch)` triples.
    pub fn new<I, S, U, B>(entries: I) -> Self
    where
        I: IntoIterator<Item = (S, U, B)>,
        S: Into<String>,
        U: Into<String>,
        B: Into<String>,
    {
        let watches = entries
            .into_iter()
            .map(|(source, url, branch)| {
                let repo_url = url.into();
                let branch = branch.into();
                Watch {
                    source: SourceId(source.into()),
                    key: repo_key(&repo_url),
                    branch: branch
                        .strip_prefix("refs/heads/")
                        .unwrap_or(&branch)
                        .to_owned(),
                    repo_url,
                }
            })
            .collect();
        Self { watches }
    }

    /// All watches.
    pub fn watches(&self) -> &[Watch] {
        &self.watches
    }

    /// The sources watching `branch` of a repository known by any of `repo_urls`, each once,
    /// in table order.
    pub fn matching(&self, repo_urls: &[String], branch: &str) -> Vec<SourceId> {
        let keys: Vec<String> = repo_urls.iter().map(|u| repo_key(u)).collect();
        let mut found: Vec<SourceId> = Vec::new();
        for w in &self.watches {
            if w.branch == branch && keys.contains(&w.key) && !found.contains(&w.source) {
                found.push(w.source.clone());
            }
        }
        found
    }

    /// Whether any watch names a repository known by any of `repo_urls` (on any branch).
    pub fn watches_repo(&self, repo_urls: &[String]) -> bool {
        let keys: Vec<String> = repo_urls.iter().map(|u| repo_key(u)).collect();
        self.watches.iter().any(|w| keys.contains(&w.key))
    }
}

/// A [`WatchTable`] the daemon can replace when its config is reloaded, shared with the
/// router.
#[derive(Debug, Clone, Default)]
pub struct SharedWatchTable(Arc<RwLock<Arc<WatchTable>>>);

impl SharedWatchTable {
    /// Shares `table`.
    pub fn new(table: WatchTable) -> Self {
        Self(Arc::new(RwLock::new(Arc::new(table))))
    }

    /// The current table.
    pub fn current(&self) -> Arc<WatchTable> {
        self.0.read().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Replaces the table; requests already running keep the table they started with.
    pub fn replace(&self, table: WatchTable) {
        *self.0.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(table);
    }
}

/// A comparable key for a git repository URL: `host[:port]/path`, lower case, without
/// scheme, user info, default port, trailing `/` or `.git`. `https://github.com/acme/repo.git`,
/// `git@github.com:acme/repo.git`, `ssh://git@github.com/acme/repo` and
/// `https://user@GitHub.com/acme/repo/` all give `github.com/acme/repo`. Paths are compared
/// case-insensitively because GitHub, GitLab, Gitea and Bitbucket route them so.
pub fn repo_key(url: &str) -> String {
    let url = url.trim();
    let (scheme, rest) = match url.split_once("://") {
        Some((scheme, rest)) => (Some(scheme.to_ascii_lowercase()), rest),
        None => (None, url),
    };
    let (authority, path) = match scheme {
        Some(_) => rest.split_once('/').unwrap_or((rest, "")),
        // scp-like `user@host:owner/repo`; a bare `host/owner/repo` has no colon before `/`.
        None => match rest.split_once(':') {
            Some((host, path)) if !host.contains('/') => (host, path),
            _ => rest.split_once('/').unwrap_or((rest, "")),
        },
    };
    let host_port = authority.rsplit_once('@').map_or(authority, |(_, h)| h);
    let host_port = host_port.to_ascii_lowercase();
    let host_port = match (scheme.as_deref(), host_port.rsplit_once(':')) {
        (Some("https"), Some((h, "443")))
        | (Some("http"), Some((h, "80")))
        | (Some("ssh"), Some((h, "22")))
        | (Some("git"), Some((h, "9418"))) => h.to_owned(),
        _ => host_port,
    };
    let mut path = path.trim_matches('/').to_ascii_lowercase();
    while let Some(stripped) = path.strip_suffix(".git") {
        path = stripped.trim_end_matches('/').to_owned();
    }
    format!("{host_port}/{path}")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn repo_url_forms_agree() {
        let same = [
            "https://github.com/acme/repo.git",
            "https://github.com/acme/repo",
            "https://github.com/acme/repo/",
            "http://github.com/acme/repo",
            "https://x-access-token:abc@GitHub.com:443/Acme/Repo.git",
            "git@github.com:acme/repo.git",
            "git@github.com:/acme/repo.git",
            "ssh://git@github.com/acme/repo.git",
            "ssh://git@github.com:22/acme/repo",
            "git://github.com/acme/repo.git",
            "  github.com/acme/repo  ",
        ];
        for url in same {
            assert_eq!(repo_key(url), "github.com/acme/repo", "{url}");
        }
        for other in [
            "https://github.com/acme/repo2.git",
            "https://github.com/other/repo.git",
            "https://gitlab.com/acme/repo.git",
            "ssh://git@bitbucket.example.com:7999/acme/repo.git",
        ] {
            assert_ne!(repo_key(other), "github.com/acme/repo", "{other}");
        }
        assert_eq!(
            repo_key("ssh://git@bitbucket.example.com:7999/proj/repo.git"),
            "bitbucket.example.com:7999/proj/repo"
        );
    }

    #[test]
    fn matching_needs_repo_and_branch() {
        let table = WatchTable::new([
            ("charts", "https://github.com/acme/charts.git", "main"),
            (
                "charts-rel",
                "git@github.com:acme/charts.git",
                "refs/heads/release",
            ),
            ("charts-dup", "https://github.com/acme/charts", "main"),
            ("app", "https://gitlab.example.com/team/app", "main"),
        ]);
        let urls = vec!["git@github.com:acme/charts.git".to_owned()];
        assert_eq!(
            table.matching(&urls, "main"),
            vec![SourceId::from("charts"), SourceId::from("charts-dup")]
        );
        assert_eq!(
            table.matching(&urls, "release"),
            vec![SourceId::from("charts-rel")]
        );
        assert!(table.matching(&urls, "dev").is_empty());
        assert!(table.watches_repo(&urls));
        let unknown = vec!["https://github.com/acme/other".to_owned()];
        assert!(table.matching(&unknown, "main").is_empty());
        assert!(!table.watches_repo(&unknown));
    }

    #[test]
    fn shared_table_can_be_replaced() {
        let shared = SharedWatchTable::new(WatchTable::default());
        assert!(shared.current().watches().is_empty());
        shared.replace(WatchTable::new([("a", "https://h/o/r", "main")]));
        assert_eq!(shared.current().watches().len(), 1);
    }
}
