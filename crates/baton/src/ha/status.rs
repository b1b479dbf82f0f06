//! The replicas in `GET /v1/status` and `baton status`: id, host, started, last heartbeat,
//! whether it is alive, and what it holds right now (turns of scheduled work, Jenkins
//! follow-ups, outbox records on the wire).

use serde_json::{Value, json};
use time::OffsetDateTime;

use super::STALE_AFTER;
use crate::store::{Store, StoreError};

/// The `replicas` list of `/v1/status`, newest first.
pub async fn replicas(store: &Store, now: OffsetDateTime) -> Result<Value, StoreError> {
    let leases = store.leases("").await?;
    let records = store.leased_records(now).await?;
    let mut out = Vec::new();
    for r in store.replicas().await? {
        let held = |prefix: &str| -> Vec<String> {
            leases
                .iter()
                .filter(|l| l.owner.as_deref() == Some(r.id.as_str()) && l.until > now)
                .filter_map(|l| l.name.strip_prefix(prefix).map(str::to_owned))
                .collect()
        };
        let on_the_wire: Vec<Value> = records
            .iter()
            .filter(|(owner, _, _)| *owner == r.id)
            .map(|(_, id, target)| json!({"id": id, "target": target}))
            .collect();
        let alive = r.stopped_at.is_none() && now - r.heartbeat_at < STALE_AFTER;
        out.push(json!({
            "id": r.id, "host": r.host, "pid": r.pid, "version": r.version,
            "started_at": rfc3339(r.started_at), "heartbeat_at": rfc3339(r.heartbeat_at),
            "stopped_at": r.stopped_at.map(rfc3339), "alive": alive,
            "owns": {
                "scheduled": held("source:"),
                "follow_ups": held("follow:"),
                "jobs": held("job:"),
                "records": on_the_wire,
            },
        }));
    }
    Ok(Value::Array(out))
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The replicas as a text table for `baton status`.
pub fn render(v: &Value) -> String {
    let Some(list) = v.as_array() else {
        return String::new();
    };
    let s = |v: &Value| v.as_str().unwrap_or("-").to_owned();
    let mut out = format!(
        "\n{:32} {:16} {:8} {:26} {:26} {}\n",
        "REPLICA", "HOST", "STATE", "STARTED", "LAST HEARTBEAT", "OWNS"
    );
    for r in list {
        let state = if !r["stopped_at"].is_null() {
            "stopped"
        } else if r["alive"] == true {
            "alive"
        } else {
            "silent"
        };
        let o = &r["owns"];
        let names = |k: &str| -> Vec<String> {
            o[k].as_array()
                .into_iter()
                .flatten()
                .map(|n| n.as_str().unwrap_or("-").to_owned())
                .collect()
        };
        let mut owns = names("scheduled");
        owns.extend(names("jobs"));
        owns.extend(names("follow_ups").iter().map(|e| format!("follow {e}")));
        for rec in o["records"].as_array().into_iter().flatten() {
            owns.push(format!("record {}", rec["id"]));
        }
        out.push_str(&format!(
            "{:32} {:16} {:8} {:26} {:26} {}\n",
            s(&r["id"]),
            s(&r["host"]),
            state,
            s(&r["started_at"]),
            s(&r["heartbeat_at"]),
            if owns.is_empty() {
                "-".to_owned()
            } else {
                owns.join(", ")
            }
        ));
    }
    out
}
