//! Choosing a chart version: exact, or the highest match of a SemVer range.

use std::fmt;

use semver::{Version, VersionReq};

use super::index::ChartEntry;
use crate::Error;

/// A configured chart version.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum VersionSpec {
    /// This exact string (compared as SemVer when both parse, else as text).
    Exact(String),
    /// A range such as `^3.0` or `>=1.2, <2`.
    Range(VersionReq),
}

impl VersionSpec {
    /// Parses `spec`: a plain version is exact, anything else must be a SemVer range.
    pub fn parse(spec: &str) -> Result<Self, Error> {
        let s = spec.trim();
        if Version::parse(s.strip_prefix('v').unwrap_or(s)).is_ok() {
            return Ok(VersionSpec::Exact(s.to_string()));
        }
        // A partial version ("1.2") means "=1.2", i.e. any 1.2.x, as Helm reads it.
        let has_op = s.starts_with(['^', '~', '>', '<', '=', '*']) || s.contains([',', ' ']);
        let req = if has_op {
            s.to_string()
        } else {
            format!("={s}")
        };
        VersionReq::parse(&req)
            .map(VersionSpec::Range)
            .map_err(|e| Error::Config {
                key: "chart.version".into(),
                reason: format!(
                    "{spec:?} is not a version or range ({e}); use e.g. \"3.0.1\" or \"^3.0\""
                ),
            })
    }
}

impl std::str::FromStr for VersionSpec {
    type Err = Error;

    fn from_str(s: &str) -> Result<Self, Error> {
        Self::parse(s)
    }
}

/// The exact version as written, or the range in SemVer's form (`1.2` shows as `=1.2`).
impl fmt::Display for VersionSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            VersionSpec::Exact(v) => f.write_str(v),
            VersionSpec::Range(r) => r.fmt(f),
        }
    }
}

/// Picks the entry for `spec`. A range takes the highest matching version; pre-releases only
/// when `prereleases` is set (or the range itself names one, as SemVer ranges do).
pub fn select<'a>(
    chart: &str,
    entries: &'a [ChartEntry],
    spec: &VersionSpec,
    prereleases: bool,
) -> Result<&'a ChartEntry, Error> {
    let found = match spec {
        VersionSpec::Exact(want) => {
            let want_v = Version::parse(want.trim_start_matches('v')).ok();
            entries.iter().find(|e| {
                e.version == *want
                    || (want_v.is_some()
                        && Version::parse(e.version.trim_start_matches('v')).ok() == want_v)
            })
        }
        VersionSpec::Range(req) => entries
            .iter()
            .filter_map(|e| {
                Version::parse(e.version.trim_start_matches('v'))
                    .ok()
                    .map(|v| (v, e))
            })
            .filter(|(v, _)| {
                if v.pre.is_empty() || !prereleases {
                    req.matches(v)
                } else {
                    let mut release = v.clone();
                    release.pre = semver::Prerelease::EMPTY;
                    req.matches(v) || req.matches(&release)
                }
            })
            .max_by(|a, b| a.0.cmp(&b.0))
            .map(|(_, e)| e),
    };
    found.ok_or_else(|| {
        let mut versions: Vec<&str> = entries
            .iter()
            .map(|e| e.version.as_str())
            .take(10)
            .collect();
        if entries.len() > 10 {
            versions.push("...");
        }
        Error::NoMatchingVersion {
            chart: chart.to_string(),
            constraint: spec.to_string(),
            available: if versions.is_empty() {
                "none".into()
            } else {
                versions.join(", ")
            },
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entries(vs: &[&str]) -> Vec<ChartEntry> {
        vs.iter()
            .map(|v| ChartEntry {
                name: "c".into(),
                version: v.to_string(),
                app_version: None,
                urls: vec![],
                digest: None,
                created: None,
                deprecated: false,
            })
            .collect()
    }

    #[test]
    fn exact_and_ranges() {
        let e = entries(&[
            "1.0.0",
            "1.2.0",
            "1.2.5",
            "1.10.0",
            "2.0.0-rc.1",
            "2.0.0-rc.2",
            "3.0.1-1",
            "not-semver",
        ]);
        let pick = |s: &str, pre: bool| {
            select("c", &e, &VersionSpec::parse(s).expect(s), pre).map(|x| x.version.clone())
        };
        assert_eq!(pick("1.2.0", false).expect("exact"), "1.2.0");
        assert_eq!(pick("v1.2.0", false).expect("v prefix"), "1.2.0");
        assert_eq!(pick("3.0.1-1", false).expect("wso2 style"), "3.0.1-1");
        assert_eq!(pick("^1.0", false).expect("caret"), "1.10.0");
        assert_eq!(pick(">=1.0.0", false).expect("no pre"), "1.10.0");
        assert_eq!(pick(">=1.0.0, <3", true).expect("pre"), "2.0.0-rc.2");
        assert_eq!(pick(">=1.0.0, <3", false).expect("no pre"), "1.10.0");
        assert_eq!(pick("~1.2", false).expect("tilde"), "1.2.5");
        assert_eq!(pick("1.2", false).expect("partial"), "1.2.5");
        let err = pick("^4", false).expect_err("none").to_string();
        assert!(err.contains("^4") && err.contains("1.10.0"), "{err}");
        assert!(VersionSpec::parse(">>1").is_err());
        let err = VersionSpec::parse("3.x.y").expect_err("3.x.y").to_string();
        assert!(err.contains("\"3.x.y\" is not a version or range"), "{err}");
    }
}
