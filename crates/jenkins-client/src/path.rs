//! Job paths: `folder/sub/name` -> `job/folder/job/sub/job/name/`.

use std::fmt;
use std::str::FromStr;

use crate::Error;

/// A job's full name, folders separated by `/`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct JobPath {
    segments: Vec<String>,
}

impl JobPath {
    /// Parses `folder/sub/name`; empty segments are rejected.
    pub fn parse(path: &str) -> Result<Self, Error> {
        let bad = |reason| Error::InvalidJobPath {
            path: path.to_owned(),
            reason,
        };
        let trimmed = path.trim_matches('/');
        if trimmed.is_empty() {
            return Err(bad("is empty; write folder/name"));
        }
        let segments: Vec<String> = trimmed.split('/').map(str::to_owned).collect();
        if segments.iter().any(String::is_empty) {
            return Err(bad("has an empty segment (\"//\"); write folder/sub/name"));
        }
        Ok(JobPath { segments })
    }

    /// The segments, outermost folder first.
    pub fn segments(&self) -> &[String] {
        &self.segments
    }

    /// Relative URL path with a trailing slash, each segment encoded as Jenkins' `rawEncode`.
    pub fn url_path(&self) -> String {
        self.segments
            .iter()
            .map(|s| format!("job/{}/", raw_encode(s)))
            .collect()
    }
}

impl fmt::Display for JobPath {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.segments.join("/"))
    }
}

impl FromStr for JobPath {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self, Error> {
        JobPath::parse(s)
    }
}

/// Percent-encodes like `hudson.Util.rawEncode`: keeps `A-Za-z0-9` and `!$&'()*+,-.=@_`.
pub fn raw_encode(segment: &str) -> String {
    let mut out = String::with_capacity(segment.len());
    for b in segment.bytes() {
        if b.is_ascii_alphanumeric() || b"!$&'()*+,-.=@_".contains(&b) {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn folders_become_nested_job_segments() {
        let p = JobPath::parse("micro-gw/petstore-image").unwrap();
        assert_eq!(p.url_path(), "job/micro-gw/job/petstore-image/");
        assert_eq!(p.to_string(), "micro-gw/petstore-image");
    }

    #[test]
    fn segments_are_raw_encoded() {
        let p = JobPath::parse("base image (rebuild)/a:b;c~d/ü#?%").unwrap();
        assert_eq!(
            p.url_path(),
            "job/base%20image%20(rebuild)/job/a%3Ab%3Bc%7Ed/job/%C3%BC%23%3F%25/"
        );
        assert_eq!(raw_encode("!$&'()*+,-.=@_AZaz09"), "!$&'()*+,-.=@_AZaz09");
    }

    #[test]
    fn empty_paths_and_segments_are_rejected() {
        let e = JobPath::parse("").unwrap_err().to_string();
        assert!(e.contains("is empty"), "{e}");
        let e = JobPath::parse("a//b").unwrap_err().to_string();
        assert!(e.contains("\"a//b\"") && e.contains("empty segment"), "{e}");
    }
}
