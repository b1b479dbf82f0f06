//! helm/baton/README.md's values table is generated from values.yaml, helm-docs style: a
//! `# -- text` comment (continued by further `#` lines) describes the key below it; every leaf
//! key is listed with its default. `config:` is one row (docs/configuration.md has its keys).
//! The test fails when the committed table differs; `BATON_WRITE_CHART_README=1` rewrites it.

use serde_json::Value;

use crate::support::{self as assets, repo_root};

const START: &str =
    "<!-- values:start (generated from values.yaml by tests/e2e/tests/assets/helm/readme.rs) -->\n";
const END: &str = "<!-- values:end -->\n";

struct Key {
    path: String,
    text: String,
}

/// Keys of values.yaml in file order, with their `# --` descriptions.
fn keys(text: &str) -> Vec<Key> {
    let key_line = regex::Regex::new(r"^( *)([A-Za-z][A-Za-z0-9_-]*):").unwrap();
    let mut stack: Vec<(usize, String)> = Vec::new();
    let mut pending: Option<String> = None;
    let mut out = Vec::new();
    for line in text.lines() {
        let trimmed = line.trim_start();
        if let Some(c) = trimmed.strip_prefix("# --") {
            pending = Some(c.trim().to_owned());
            continue;
        }
        if let Some(c) = trimmed.strip_prefix('#') {
            if let Some(p) = pending.as_mut() {
                p.push(' ');
                p.push_str(c.trim());
            }
            continue;
        }
        let Some(m) = key_line.captures(line) else {
            continue;
        };
        let indent = m[1].len();
        while stack.last().is_some_and(|(i, _)| *i >= indent) {
            stack.pop();
        }
        stack.push((indent, m[2].to_owned()));
        let path = stack
            .iter()
            .map(|(_, k)| k.as_str())
            .collect::<Vec<_>>()
            .join(".");
        out.push(Key {
            path,
            text: pending.take().unwrap_or_default(),
        });
    }
    out
}

fn at<'a>(values: &'a Value, path: &str) -> &'a Value {
    path.split('.').fold(values, |v, k| &v[k])
}

/// The generated table.
fn table(text: &str) -> String {
    let values = assets::yaml(text, "values.yaml");
    let mut out =
        String::from("| key | type | default | description |\n| --- | --- | --- | --- |\n");
    for k in keys(text) {
        if k.path.starts_with("config.") {
            continue;
        }
        let v = at(&values, &k.path);
        let is_leaf = v.as_object().is_none_or(serde_json::Map::is_empty) || k.path == "config";
        if !is_leaf && k.text.is_empty() {
            continue;
        }
        let (ty, default) = match v {
            Value::Object(o) if !o.is_empty() && k.path != "config" => ("object", "-".to_owned()),
            Value::Object(_) => (
                "object",
                if k.path == "config" {
                    "see values.yaml".to_owned()
                } else {
                    "`{}`".to_owned()
                },
            ),
            Value::Array(_) => ("list", format!("`{v}`")),
            Value::String(s) => ("string", format!("`{s:?}`")),
            Value::Bool(_) => ("bool", format!("`{v}`")),
            Value::Number(_) => ("int", format!("`{v}`")),
            Value::Null => ("-", "`null`".to_owned()),
        };
        let text = k.text.replace('|', "\\|");
        out.push_str(&format!("| `{}` | {ty} | {default} | {text} |\n", k.path));
    }
    out
}

#[test]
fn chart_readme_lists_every_value_with_its_default() {
    let values = assets::read("helm/baton/values.yaml");
    let readme_path = repo_root().join("helm/baton/README.md");
    let readme = assets::read("helm/baton/README.md");
    let (Some(s), Some(e)) = (readme.find(START), readme.find(END)) else {
        panic!("helm/baton/README.md lacks the {START:?} ... {END:?} markers");
    };
    let generated = format!("{}{START}{}{}", &readme[..s], table(&values), &readme[e..]);
    if std::env::var_os("BATON_WRITE_CHART_README").is_some() {
        std::fs::write(&readme_path, &generated).unwrap();
    }
    assert!(
        readme == generated,
        "helm/baton/README.md's values table differs from values.yaml: run\n  \
         BATON_WRITE_CHART_README=1 cargo nextest run -p baton-e2e --test assets helm::readme"
    );
    // The table really follows values.yaml: a documented key shows with its default.
    assert!(
        generated.contains("| `replicaCount` | int | `1` | Pods."),
        "{generated}"
    );
    assert!(generated.contains("| `prometheusRule.judgmentWaitingFor` | string | `\"24h\"` |"));
}
