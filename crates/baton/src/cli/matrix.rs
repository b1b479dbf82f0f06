//! `baton status PRODUCT`: the environment matrix (`GET /v1/products/{product}/environments`)
//! as a table, or the API's JSON unchanged with `--output json`. Rendered from the typed
//! answer the API returns ([`Matrix`]).

use time::OffsetDateTime;
use time::format_description::well_known::Rfc3339;

use baton_daemon::promote::artifacts::{ChartRan, Ran, short};
use baton_daemon::promote::matrix::{EnvState, Matrix, NO_STAGE, NOT_RUN};

fn at(t: Option<OffsetDateTime>) -> String {
    t.and_then(|t| t.format(&Rfc3339).ok())
        .unwrap_or_else(|| "-".to_owned())
}

fn chart(c: Option<&ChartRan>) -> String {
    let Some(c) = c else {
        return "-".to_owned();
    };
    let digest = c
        .digest
        .as_deref()
        .map(short)
        .unwrap_or_else(|| "digest ?".into());
    format!(
        "{} {} {digest}",
        c.name,
        c.version.as_deref().unwrap_or("-")
    )
}

/// What an artifact (`Ran`) is, in a few words.
fn artifact(a: &Ran) -> String {
    let mut parts = Vec::new();
    if a.chart.is_some() {
        parts.push(format!("chart {}", chart(a.chart.as_ref())));
    }
    if let Some(i) = &a.image {
        parts.push(format!("image {}@{}", i.repository, short(&i.digest)));
    }
    if parts.is_empty() {
        "no chart or image".to_owned()
    } else {
        parts.join(" + ")
    }
}

/// The matrix as a table of what runs where, then per environment what waits and whether it
/// may be promoted.
pub fn render(v: &Matrix) -> String {
    let mut out = format!("product {} (as of {})\n", v.product, at(Some(v.as_of)));
    if let Some(e) = &v.gate_error {
        out.push_str(&format!("Spinnaker executions unknown: {e}\n"));
    }
    out.push_str(&format!(
        "{:10} {:22} {:40} {:20} {:20} {:28} {}\n",
        "ENV", "STATE", "DEPLOYED CHART", "VALUES", "IMAGE", "EXECUTION", "FINISHED"
    ));
    for e in &v.environments {
        let d = e.last_success.as_ref();
        out.push_str(&format!(
            "{:10} {:22} {:40} {:20} {:20} {:28} {}\n",
            e.name,
            state(e.state),
            chart(d.and_then(|d| d.chart.as_ref())),
            d.and_then(|d| d.values_digest.as_deref())
                .map(short)
                .unwrap_or("-".into()),
            e.image
                .as_ref()
                .map(|i| short(&i.digest))
                .unwrap_or("-".into()),
            d.map(|d| d.execution_id.as_str()).unwrap_or("-"),
            at(d.and_then(|d| d.finished_at)),
        ));
    }
    out.push_str("\nVERIFICATION (the stage that ends each execution and gates promotion)\n");
    for e in &v.environments {
        out.push_str(&format!(
            "{:10} newest {}; last success {}\n",
            e.name,
            verified(e.newest.as_ref().map(|x| (&x.id, &x.verification))),
            verified(
                e.last_success
                    .as_ref()
                    .map(|x| (&x.execution_id, &x.verification))
            ),
        ));
    }
    out.push_str("\nJUDGMENTS AND PROMOTION\n");
    for e in &v.environments {
        let name = &e.name;
        let j = e.pending_judgment.as_ref();
        let mut line = match j {
            Some(j) => format!(
                "{name:10} waits since {} in execution {} for {}: ",
                at(j.since),
                j.execution_id,
                artifact(&j.artifact)
            ),
            None => format!("{name:10} "),
        };
        let reason = e.promotion.reason.as_deref().unwrap_or("-");
        if e.promotion.allowed {
            line.push_str(&format!(
                "promotion allowed: baton promote {} {name}",
                v.product
            ));
        } else if j.is_none() {
            line.push_str(reason);
        } else {
            line.push_str(&format!("promotion refused: {reason}"));
        }
        out.push_str(&line);
        out.push('\n');
        if let Some(r) = &e.running
            && j.is_none()
        {
            out.push_str(&format!(
                "{:10} running: execution {} ({}) of {}\n",
                "",
                r.id,
                r.status,
                artifact(&r.artifact)
            ));
        }
    }
    out
}

/// `ID: RESULT` of an execution and its verification, or `-` without one.
fn verified(x: Option<(&String, &String)>) -> String {
    let Some((id, verification)) = x else {
        return "-".to_owned();
    };
    let result = match verification.as_str() {
        NOT_RUN => "not run",
        NO_STAGE => "no verification stage",
        other => other,
    };
    format!("{id}: {result}")
}

/// The state in words short enough for the table's column.
fn state(s: EnvState) -> &'static str {
    match s {
        EnvState::Sent => "sent, no execution",
        EnvState::Unknown => "unknown (Gate)",
        other => other.label(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_waiting_judgments_are_spelled_out() {
        let v: Matrix = serde_json::from_value(serde_json::json!({"product": "micro-gw", "as_of": "2026-12-01T10:00:00Z", "gate_error": null,
            "environments": [
              {"name": "dev", "pipeline": "micro-gw-deploy-dev", "state": "failed", "image": null,
               "newest": {"id": "01DEV2", "pipeline": "micro-gw-deploy-dev", "status": "TERMINAL", "started_at": null, "artifact": {}, "verification": "TERMINAL"},
               "last_success": {"execution_id": "01DEV", "pipeline": "micro-gw-deploy-dev", "finished_at": "2026-12-01T09:00:00Z", "verification": "SUCCEEDED",
                 "chart": {"name": "microgateway", "version": "3.0.1-1", "digest": format!("sha256:{}", "a".repeat(64))},
                 "values_digest": format!("sha256:{}", "b".repeat(64))},
               "pending_judgment": null, "running": null,
               "promotion": {"allowed": false, "reason": "nothing waits for a judgment in micro-gw-deploy-dev"}},
              {"name": "prod", "pipeline": "micro-gw-deploy-prod", "state": "waiting", "last_success": null, "image": null,
               "newest": {"id": "01PROD", "pipeline": "micro-gw-deploy-prod", "status": "RUNNING", "started_at": null, "artifact": {}, "verification": "NOT_RUN"}, "running": null,
               "pending_judgment": {"execution_id": "01PROD", "stage_id": "judge", "since": "2026-12-01T09:30:00Z",
                 "artifact": {"chart": {"name": "microgateway", "version": "3.0.1-2", "digest": null}}},
               "promotion": {"allowed": false, "reason": "staging has no SUCCEEDED execution of chart microgateway"}}]}))
        .unwrap();
        let text = render(&v);
        assert!(
            text.contains(
                "dev        failed                 microgateway 3.0.1-1 sha256:aaaaaaaaaaaa"
            ),
            "{text}"
        );
        assert!(
            text.contains("dev        newest 01DEV2: TERMINAL; last success 01DEV: SUCCEEDED\n"),
            "{text}"
        );
        assert!(
            text.contains("prod       newest 01PROD: not run; last success -\n"),
            "{text}"
        );
        assert!(text.contains(
            "prod       waits since 2026-12-01T09:30:00Z in execution 01PROD for chart microgateway 3.0.1-2 digest ?: promotion refused: staging has no SUCCEEDED"
        ), "{text}");
        assert!(
            text.contains("dev        nothing waits for a judgment"),
            "{text}"
        );
    }
}
