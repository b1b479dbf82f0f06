//! Comparing a rendered pipeline with what Gate stores: the fields Gate/front50 manage are
//! ignored, and a content hash in the pipeline tells what baton itself last saved.

use serde_json::Value;
use sha2::{Digest, Sha256};
use spinnaker_client::model::pipeline::PipelineConfig;

/// Top-level key holding the sha256 of the pipeline as baton rendered it (without this key and
/// without [`MANAGED_FIELDS`]). front50 keeps unknown keys, and Deck keeps them when a pipeline
/// is edited, so the stored value still names what baton saved after a UI edit.
pub const HASH_FIELD: &str = "batonSha256";

/// Keys front50/Gate set or rewrite on save, ignored when comparing: `index` (list position),
/// `updateTs`/`lastModified`/`createTs` (timestamps), `lastModifiedBy` (the saving user) and
/// `schema` (front50 reports `"1"` when absent).
pub const MANAGED_FIELDS: [&str; 6] = [
    "index",
    "updateTs",
    "lastModified",
    "createTs",
    "lastModifiedBy",
    "schema",
];

/// The pipeline as JSON without the managed fields and the hash.
pub fn content(p: &PipelineConfig) -> Value {
    let mut v = serde_json::to_value(p).unwrap_or(Value::Null);
    if let Some(m) = v.as_object_mut() {
        for k in MANAGED_FIELDS {
            m.remove(k);
        }
        m.remove(HASH_FIELD);
    }
    v
}

/// sha256 (hex) of the canonical JSON (sorted keys, no spaces) of [`content`].
pub fn content_hash(p: &PipelineConfig) -> String {
    let text = serde_json::to_string(&content(p)).unwrap_or_default();
    hex::encode(Sha256::digest(text.as_bytes()))
}

/// Sets [`HASH_FIELD`] to the pipeline's content hash.
pub fn stamp(p: &mut PipelineConfig) {
    let h = content_hash(p);
    p.extra.insert(HASH_FIELD.into(), Value::String(h));
}

/// The hash recorded in a stored pipeline, if any.
pub fn recorded_hash(p: &PipelineConfig) -> Option<&str> {
    p.extra.get(HASH_FIELD).and_then(Value::as_str)
}

/// Line-per-difference description of `live` vs `rendered` content, by JSON path.
pub fn diff(live: &Value, rendered: &Value) -> Vec<String> {
    let mut out = Vec::new();
    walk("", live, rendered, &mut out);
    out
}

fn short(v: Option<&Value>) -> String {
    match v {
        None => "(absent)".into(),
        Some(v) => {
            let s = v.to_string();
            if s.chars().count() > 120 {
                format!("{}...", s.chars().take(117).collect::<String>())
            } else {
                s
            }
        }
    }
}

fn walk(path: &str, a: &Value, b: &Value, out: &mut Vec<String>) {
    match (a, b) {
        (Value::Object(x), Value::Object(y)) => {
            let keys: std::collections::BTreeSet<&String> = x.keys().chain(y.keys()).collect();
            for k in keys {
                let p = if path.is_empty() {
                    k.clone()
                } else {
                    format!("{path}.{k}")
                };
                match (x.get(k), y.get(k)) {
                    (Some(va), Some(vb)) => walk(&p, va, vb, out),
                    (va, vb) => out.push(line(&p, va, vb)),
                }
            }
        }
        (Value::Array(x), Value::Array(y)) => {
            for i in 0..x.len().max(y.len()) {
                let p = format!("{path}[{i}]");
                match (x.get(i), y.get(i)) {
                    (Some(va), Some(vb)) => walk(&p, va, vb, out),
                    (va, vb) => out.push(line(&p, va, vb)),
                }
            }
        }
        _ if a != b => out.push(line(path, Some(a), Some(b))),
        _ => {}
    }
}

fn line(path: &str, live: Option<&Value>, rendered: Option<&Value>) -> String {
    format!(
        "{path}: in Spinnaker {}, rendered {}",
        short(live),
        short(rendered)
    )
}
