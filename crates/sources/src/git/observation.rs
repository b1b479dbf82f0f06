//! What a git check reports.

use std::collections::BTreeMap;

use base64::Engine as _;
use serde::{Deserialize, Serialize};

/// The branch at one moment: its commit and the watched files at that commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct GitObservation {
    /// Remote URL (without credentials).
    pub url: String,
    /// Branch name.
    pub branch: String,
    /// Commit the branch points at; `None` when the branch does not exist (deleted).
    pub commit: Option<String>,
    /// Author name and email (`Name <email>`).
    pub author: Option<String>,
    /// First line of the commit message.
    pub subject: Option<String>,
    /// How `commit` relates to the previous observation's commit.
    pub history: Option<History>,
    /// Watched paths (relative to the repository root) and their state at `commit`.
    pub files: BTreeMap<String, FileState>,
}

/// How the new commit relates to the previous one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum History {
    /// The previous commit is an ancestor of the new one.
    FastForward,
    /// Neither is an ancestor of the other: the branch was rewritten (force-push).
    ForcePush,
    /// The new commit is an ancestor of the previous one: the branch was moved back, or a
    /// push delivered late names an older commit than the one observed.
    Behind,
    /// The previous commit is not known locally (cache lost); ancestry was not checked.
    Unknown,
}

/// One watched file at a commit.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "state", rename_all = "snake_case")]
pub enum FileState {
    /// Present and valid YAML.
    Present {
        /// `sha256:<hex>` of the content.
        sha256: String,
        /// git blob id (lets the next check skip unchanged files without reading them).
        blob: String,
        /// The content (base64 in JSON).
        #[serde(with = "b64")]
        content: Vec<u8>,
    },
    /// Not in the tree at that commit.
    Absent,
    /// Present but refused: the daemon must not deliver it.
    Invalid {
        /// `sha256:<hex>` of the content.
        sha256: String,
        /// git blob id.
        blob: String,
        /// 1-based line (0 when unknown).
        line: u64,
        /// 1-based column (0 when unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
}

impl FileState {
    /// The content digest, `None` when absent.
    pub fn sha256(&self) -> Option<&str> {
        match self {
            FileState::Present { sha256, .. } | FileState::Invalid { sha256, .. } => Some(sha256),
            FileState::Absent => None,
        }
    }

    pub(crate) fn blob(&self) -> Option<&str> {
        match self {
            FileState::Present { blob, .. } | FileState::Invalid { blob, .. } => Some(blob),
            FileState::Absent => None,
        }
    }
}

impl GitObservation {
    /// Paths whose content (digest) differs from `old`'s, in order. A commit that touches
    /// nothing watched yields an empty list ("moved, no change").
    pub fn changed_files(&self, old: &GitObservation) -> Vec<String> {
        let paths: std::collections::BTreeSet<&String> =
            self.files.keys().chain(old.files.keys()).collect();
        paths
            .into_iter()
            .filter(|p| {
                self.files.get(*p).and_then(FileState::sha256)
                    != old.files.get(*p).and_then(FileState::sha256)
            })
            .cloned()
            .collect()
    }
}

mod b64 {
    use super::*;

    pub fn serialize<S: serde::Serializer>(v: &[u8], s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&base64::engine::general_purpose::STANDARD.encode(v))
    }

    pub fn deserialize<'de, D: serde::Deserializer<'de>>(d: D) -> Result<Vec<u8>, D::Error> {
        let s = String::deserialize(d)?;
        base64::engine::general_purpose::STANDARD
            .decode(s)
            .map_err(serde::de::Error::custom)
    }
}
