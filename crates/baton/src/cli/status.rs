//! `baton status` and `baton outbox list` as text tables, from the API's typed answers
//! ([`StatusAnswer`], outbox [`Record`]s).

use std::fmt::Write as _;

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use baton_daemon::api::types::StatusAnswer;
use baton_daemon::promote::artifacts::short;
use baton_daemon::store::outbox::Record;

fn or_dash(v: Option<&str>) -> &str {
    v.unwrap_or("-")
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&Rfc3339).unwrap_or_default()
}

/// The status as text tables, then per product the last chart decision and failing sources.
pub fn render(v: &StatusAnswer) -> String {
    let mut out = String::new();
    let _ = writeln!(
        out,
        "{:16} {:10} {:12} {:20} DELIVERED",
        "PRODUCT", "ENV", "CHART", "VALUES"
    );
    for p in &v.products {
        for e in &p.environments {
            let d = e.delivered.as_ref();
            let _ = writeln!(
                out,
                "{:16} {:10} {:12} {:20} {}",
                p.name,
                e.name,
                or_dash(d.map(|d| d.chart_version.as_str())),
                short(or_dash(d.map(|d| d.values_digest.as_str()))),
                d.map_or_else(|| "-".to_owned(), |d| rfc3339(d.delivered_at))
            );
        }
    }
    let _ = writeln!(
        out,
        "\n{:16} {:12} {:20} {:10} IMAGE DIGEST",
        "PRODUCT", "IMAGE", "BASE SEEN", "LAST BUILD"
    );
    for p in &v.products {
        for i in &p.images {
            let b = i.last_build.as_ref();
            let build = match b {
                Some(b) => b
                    .correlation
                    .build_number
                    .map_or_else(|| b.kind.clone(), |n| format!("#{n}")),
                None => "-".to_owned(),
            };
            let _ = writeln!(
                out,
                "{:16} {:12} {:20} {:10} {}",
                p.name,
                i.name,
                short(or_dash(i.base_seen.as_ref().map(|o| o.value.as_str()))),
                build,
                short(or_dash(
                    b.and_then(|b| b.correlation.image_digest.as_deref())
                ))
            );
        }
    }
    if let Some(pending) = &v.pending_judgments {
        let _ = writeln!(
            out,
            "\n{:16} {:10} {:38} {:24} EVENT",
            "PRODUCT", "ENV", "WAITING EXECUTION", "STAGE"
        );
        if pending.is_empty() {
            out.push_str("(no execution waits for a manual judgment)\n");
        }
        for j in pending {
            let _ = writeln!(
                out,
                "{:16} {:10} {:38} {:24} {}",
                j.product,
                j.environment,
                j.execution_id,
                or_dash(j.stage_name.as_deref()),
                or_dash(j.baton_event.as_deref())
            );
        }
    }
    if let Some(e) = &v.pending_judgments_error {
        let _ = writeln!(out, "\npending judgments unknown: {e}");
    }
    let mut notes = String::new();
    for p in &v.products {
        if let Some(detail) = p
            .last_chart_event
            .as_ref()
            .and_then(|e| e.correlation.detail.as_deref())
        {
            let _ = writeln!(notes, "{} last chart decision: {detail}", p.name);
        }
        for (source, e) in &p.source_errors {
            let _ = writeln!(
                notes,
                "{} source {source} failing (last at {}): {}",
                p.name,
                rfc3339(e.at),
                e.error
            );
        }
    }
    if !notes.is_empty() {
        out.push('\n');
        out.push_str(&notes);
    }
    let o = &v.outbox;
    let _ = writeln!(
        out,
        "\noutbox: {} pending, {} dead, {} delivered (kept), {} superseded",
        o.pending, o.dead, o.delivered, o.superseded
    );
    out.push_str(&baton_daemon::ha::status::render(&v.replicas));
    out
}

/// `baton outbox list` as a table.
pub fn records(records: &[Record]) -> String {
    let mut out = format!(
        "{:>6} {:10} {:8} {:40} {:25} LAST ERROR\n",
        "ID", "STATE", "ATTEMPTS", "TARGET", "NEXT ATTEMPT"
    );
    for r in records {
        let _ = writeln!(
            out,
            "{:>6} {:10} {:8} {:40} {:25} {}",
            r.id,
            r.state.as_str(),
            r.attempts,
            r.target,
            rfc3339(r.next_attempt_at),
            or_dash(r.last_error.as_deref())
        );
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn status_text_names_the_last_chart_decision_and_failing_sources() {
        let v: StatusAnswer = serde_json::from_value(serde_json::json!({
            "products": [{"name": "micro-gw", "environments": [], "images": [],
                "last_chart_event": {"id": "ev-1", "product": "micro-gw", "kind": "chart",
                    "created_at": "2026-11-29T11:59:00Z",
                    "detail": "rejected at commit abc: mgw/values-prod.yaml line 4 column 3: invalid YAML"},
                "source_errors": {"chart-source:micro-gw": {"at": "2026-11-29T12:00:00Z", "error": "git ls-remote: connection refused"}}}],
            "outbox": {"pending": 0, "dead": 0, "delivered": 1, "superseded": 0,
                "oldest_pending": null},
            "replicas": []
        }))
        .unwrap();
        let text = render(&v);
        assert!(
            text.contains(
                "micro-gw last chart decision: rejected at commit abc: mgw/values-prod.yaml line 4"
            ),
            "{text}"
        );
        assert!(text.contains(
            "micro-gw source chart-source:micro-gw failing (last at 2026-11-29T12:00:00Z): git ls-remote: connection refused"
        ), "{text}");
        assert!(
            text.contains("outbox: 0 pending, 0 dead, 1 delivered (kept), 0 superseded"),
            "{text}"
        );
    }
}
