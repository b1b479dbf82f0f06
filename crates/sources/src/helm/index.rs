//! `index.yaml` parsing that keeps only the wanted chart's entries.
//!
//! The usual path parses only the block `scan` cut out of the stream. The fallback
//! (unusual layouts) streams parser events from a reader; every other chart is skipped with
//! `IgnoredAny`, so even then an index costs the wanted chart's entries, not a YAML tree.

use std::fmt;
use std::marker::PhantomData;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

use super::scan::{ChartScan, Scan};
use crate::Error;
use crate::yaml::problem;

/// One version of a chart as listed in `index.yaml`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ChartEntry {
    /// Chart name.
    #[serde(default)]
    pub name: String,
    /// Chart version (SemVer 2 in Helm 3).
    pub version: String,
    /// `appVersion`, as text.
    #[serde(rename = "appVersion", default, deserialize_with = "text_opt")]
    pub app_version: Option<String>,
    /// Download URLs, absolute or relative to the repository URL.
    #[serde(default)]
    pub urls: Vec<String>,
    /// `sha256` hex of the .tgz, when the index has it.
    pub digest: Option<String>,
    /// Creation time as written.
    pub created: Option<String>,
    /// Deprecated flag.
    #[serde(default)]
    pub deprecated: bool,
}

fn text_opt<'de, D: Deserializer<'de>>(d: D) -> Result<Option<String>, D::Error> {
    #[derive(Deserialize)]
    #[serde(untagged)]
    enum Text {
        Str(String),
        Int(i64),
        Float(f64),
        Bool(bool),
    }
    Ok(Option::<Text>::deserialize(d)?.map(|s| match s {
        Text::Str(s) => s,
        Text::Int(i) => i.to_string(),
        Text::Float(f) => f.to_string(),
        Text::Bool(b) => b.to_string(),
    }))
}

/// Reads `entries.<chart>` of an index: `None` without `entries`, empty without the chart.
fn read_entries<'de, D: Deserializer<'de>>(
    d: D,
    chart: &str,
) -> Result<Option<Vec<ChartEntry>>, D::Error> {
    let seed = OneKey {
        key: "entries",
        expecting: "a Helm repository index (a map with `entries`)",
        value: OneKey {
            key: chart,
            expecting: "a map of chart name to versions",
            value: PhantomData::<Vec<ChartEntry>>,
        },
    };
    Ok(seed.deserialize(d)?.map(Option::unwrap_or_default))
}

/// Reads only the value under `key` of a map with `value` (`None` when the key is absent or
/// the map is `null`); every other value is skipped as `IgnoredAny`, never built.
#[derive(Clone)]
struct OneKey<'a, S> {
    key: &'a str,
    expecting: &'static str,
    value: S,
}

impl<'de, S: DeserializeSeed<'de> + Clone> DeserializeSeed<'de> for OneKey<'_, S> {
    type Value = Option<S::Value>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de, S: DeserializeSeed<'de> + Clone> Visitor<'de> for OneKey<'_, S> {
    type Value = Option<S::Value>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.expecting)
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.key {
                found = Some(map.next_value_seed(self.value.clone())?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found)
    }
}

/// Parses `body` (an `index.yaml`) and returns the entries of `chart` (empty when absent).
/// `source` labels errors (the index URL).
pub fn parse_index(body: &[u8], chart: &str, source: &str) -> Result<Vec<ChartEntry>, Error> {
    let mut scan = ChartScan::new(chart, source);
    scan.feed(body)?;
    if let Some(entries) = from_scan(scan, chart, body.len())? {
        return Ok(entries);
    }
    // Unusual layout: the whole document, still keeping only the wanted chart.
    let text = std::str::from_utf8(body).map_err(|e| Error::Yaml {
        what: source.to_string(),
        line: 0,
        column: 0,
        message: format!("not UTF-8 at byte {}", e.valid_up_to()),
    })?;
    let parsed =
        serde_saphyr::with_deserializer_from_str_with_options(text, options(body.len()), |de| {
            read_entries(de, chart)
        });
    entries_or_error(parsed, source)
}

/// The entries a finished [`ChartScan`] settles, or `None` when the whole document must be
/// parsed (unusual layout, or a block that does not parse alone). `size` bounds the budget.
pub(crate) fn from_scan(
    scan: ChartScan,
    chart: &str,
    size: usize,
) -> Result<Option<Vec<ChartEntry>>, Error> {
    Ok(match scan.finish()? {
        Scan::Absent => Some(Vec::new()),
        Scan::Unusual => None,
        Scan::Block(snippet) => {
            serde_saphyr::with_deserializer_from_str_with_options(&snippet, options(size), |de| {
                read_entries(de, chart)
            })
            .ok()
            .flatten()
        }
    })
}

/// Parses a whole index from `reader` (at most `limit` bytes) without holding it: the
/// fallback for unusual layouts, run on a blocking thread by the client.
pub(crate) fn parse_index_reader(
    reader: impl std::io::Read,
    chart: &str,
    source: &str,
    limit: u64,
) -> Result<Vec<ChartEntry>, Error> {
    let size = usize::try_from(limit).unwrap_or(usize::MAX / 4);
    let parsed =
        serde_saphyr::with_deserializer_from_reader_with_options(reader, options(size), |de| {
            read_entries(de, chart)
        });
    entries_or_error(parsed, source)
}

fn entries_or_error(
    parsed: Result<Option<Vec<ChartEntry>>, serde_saphyr::Error>,
    source: &str,
) -> Result<Vec<ChartEntry>, Error> {
    let entries = parsed.map_err(|e| {
        let p = problem(&e);
        Error::Yaml {
            what: source.to_string(),
            line: p.line,
            column: p.column,
            message: p.message,
        }
    })?;
    entries.ok_or_else(|| Error::InvalidResponse {
        url: source.to_string(),
        reason: "no `entries` map: not a Helm repository index".into(),
    })
}

/// Parser options for an index of `size` bytes: generous event counts, bounded aliases.
fn options(size: usize) -> serde_saphyr::Options {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(size.saturating_add(1));
    budget.max_events = usize::MAX / 2;
    budget.max_nodes = usize::MAX / 2;
    budget.max_total_scalar_bytes = size.saturating_add(1);
    budget.max_aliases = 1_000;
    budget.max_depth = 32;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    opts.with_snippet = false;
    // Aliases are rare in indexes; bound their replay so an index cannot be a YAML bomb.
    opts.alias_limits.max_total_replayed_events = 100_000;
    opts
}

#[cfg(test)]
mod tests {
    use super::*;

    const INDEX: &str = r#"apiVersion: v1
entries:
  other:
  - name: other
    version: 9.9.9
    urls: [other-9.9.9.tgz]
    maintainers: [{name: x}]
  demo:
  - apiVersion: v2
    name: demo
    version: 1.2.0
    appVersion: 1.10
    digest: abc
    urls:
    - charts/demo-1.2.0.tgz
  - name: demo
    version: 1.10.0-rc.1
    urls: ["https://cdn.example.com/demo-1.10.0-rc.1.tgz"]
generated: "2026-01-01T00:00:00Z"
"#;

    #[test]
    fn keeps_only_the_wanted_chart() {
        let e = parse_index(INDEX.as_bytes(), "demo", "idx").expect("parse");
        assert_eq!(e.len(), 2);
        assert_eq!(
            (
                e[0].version.as_str(),
                e[0].app_version.as_deref(),
                e[0].digest.as_deref()
            ),
            ("1.2.0", Some("1.1"), Some("abc"))
        );
        assert_eq!(
            e[1].urls,
            vec!["https://cdn.example.com/demo-1.10.0-rc.1.tgz".to_string()]
        );
        assert!(
            parse_index(INDEX.as_bytes(), "absent", "idx")
                .expect("parse")
                .is_empty()
        );
    }

    #[test]
    fn bad_indexes_are_typed_errors() {
        let err = parse_index(
            b"<html><body>Not a repo</body></html>",
            "demo",
            "http://r/index.yaml",
        )
        .expect_err("html");
        assert!(
            matches!(err, Error::Yaml { .. } | Error::InvalidResponse { .. }),
            "{err:?}"
        );
        let err = parse_index(
            b"apiVersion: v1\nentries:\n  demo:\n  - version: [\n",
            "demo",
            "idx",
        )
        .expect_err("broken");
        assert!(matches!(err, Error::Yaml { line: 4.., .. }), "{err:?}");
        let err = parse_index(b"apiVersion: v1\n", "demo", "idx").expect_err("no entries");
        assert!(
            err.to_string().contains("not a Helm repository index"),
            "{err}"
        );
        let mut bomb = String::from("apiVersion: v1\nx0: &a0 [l,l,l,l,l,l,l,l,l,l]\n");
        for i in 1..9 {
            bomb.push_str(&format!(
                "x{i}: &a{i} [{}]\n",
                vec![format!("*a{}", i - 1); 10].join(",")
            ));
        }
        bomb.push_str("entries: {}\n");
        assert!(parse_index(bomb.as_bytes(), "demo", "idx").is_err());
    }
}
