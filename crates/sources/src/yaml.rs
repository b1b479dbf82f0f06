//! Validation of YAML documents (values files) with positions, under resource limits.
//!
//! Helm reads values files as YAML; a file that does not parse must be reported with its line
//! and column so the daemon can refuse to deliver it. Aliases, depth, node counts and sizes are
//! bounded so a "billion laughs" document is rejected by a limit, not by running out of memory.

use serde::{Deserialize, Serialize};

/// Limits applied to one document.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub struct YamlLimits {
    /// Largest file, in bytes.
    pub max_bytes: usize,
    /// Deepest nesting.
    pub max_depth: usize,
    /// Parser events (nodes, start/end markers) including alias replays.
    pub max_events: usize,
    /// Aliases (`*name`).
    pub max_aliases: usize,
}

impl Default for YamlLimits {
    /// Generous for values files: 4 MiB, depth 64, 500k events, 1k aliases.
    fn default() -> Self {
        YamlLimits {
            max_bytes: 4 << 20,
            max_depth: 64,
            max_events: 500_000,
            max_aliases: 1_000,
        }
    }
}

/// Why a document was refused.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct YamlProblem {
    /// 1-based line, 0 when the problem has no position (size, encoding).
    pub line: u64,
    /// 1-based column, 0 when the problem has no position.
    pub column: u64,
    /// What is wrong.
    pub message: String,
}

impl std::fmt::Display for YamlProblem {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "line {} column {}: {}",
            self.line, self.column, self.message
        )
    }
}

/// Options for serde-saphyr built from `limits` (also used by baton's config loader, so a
/// config is decoded under the same budget as a values file).
pub fn options(limits: &YamlLimits) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(limits.max_bytes);
    budget.max_depth = limits.max_depth;
    budget.max_events = limits.max_events;
    budget.max_nodes = limits.max_events;
    budget.max_aliases = limits.max_aliases;
    budget.max_total_scalar_bytes = limits.max_bytes;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    opts.alias_limits.max_total_replayed_events = limits.max_events;
    opts.with_snippet = false;
    opts
}

/// Converts a serde-saphyr error into a positioned problem.
pub(crate) fn problem(err: &serde_saphyr::Error) -> YamlProblem {
    let (line, column) = err.location().map_or((0, 0), |l| (l.line(), l.column()));
    let message = err.without_snippet().to_string();
    YamlProblem {
        line,
        column,
        message,
    }
}

/// Checks that `bytes` is one well-formed YAML document within `limits`. An empty file (or
/// one with only comments) is valid, as it is for Helm.
pub fn validate(bytes: &[u8], limits: &YamlLimits) -> Result<(), YamlProblem> {
    if bytes.len() > limits.max_bytes {
        return Err(YamlProblem {
            line: 0,
            column: 0,
            message: format!(
                "file is {} bytes; the limit is {}",
                bytes.len(),
                limits.max_bytes
            ),
        });
    }
    let text = std::str::from_utf8(bytes).map_err(|e| {
        let before = &bytes[..e.valid_up_to()];
        let line = before.iter().filter(|b| **b == b'\n').count() as u64 + 1;
        let column = (before.len()
            - before
                .iter()
                .rposition(|b| *b == b'\n')
                .map_or(0, |p| p + 1)) as u64
            + 1;
        YamlProblem {
            line,
            column,
            message: "not valid UTF-8".into(),
        }
    })?;
    let docs: Vec<Option<serde::de::IgnoredAny>> = serde_saphyr::from_str_multiple_with_options::<
        Option<serde::de::IgnoredAny>,
        _,
    >(text, options(limits))
    .map_err(|e| problem(&e))?;
    if docs.len() > 1 {
        return Err(YamlProblem {
            line: 0,
            column: 0,
            message: format!("{} YAML documents; a values file holds one", docs.len()),
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn valid_documents_pass() {
        let l = YamlLimits::default();
        validate(
            b"replicas: 2\nimage:\n  tag: \"1.0\"\nlist: [a, b]\nanchor: &a {x: 1}\nuse: *a\n",
            &l,
        )
        .expect("valid");
        validate(b"", &l).expect("empty");
        validate(b"# only a comment\n", &l).expect("comment");
    }

    #[test]
    fn syntax_errors_have_line_and_column() {
        let p = validate(b"a: 1\nb:\n  c: [1, 2\nd: 4\n", &YamlLimits::default())
            .expect_err("unclosed flow");
        assert!(p.line >= 3, "{p}");
        let p =
            validate(b"key: value\n  bad: indent\n", &YamlLimits::default()).expect_err("indent");
        assert_eq!(p.line, 2, "{p}");
        assert!(p.column > 0, "{p}");
        let p = validate(b"ok: 1\nx: \xff\n", &YamlLimits::default()).expect_err("utf8");
        assert_eq!((p.line, p.column), (2, 4), "{p}");
        let p = validate(b"a: 1\n---\nb: 2\n", &YamlLimits::default()).expect_err("two docs");
        assert!(p.message.contains("2 YAML documents"), "{p}");
    }

    #[test]
    fn billion_laughs_is_rejected_by_a_limit() {
        let mut doc = String::from(
            "a0: &a0 [\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\",\"lol\"]\n",
        );
        for i in 1..10 {
            let refs = vec![format!("*a{}", i - 1); 9].join(",");
            doc.push_str(&format!("a{i}: &a{i} [{refs}]\n"));
        }
        let p = validate(doc.as_bytes(), &YamlLimits::default()).expect_err("bomb");
        assert!(!p.message.is_empty());
        let deep = "[".repeat(10_000);
        validate(deep.as_bytes(), &YamlLimits::default()).expect_err("deep");
        let big = vec![b'#'; (4 << 20) + 1];
        assert!(
            validate(&big, &YamlLimits::default())
                .expect_err("big")
                .message
                .contains("limit")
        );
    }
}
