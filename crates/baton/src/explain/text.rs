//! The text `baton explain PRODUCT` and `baton events` print, from the API's JSON.

use serde_json::Value;

fn s(v: &Value) -> String {
    match v {
        Value::Null => String::new(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    }
}

/// One block per source: the source, what it saw, the newest event, the verdict and why.
pub fn render(v: &Value) -> String {
    let mut out = String::new();
    out.push_str(&format!("product {}\n", s(&v["product"])));
    for src in v["sources"].as_array().into_iter().flatten() {
        out.push_str(&format!("{}\n", s(&src["source"])));
        if !src["observed"].is_null() {
            out.push_str(&format!(
                "  seen:    {} at {}\n",
                s(&src["observed"]["value"]),
                s(&src["observed"]["observed_at"])
            ));
        }
        if !src["event"].is_null() {
            out.push_str(&format!(
                "  event:   {} {} at {}\n",
                s(&src["event"]["id"]),
                s(&src["event"]["kind"]),
                s(&src["event"]["created_at"])
            ));
        }
        let verdict = s(&src["verdict"]);
        let why = why(src);
        out.push_str(&format!("  verdict: {verdict}: {why}\n"));
        if let Some(older) = src["superseded"].as_array().filter(|a| !a.is_empty()) {
            let ids: Vec<String> = older.iter().map(|i| i.to_string()).collect();
            out.push_str(&format!(
                "  latest wins: {} older waiting change(s) replaced by this one, never sent (outbox records {})\n",
                ids.len(),
                ids.join(", ")
            ));
        }
    }
    out
}

/// Why a source's verdict is what it is: one sentence (more lines for `no_execution`), from
/// the JSON of one explained source (`GET /v1/products/{product}/explain`'s `sources[]`).
pub fn why(src: &Value) -> String {
    match s(&src["verdict"]).as_str() {
        "delivered" => s(&src["ids"]),
        "baseline" | "unchanged" | "rejected" | "not_sent" => s(&src["detail"]),
        "retrying" => format!(
            "outbox record {} retrying: {} attempt(s), last error: {}, next attempt at {}",
            s(&src["record"]),
            s(&src["attempts"]),
            s(&src["last_error"]),
            s(&src["next_attempt_at"])
        ),
        "dead" => format!(
            "outbox record {} dead after {} attempt(s), last error: {} (baton outbox retry {} tries again)",
            s(&src["record"]),
            s(&src["attempts"]),
            s(&src["last_error"]),
            s(&src["record"])
        ),
        "waiting" => format!(
            "outbox record {} waits until {}: {}",
            s(&src["record"]),
            s(&src["until"]),
            s(&src["reason"])
        ),
        "unmatched" => {
            let missing: Vec<String> = src["missing"]
                .as_array()
                .into_iter()
                .flatten()
                .map(s)
                .collect();
            let mut t = format!(
                "Spinnaker accepted the webhook (Echo event {}) but {} did not start within \
                 spinnaker.verify_deadline; Echo matched the event against pipelines as they \
                 were then:",
                s(&src["spinnaker_event_id"]),
                missing.join(", ")
            );
            for r in src["reasons"].as_array().into_iter().flatten() {
                t.push_str(&format!("\n    - {}", s(r)));
            }
            t
        }
        "superseded" => format!(
            "outbox record {} was never sent: record {} carries a newer change of the same environments or tag (latest wins)",
            s(&src["record"]),
            s(&src["by"])
        ),
        "no_execution" => {
            let mut t = format!(
                "Spinnaker accepted the webhook (Echo event {}) but no execution was found:",
                s(&src["spinnaker_event_id"])
            );
            for r in src["reasons"].as_array().into_iter().flatten() {
                t.push_str(&format!("\n    - {}", s(r)));
            }
            t
        }
        _ => s(&src["reason"]),
    }
}

fn field(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn short(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ => digest.to_owned(),
    }
}

/// The correlation chain of one event's JSON, in order (commit or base digest -> queue item
/// -> build -> result -> image -> Echo event -> execution -> status, then the note), as
/// (label, value) pairs; digests shortened.
pub fn chain(e: &Value) -> Vec<(&'static str, String)> {
    let mut chain = Vec::new();
    for (label, key) in [
        ("commit", "commit"),
        ("base", "base_digest"),
        ("queue", "jenkins_queue_id"),
        ("build", "build_number"),
        ("result", "build_result"),
        ("image", "image_digest"),
        ("echo", "spinnaker_event_id"),
        ("execution", "execution_id"),
        ("status", "execution_status"),
        ("delivery", "delivery"),
        ("note", "detail"),
    ] {
        match &e[key] {
            Value::Null => {}
            Value::String(v) if key == "detail" => chain.push((label, v.clone())),
            Value::String(v) => chain.push((label, short(v))),
            other => chain.push((label, other.to_string())),
        }
    }
    chain
}

/// The text of `baton events`: one line per event, its correlation chain joined by `->`
/// (commit or base digest -> queue item -> build -> result -> image -> Echo event ->
/// execution -> status, then the note).
pub fn events(v: &Value) -> String {
    let mut out = format!(
        "{:24} {:25} {:14} {:8} {:12} CORRELATION\n",
        "EVENT", "AT", "PRODUCT", "KIND", "IMAGE"
    );
    for e in v["events"].as_array().into_iter().flatten() {
        let chain: Vec<String> = chain(e)
            .into_iter()
            .map(|(label, v)| format!("{label}={v}"))
            .collect();
        out.push_str(&format!(
            "{:24} {:25} {:14} {:8} {:12} {}\n",
            field(&e["id"]),
            field(&e["created_at"]),
            field(&e["product"]),
            field(&e["kind"]),
            field(&e["image"]),
            chain.join(" -> ")
        ));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn events_text_shows_the_correlation_chain_in_order() {
        let v = serde_json::json!({"events": [{
            "id": "ev-1", "created_at": "2026-11-29T18:00:00Z", "product": "mgw", "kind": "image",
            "image": "gw", "commit": "abc123", "base_digest": null, "jenkins_queue_id": 17,
            "build_number": 4, "build_result": "SUCCESS", "image_digest": null,
            "spinnaker_event_id": "e-9", "execution_id": "x-1", "execution_status": "SUCCEEDED",
            "detail": "base moved"}]});
        let text = events(&v);
        assert!(
            text.contains("commit=abc123 -> queue=17 -> build=4 -> result=SUCCESS -> echo=e-9 -> execution=x-1 -> status=SUCCEEDED -> note=base moved"),
            "{text}"
        );
    }
}
