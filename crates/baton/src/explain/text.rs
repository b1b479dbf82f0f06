//! The text `baton explain PRODUCT` prints, from the API's JSON.

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
        let why = match verdict.as_str() {
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
        };
        out.push_str(&format!("  verdict: {verdict}: {why}\n"));
    }
    out
}
