//! The one place that decides whether what a source saw is worth an event (STYLE.md "One shape
//! per source"): sources report facts, these pure functions decide baseline, unchanged,
//! changed or rejected.

use crate::store::events::Delivered;
use baton_core::config::model::FirstSeen;

/// What a source check amounts to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Decision {
    /// First sight under `first_seen: baseline`: record it, send nothing.
    Baseline,
    /// Nothing new to send.
    Unchanged,
    /// Send, for these environments (chart) or for the image (rebuild: empty list).
    Changed(Vec<String>),
    /// Refused (invalid values file): record why, send nothing.
    Rejected(String),
    /// Not checked: the registry's 429 pause (or request budget) is open. The registry client
    /// logs the pause once; each refused check is only counted, not logged.
    Paused(String),
}

impl Decision {
    /// The metrics outcome label.
    pub fn outcome(&self) -> &'static str {
        match self {
            Decision::Baseline => "baseline",
            Decision::Unchanged => "unchanged",
            Decision::Changed(_) => "changed",
            Decision::Rejected(_) => "rejected",
            Decision::Paused(_) => "paused",
        }
    }
}

/// A single-value source (base digest, artifact-source commit): `previous` is the last
/// recorded value, `current` the one just seen.
pub fn value_source(first_seen: FirstSeen, previous: Option<&str>, current: &str) -> Decision {
    match previous {
        None if first_seen == FirstSeen::Baseline => Decision::Baseline,
        Some(p) if p == current => Decision::Unchanged,
        _ => Decision::Changed(Vec::new()),
    }
}

/// One values file at the chart-source commit.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ValuesFile {
    /// Valid YAML with this `sha256:` digest.
    Valid(String),
    /// Not in the tree.
    Absent,
    /// Not valid YAML.
    Invalid {
        /// 1-based line (0 unknown).
        line: u64,
        /// 1-based column (0 unknown).
        column: u64,
        /// What is wrong.
        message: String,
    },
}

/// Everything the chart decision looks at.
#[derive(Debug, Clone)]
pub struct ChartFacts<'a> {
    /// `(environment, path in the repo, file)` in config order.
    pub values: Vec<(&'a str, &'a str, ValuesFile)>,
    /// Selected chart version.
    pub chart_version: &'a str,
    /// `sha256:` of the chart .tgz.
    pub chart_digest: &'a str,
    /// What was delivered so far for this product.
    pub delivered: &'a [Delivered],
    /// The config's `first_seen`.
    pub first_seen: FirstSeen,
    /// An operator asked (a manual sync never baselines).
    pub manual: bool,
    /// `sync --force`: every environment, even unchanged.
    pub force: bool,
}

/// Decides what a chart sync sends. An invalid or missing values file rejects the whole
/// commit (nothing is sent, not even for the other environments): half a commit is not what
/// anyone pushed.
pub fn chart(f: &ChartFacts<'_>) -> Decision {
    for (_, path, file) in &f.values {
        match file {
            ValuesFile::Valid(_) => {}
            ValuesFile::Absent => {
                return Decision::Rejected(format!(
                    "{path} is missing; add it (every environment needs its values file)"
                ));
            }
            ValuesFile::Invalid {
                line,
                column,
                message,
            } => {
                return Decision::Rejected(format!(
                    "{path} line {line} column {column}: invalid YAML: {message}"
                ));
            }
        }
    }
    if f.delivered.is_empty() && !f.manual && f.first_seen == FirstSeen::Baseline {
        return Decision::Baseline;
    }
    let changed: Vec<String> = f
        .values
        .iter()
        .filter(|(env, _, file)| {
            let ValuesFile::Valid(sha) = file else {
                return true;
            };
            f.force
                || !f.delivered.iter().any(|d| {
                    d.environment == *env
                        && &d.values_digest == sha
                        && d.chart_digest == f.chart_digest
                        && d.chart_version == f.chart_version
                })
        })
        .map(|(env, _, _)| (*env).to_owned())
        .collect();
    if changed.is_empty() {
        Decision::Unchanged
    } else {
        Decision::Changed(changed)
    }
}

/// The outbox key of a chart event: the content key (docs/wire.md) plus what was delivered
/// before it, so content that comes back after another delivery (A, B, A) is sent again while
/// two daemons deciding the same step at once still share one key. `force` (an operator's
/// event id) makes the key unique.
pub fn chart_event_key(content_key: &str, delivered: &[Delivered], force: Option<&str>) -> String {
    use sha2::{Digest, Sha256};
    let mut rows: Vec<String> = delivered
        .iter()
        .map(|d| {
            format!(
                "{}={}/{}/{}",
                d.environment, d.chart_version, d.chart_digest, d.values_digest
            )
        })
        .collect();
    rows.sort();
    let prior = hex::encode(Sha256::digest(rows.join("\n").as_bytes()));
    let mut key = format!("{content_key}:after:{}", &prior[..16]);
    if let Some(ev) = force {
        key.push_str(":force:");
        key.push_str(ev);
    }
    key
}

#[cfg(test)]
mod tests {
    use super::*;

    fn delivered(env: &str, values: &str) -> Delivered {
        Delivered {
            product: "p".into(),
            environment: env.into(),
            chart_version: "1.0.0".into(),
            chart_digest: "sha256:c".into(),
            values_digest: values.into(),
            event_id: None,
            delivered_at: time::OffsetDateTime::UNIX_EPOCH,
        }
    }

    fn facts<'a>(
        values: Vec<(&'a str, &'a str, ValuesFile)>,
        d: &'a [Delivered],
    ) -> ChartFacts<'a> {
        ChartFacts {
            values,
            chart_version: "1.0.0",
            chart_digest: "sha256:c",
            delivered: d,
            first_seen: FirstSeen::Baseline,
            manual: false,
            force: false,
        }
    }

    fn v(s: &str) -> ValuesFile {
        ValuesFile::Valid(s.into())
    }

    #[test]
    fn first_sight_is_a_baseline_unless_deliver_or_manual() {
        let f = facts(vec![("dev", "values-dev.yaml", v("a"))], &[]);
        assert_eq!(chart(&f), Decision::Baseline);
        let f2 = ChartFacts {
            first_seen: FirstSeen::Deliver,
            ..f.clone()
        };
        assert_eq!(chart(&f2), Decision::Changed(vec!["dev".into()]));
        let f3 = ChartFacts { manual: true, ..f };
        assert_eq!(chart(&f3), Decision::Changed(vec!["dev".into()]));
    }

    #[test]
    fn only_changed_environments_are_named_and_a_chart_change_names_all() {
        let d = [delivered("dev", "a"), delivered("prod", "b")];
        let same = facts(vec![("dev", "d", v("a")), ("prod", "p", v("b"))], &d);
        assert_eq!(chart(&same), Decision::Unchanged);
        let dev = facts(vec![("dev", "d", v("a2")), ("prod", "p", v("b"))], &d);
        assert_eq!(chart(&dev), Decision::Changed(vec!["dev".into()]));
        let bumped = ChartFacts {
            chart_digest: "sha256:c2",
            ..same.clone()
        };
        assert_eq!(
            chart(&bumped),
            Decision::Changed(vec!["dev".into(), "prod".into()])
        );
        let forced = ChartFacts {
            force: true,
            ..same
        };
        assert_eq!(chart(&forced).outcome(), "changed");
    }

    #[test]
    fn invalid_or_missing_values_reject_the_commit_naming_file_and_line() {
        let d = [delivered("dev", "a")];
        let bad = facts(
            vec![
                ("dev", "mgw/values-dev.yaml", v("a2")),
                (
                    "prod",
                    "mgw/values-prod.yaml",
                    ValuesFile::Invalid {
                        line: 3,
                        column: 7,
                        message: "mapping values are not allowed".into(),
                    },
                ),
            ],
            &d,
        );
        let Decision::Rejected(why) = chart(&bad) else {
            panic!("not rejected")
        };
        assert!(
            why.starts_with("mgw/values-prod.yaml line 3 column 7"),
            "{why}"
        );
        let missing = facts(vec![("dev", "values-dev.yaml", ValuesFile::Absent)], &d);
        assert!(
            matches!(chart(&missing), Decision::Rejected(w) if w.contains("values-dev.yaml is missing"))
        );
    }

    #[test]
    fn value_sources_baseline_then_follow_changes() {
        assert_eq!(
            value_source(FirstSeen::Baseline, None, "x"),
            Decision::Baseline
        );
        assert_eq!(
            value_source(FirstSeen::Deliver, None, "x"),
            Decision::Changed(vec![])
        );
        assert_eq!(
            value_source(FirstSeen::Baseline, Some("x"), "x"),
            Decision::Unchanged
        );
        assert_eq!(
            value_source(FirstSeen::Baseline, Some("x"), "y"),
            Decision::Changed(vec![])
        );
    }

    #[test]
    fn chart_keys_follow_prior_deliveries_and_force() {
        let a = [delivered("dev", "a")];
        let b = [delivered("dev", "b")];
        assert_eq!(
            chart_event_key("k", &a, None),
            chart_event_key("k", &a, None)
        );
        assert_ne!(
            chart_event_key("k", &a, None),
            chart_event_key("k", &b, None)
        );
        assert_ne!(
            chart_event_key("k", &a, Some("ev-1")),
            chart_event_key("k", &a, Some("ev-2"))
        );
    }
}
