//! What a read at a commit reports, whichever way the objects arrived (the CLI's cache in
//! `read`, or in-process in `read_wire`): which watched paths to look up, which blobs to read,
//! and each file's state.

use std::collections::BTreeMap;

use super::observation::{FileState, GitObservation, History};
use super::watch::GitWatch;
use crate::Error;
use crate::yaml::{YamlLimits, validate};

/// Largest watched file read from a commit.
pub(super) const MAX_FILE_BYTES: usize = 4 << 20;

impl GitWatch {
    /// The watched paths a read looks up: those `changed` lists when `last` watched the same
    /// paths, else all of them.
    pub(super) fn lookup(
        &self,
        last: Option<&GitObservation>,
        changed: Option<&[String]>,
    ) -> Vec<&String> {
        let same_paths = last.is_some_and(|l| l.files.keys().eq(self.sorted_files()));
        match (changed, same_paths) {
            (Some(c), true) => self.files.iter().filter(|p| c.contains(p)).collect(),
            _ => self.files.iter().collect(),
        }
    }

    /// The blob ids of `blobs` (path to id, for the `lookup` paths) that `last` did not read.
    pub(super) fn wanted<'b>(
        &self,
        last: Option<&GitObservation>,
        lookup: &[&String],
        blobs: &'b BTreeMap<String, String>,
    ) -> Vec<&'b str> {
        let previous = |path: &str| {
            last.and_then(|l| l.files.get(path))
                .and_then(FileState::blob)
        };
        lookup
            .iter()
            .filter_map(|p| blobs.get(p.as_str()).map(|oid| (p, oid)))
            .filter(|(p, oid)| previous(p) != Some(oid.as_str()))
            .map(|(_, oid)| oid.as_str())
            .collect()
    }

    /// The watched files: looked-up paths from `blobs` and `contents` (blob id to content),
    /// unchanged blobs and the paths not looked up from `last`.
    pub(super) fn files(
        &self,
        last: Option<&GitObservation>,
        lookup: &[&String],
        blobs: &BTreeMap<String, String>,
        contents: BTreeMap<String, Vec<u8>>,
    ) -> Result<BTreeMap<String, FileState>, Error> {
        let previous = |path: &str| last.and_then(|l| l.files.get(path));
        let mut files = BTreeMap::new();
        for path in &self.files {
            let state = if !lookup.contains(&path) {
                previous(path).cloned().unwrap_or(FileState::Absent)
            } else {
                match blobs.get(path) {
                    None => FileState::Absent,
                    Some(oid) => match previous(path).filter(|s| s.blob() == Some(oid.as_str())) {
                        Some(same) => same.clone(),
                        // Two paths may hold the same blob.
                        None => file_state(oid, contents.get(oid.as_str()).cloned())?,
                    },
                }
            };
            files.insert(path.clone(), state);
        }
        Ok(files)
    }

    /// The observation of `commit`, whose raw object is `raw`.
    pub(super) fn observed(
        &self,
        commit: &str,
        raw: &[u8],
        history: Option<History>,
        files: BTreeMap<String, FileState>,
    ) -> GitObservation {
        let (author, subject) = commit_meta(raw);
        GitObservation {
            url: self.shown_url(),
            branch: self.branch.clone(),
            commit: Some(commit.to_owned()),
            author: Some(author),
            subject: Some(subject),
            history,
            files,
        }
    }
}

/// `("Name <email>", subject)` of a raw commit object.
pub(super) fn commit_meta(raw: &[u8]) -> (String, String) {
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
