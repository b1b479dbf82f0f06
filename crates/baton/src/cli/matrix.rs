//! `baton status PRODUCT`: the environment matrix (`GET /v1/products/{product}/environments`)
//! as a table, or the API's JSON unchanged with `--output json`.

use serde_json::Value;

use crate::promote::artifacts::short;

fn s(v: &Value) -> &str {
    v.as_str().unwrap_or("-")
}

fn chart(c: &Value) -> String {
    if c.is_null() {
        return "-".to_owned();
    }
    let digest = c["digest"]
        .as_str()
        .map(short)
        .unwrap_or_else(|| "digest ?".into());
    format!("{} {} {digest}", s(&c["name"]), s(&c["version"]))
}

/// What an artifact (`Ran`) is, in a few words.
fn artifact(a: &Value) -> String {
    let mut parts = Vec::new();
    if !a["chart"].is_null() {
        parts.push(format!("chart {}", chart(&a["chart"])));
    }
    if let Some(d) = a["image"]["digest"].as_str() {
        parts.push(format!(
            "image {}@{}",
            s(&a["image"]["repository"]),
            short(d)
        ));
    }
    if parts.is_empty() {
        "no chart or image".to_owned()
    } else {
        parts.join(" + ")
    }
}

/// The matrix JSON as a table of what runs where, then per environment what waits and
/// whether it may be promoted.
pub fn render(v: &Value) -> String {
    let mut out = format!("product {} (as of {})\n", s(&v["product"]), s(&v["as_of"]));
    if let Some(e) = v["gate_error"].as_str() {
        out.push_str(&format!("Spinnaker executions unknown: {e}\n"));
    }
    out.push_str(&format!(
        "{:10} {:22} {:40} {:20} {:20} {:28} {}\n",
        "ENV", "STATE", "DEPLOYED CHART", "VALUES", "IMAGE", "EXECUTION", "FINISHED"
    ));
    let empty = Vec::new();
    let envs = v["environments"].as_array().unwrap_or(&empty);
    for e in envs {
        let d = &e["last_success"];
        let image = e["image"]["digest"].as_str().map(short);
        out.push_str(&format!(
            "{:10} {:22} {:40} {:20} {:20} {:28} {}\n",
            s(&e["name"]),
            state(s(&e["state"])),
            chart(&d["chart"]),
            d["values_digest"].as_str().map(short).unwrap_or("-".into()),
            image.as_deref().unwrap_or("-"),
            s(&d["execution_id"]),
            s(&d["finished_at"]),
        ));
    }
    out.push_str("\nVERIFICATION (the stage that ends each execution and gates promotion)\n");
    for e in envs {
        out.push_str(&format!(
            "{:10} newest {}; last success {}\n",
            s(&e["name"]),
            verified(&e["newest"], "id"),
            verified(&e["last_success"], "execution_id"),
        ));
    }
    out.push_str("\nJUDGMENTS AND PROMOTION\n");
    for e in envs {
        let name = s(&e["name"]);
        let j = &e["pending_judgment"];
        let mut line = match j["execution_id"].as_str() {
            Some(x) => format!(
                "{name:10} waits since {} in execution {x} for {}: ",
                s(&j["since"]),
                artifact(&j["artifact"])
            ),
            None => format!("{name:10} "),
        };
        let p = &e["promotion"];
        if p["allowed"].as_bool() == Some(true) {
            line.push_str(&format!(
                "promotion allowed: baton promote {} {name}",
                s(&v["product"])
            ));
        } else if j.is_null() {
            line.push_str(s(&p["reason"]));
        } else {
            line.push_str(&format!("promotion refused: {}", s(&p["reason"])));
        }
        out.push_str(&line);
        out.push('\n');
        if let Some(r) = e["running"]["id"].as_str()
            && j.is_null()
        {
            out.push_str(&format!(
                "{:10} running: execution {r} ({}) of {}\n",
                "",
                s(&e["running"]["status"]),
                artifact(&e["running"]["artifact"])
            ));
        }
    }
    out
}

/// `execution ID: RESULT` of an execution (its id under `id_key`), or `-` without one.
fn verified(x: &Value, id_key: &str) -> String {
    let Some(id) = x[id_key].as_str() else {
        return "-".to_owned();
    };
    let result = match s(&x["verification"]) {
        "NOT_RUN" => "not run",
        "NO_STAGE" => "no verification stage",
        other => other,
    };
    format!("{id}: {result}")
}

fn state(api: &str) -> &str {
    match api {
        "waiting" => "waiting for judgment",
        "sent" => "sent, no execution",
        "nothing" => "nothing delivered",
        "unknown" => "unknown (Gate)",
        other => other,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_and_waiting_judgments_are_spelled_out() {
        let v = serde_json::json!({"product": "micro-gw", "as_of": "2026-12-01T10:00:00Z", "gate_error": null,
            "environments": [
              {"name": "dev", "state": "failed", "image": null,
               "newest": {"id": "01DEV2", "verification": "TERMINAL"},
               "last_success": {"execution_id": "01DEV", "finished_at": "2026-12-01T09:00:00Z", "verification": "SUCCEEDED",
                 "chart": {"name": "microgateway", "version": "3.0.1-1", "digest": format!("sha256:{}", "a".repeat(64))},
                 "values_digest": format!("sha256:{}", "b".repeat(64))},
               "pending_judgment": null, "running": null,
               "promotion": {"allowed": false, "reason": "nothing waits for a judgment in micro-gw-deploy-dev"}},
              {"name": "prod", "state": "waiting", "last_success": null, "image": null,
               "newest": {"id": "01PROD", "verification": "NOT_RUN"}, "running": null,
               "pending_judgment": {"execution_id": "01PROD", "since": "2026-12-01T09:30:00Z",
                 "artifact": {"chart": {"name": "microgateway", "version": "3.0.1-2", "digest": null}}},
               "promotion": {"allowed": false, "reason": "staging has no SUCCEEDED execution of chart microgateway"}}]});
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
