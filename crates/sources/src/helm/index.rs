//! `index.yaml` parsing that keeps only the wanted chart's entries.
//!
//! The parser streams events; every other chart is skipped with `IgnoredAny`, so a 26 MB
//! index costs the body plus the wanted chart's entries, not a generic YAML tree.

use std::fmt;

use serde::de::{DeserializeSeed, IgnoredAny, MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize};

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
    #[serde(default)]
    pub digest: Option<String>,
    /// Creation time as written.
    #[serde(default)]
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

struct IndexSeed<'a> {
    chart: &'a str,
}

impl<'de> DeserializeSeed<'de> for IndexSeed<'_> {
    type Value = Option<Vec<ChartEntry>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for IndexSeed<'_> {
    type Value = Option<Vec<ChartEntry>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a Helm repository index (a map with `entries`)")
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == "entries" {
                found = Some(map.next_value_seed(EntriesSeed { chart: self.chart })?);
            } else {
                map.next_value::<IgnoredAny>()?;
            }
        }
        Ok(found.map(Option::unwrap_or_default))
    }
}

struct EntriesSeed<'a> {
    chart: &'a str,
}

impl<'de> DeserializeSeed<'de> for EntriesSeed<'_> {
    type Value = Option<Vec<ChartEntry>>;
    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        d.deserialize_map(self)
    }
}

impl<'de> Visitor<'de> for EntriesSeed<'_> {
    type Value = Option<Vec<ChartEntry>>;
    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a map of chart name to versions")
    }
    fn visit_unit<E: serde::de::Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
    fn visit_map<A: MapAccess<'de>>(self, mut map: A) -> Result<Self::Value, A::Error> {
        let mut found = None;
        while let Some(key) = map.next_key::<std::borrow::Cow<'de, str>>()? {
            if key == self.chart {
                found = Some(map.next_value::<Vec<ChartEntry>>()?);
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
    let text = std::str::from_utf8(body).map_err(|e| Error::Yaml {
        what: source.to_string(),
        line: 0,
        column: 0,
        message: format!("not UTF-8 at byte {}", e.valid_up_to()),
    })?;
    // Fast path: Helm writes indexes in block style, so the wanted chart's block can be cut
    // out by indentation and parsed alone (line numbers kept). Anything unusual falls back to
    // parsing the whole document.
    if let Some(snippet) = chart_section(text, chart)
        && let Ok(Some(entries)) = parse_with_budget(&snippet, chart, body.len())
    {
        return Ok(entries);
    }
    let entries = parse_with_budget(text, chart, body.len()).map_err(|e| {
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

fn parse_with_budget(
    text: &str,
    chart: &str,
    size: usize,
) -> Result<Option<Vec<ChartEntry>>, serde_saphyr::Error> {
    let mut budget = serde_saphyr::Budget::default();
    budget.max_reader_input_bytes = Some(size + 1);
    budget.max_events = usize::MAX / 2;
    budget.max_nodes = usize::MAX / 2;
    budget.max_total_scalar_bytes = size + 1;
    budget.max_aliases = 1_000;
    budget.max_depth = 32;
    let mut opts = serde_saphyr::Options::default();
    opts.budget = Some(budget);
    opts.with_snippet = false;
    // Aliases are rare in indexes; bound their replay so an index cannot be a YAML bomb.
    opts.alias_limits.max_total_replayed_events = 100_000;
    serde_saphyr::with_deserializer_from_str_with_options(text, opts, |de| {
        IndexSeed { chart }.deserialize(de)
    })
}

/// `entries:` plus the block of `  <chart>:` inside the top-level `entries:` map, preceded by
/// blank lines so positions match the original. `None` when the layout is not Helm's usual one.
fn chart_section(text: &str, chart: &str) -> Option<String> {
    let key = format!("{chart}:");
    let mut in_entries = false;
    let mut start: Option<(usize, usize)> = None;
    let mut offset = 0;
    for (line_no, line) in text.split_inclusive('\n').enumerate() {
        let at = offset;
        offset += line.len();
        let body = line.trim_end();
        let trimmed = body.trim_start_matches(' ');
        if trimmed.is_empty() || trimmed.starts_with('#') {
            continue;
        }
        let indent = body.len() - trimmed.len();
        match start {
            None if indent == 0 => in_entries = body == "entries:",
            None if in_entries && indent == 2 && trimmed == key => start = Some((at, line_no)),
            Some((from, from_line))
                if indent == 0 || (indent <= 2 && !trimmed.starts_with('-')) =>
            {
                return Some(snippet(&text[from..at], from_line));
            }
            _ => {}
        }
    }
    start.map(|(from, from_line)| snippet(&text[from..], from_line))
}

fn snippet(block: &str, line_no: usize) -> String {
    let mut s = "\n".repeat(line_no.saturating_sub(1));
    s.push_str("entries:\n");
    s.push_str(block);
    s
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
