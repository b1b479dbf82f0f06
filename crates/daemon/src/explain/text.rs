//! The text `baton explain PRODUCT` and `baton events` print, and the dashboard shows, from
//! the API's typed answers (the types the handlers return and the CLI decodes), so a renamed
//! field is a compile error here rather than a blank in the output.

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use super::verdict::Verdict;
use crate::api::types::{EventView, EventsAnswer, ExplainAnswer};
use crate::store::events::Event;

/// A time as the API writes it (RFC 3339).
fn at(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_else(|_| t.to_string())
}

/// One block per source: the source, what it saw, the newest event, the verdict and why.
pub fn render(v: &ExplainAnswer) -> String {
    let mut out = format!("product {}\n", v.product);
    for src in &v.sources {
        out.push_str(&format!("{}\n", src.source));
        if let Some(o) = &src.observed {
            out.push_str(&format!(
                "  seen:    {} at {}\n",
                o.value,
                at(o.observed_at)
            ));
        }
        if let Some(e) = &src.event {
            out.push_str(&format!(
                "  event:   {} {} at {}\n",
                e.id,
                e.kind,
                at(e.created_at)
            ));
        }
        out.push_str(&format!(
            "  verdict: {}: {}\n",
            src.verdict.name(),
            why(&src.verdict)
        ));
        if !src.superseded.is_empty() {
            let ids: Vec<String> = src.superseded.iter().map(i64::to_string).collect();
            out.push_str(&format!(
                "  latest wins: {} older waiting change(s) replaced by this one, never sent (outbox records {})\n",
                ids.len(),
                ids.join(", ")
            ));
        }
    }
    out
}

/// Why a source's verdict is what it is: one sentence (more lines for `unmatched` and
/// `no_execution`).
pub fn why(verdict: &Verdict) -> String {
    let text = |o: &Option<String>| o.clone().unwrap_or_default();
    let reasons = |head: String, reasons: &[String]| {
        let mut t = head;
        for r in reasons {
            t.push_str(&format!("\n    - {r}"));
        }
        t
    };
    match verdict {
        Verdict::Delivered { ids } => ids.clone(),
        Verdict::Baseline { detail }
        | Verdict::Unchanged { detail }
        | Verdict::Rejected { detail }
        | Verdict::NotSent { detail } => detail.clone(),
        Verdict::Retrying {
            record,
            attempts,
            last_error,
            next_attempt_at,
        } => format!(
            "outbox record {record} retrying: {attempts} attempt(s), last error: {}, next attempt at {}",
            text(last_error),
            at(*next_attempt_at)
        ),
        Verdict::Dead {
            record,
            attempts,
            last_error,
        } => format!(
            "outbox record {record} dead after {attempts} attempt(s), last error: {} (baton outbox retry {record} tries again)",
            text(last_error)
        ),
        Verdict::Waiting {
            record,
            until,
            reason,
        } => format!(
            "outbox record {record} waits until {}: {reason}",
            at(*until)
        ),
        Verdict::Unmatched {
            spinnaker_event_id,
            missing,
            reasons: r,
        } => reasons(
            format!(
                "Spinnaker accepted the webhook (Echo event {spinnaker_event_id}) but {} did not \
                 start within spinnaker.verify_deadline; Echo matched the event against \
                 pipelines as they were then:",
                missing.join(", ")
            ),
            r,
        ),
        Verdict::Superseded { record, by } => format!(
            "outbox record {record} was never sent: record {} carries a newer change of the same environments or tag (latest wins)",
            by.map(|b| b.to_string()).unwrap_or_default()
        ),
        Verdict::NoExecution {
            spinnaker_event_id,
            reasons: r,
        } => reasons(
            format!(
                "Spinnaker accepted the webhook (Echo event {spinnaker_event_id}) but no execution was found:"
            ),
            r,
        ),
        Verdict::NotSeen { reason } | Verdict::Unverified { reason } => reason.clone(),
    }
}

fn short(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ => digest.to_owned(),
    }
}

/// The correlation chain of one event, in order (commit or base digest -> queue item ->
/// build -> result -> image -> Echo event -> execution -> status, then the delivery check
/// and the note), as (label, value) pairs; digests shortened.
pub fn chain(e: &Event, delivery: Option<&str>) -> Vec<(&'static str, String)> {
    let c = &e.correlation;
    let number = |n: Option<i64>| n.map(|n| n.to_string());
    [
        ("commit", c.commit.as_deref().map(short)),
        ("base", c.base_digest.as_deref().map(short)),
        ("queue", number(c.jenkins_queue_id)),
        ("build", number(c.build_number)),
        ("result", c.build_result.as_deref().map(short)),
        ("image", c.image_digest.as_deref().map(short)),
        ("echo", c.spinnaker_event_id.as_deref().map(short)),
        ("execution", c.execution_id.as_deref().map(short)),
        ("status", c.execution_status.as_deref().map(short)),
        ("delivery", delivery.map(short)),
        ("note", c.detail.clone()),
    ]
    .into_iter()
    .filter_map(|(label, value)| Some((label, value?)))
    .collect()
}

/// The text of `baton events`: one line per event, its correlation chain joined by `->`.
pub fn events(v: &EventsAnswer) -> String {
    let mut out = format!(
        "{:24} {:25} {:14} {:8} {:12} CORRELATION\n",
        "EVENT", "AT", "PRODUCT", "KIND", "IMAGE"
    );
    for EventView {
        event: e, delivery, ..
    } in &v.events
    {
        let chain: Vec<String> = chain(e, delivery.as_deref())
            .into_iter()
            .map(|(label, v)| format!("{label}={v}"))
            .collect();
        out.push_str(&format!(
            "{:24} {:25} {:14} {:8} {:12} {}\n",
            e.id,
            at(e.created_at),
            e.product,
            e.kind,
            e.image.as_deref().unwrap_or("-"),
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
        let v: EventsAnswer = serde_json::from_value(serde_json::json!({"events": [{
            "id": "ev-1", "created_at": "2026-11-29T18:00:00Z", "product": "mgw", "kind": "image",
            "image": "gw", "commit": "abc123", "base_digest": null, "jenkins_queue_id": 17,
            "build_number": 4, "build_result": "SUCCESS", "image_digest": null,
            "spinnaker_event_id": "e-9", "execution_id": "x-1", "execution_status": "SUCCEEDED",
            "detail": "base moved"}]}))
        .unwrap();
        let text = events(&v);
        assert!(
            text.contains("ev-1                     2026-11-29T18:00:00Z      mgw            image    gw           commit=abc123 -> queue=17 -> build=4 -> result=SUCCESS -> echo=e-9 -> execution=x-1 -> status=SUCCEEDED -> note=base moved"),
            "{text}"
        );
    }

    #[test]
    fn a_verdict_name_is_the_api_verdict_field() {
        let t = OffsetDateTime::UNIX_EPOCH;
        let text = String::new;
        for v in [
            Verdict::Delivered { ids: text() },
            Verdict::Baseline { detail: text() },
            Verdict::Unchanged { detail: text() },
            Verdict::Rejected { detail: text() },
            Verdict::Retrying {
                record: 1,
                attempts: 2,
                last_error: None,
                next_attempt_at: t,
            },
            Verdict::Waiting {
                record: 1,
                until: t,
                reason: text(),
            },
            Verdict::Unmatched {
                spinnaker_event_id: text(),
                missing: vec![],
                reasons: vec![],
            },
            Verdict::Dead {
                record: 1,
                attempts: 2,
                last_error: None,
            },
            Verdict::Superseded {
                record: 1,
                by: None,
            },
            Verdict::NoExecution {
                spinnaker_event_id: text(),
                reasons: vec![],
            },
            Verdict::NotSent { detail: text() },
            Verdict::NotSeen { reason: text() },
            Verdict::Unverified { reason: text() },
        ] {
            assert_eq!(serde_json::to_value(&v).unwrap()["verdict"], v.name());
        }
    }
}
