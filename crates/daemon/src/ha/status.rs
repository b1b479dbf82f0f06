//! The replicas in `GET /v1/status` and `baton status`: id, host, started, last heartbeat,
//! whether it is alive, and what it holds right now (turns of scheduled work, Jenkins
//! follow-ups, outbox records on the wire).

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::STALE_AFTER;
use crate::store::replicas::Replica;
use crate::store::{Store, StoreError};

/// One replica in `/v1/status`: its registry row, whether it is alive and what it holds.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ReplicaStatus {
    /// The replica as registered.
    #[serde(flatten)]
    pub replica: Replica,
    /// Running and heard from within the staleness limit.
    pub alive: bool,
    /// What it holds right now.
    pub owns: Owns,
}

/// What a replica holds.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Owns {
    /// Sources whose scheduled turn it holds.
    pub scheduled: Vec<String>,
    /// Events whose Jenkins build it follows.
    pub follow_ups: Vec<String>,
    /// Jobs it runs.
    pub jobs: Vec<String>,
    /// Outbox records it is delivering.
    pub records: Vec<OnTheWire>,
}

/// An outbox record a replica is delivering.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct OnTheWire {
    /// Record id.
    pub id: i64,
    /// Its target.
    pub target: String,
}

/// The `replicas` list of `/v1/status`, newest first.
pub async fn replicas(
    store: &Store,
    now: OffsetDateTime,
) -> Result<Vec<ReplicaStatus>, StoreError> {
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
        let on_the_wire = records
            .iter()
            .filter(|(owner, _, _)| *owner == r.id)
            .map(|(_, id, target)| OnTheWire {
                id: *id,
                target: target.clone(),
            })
            .collect();
        let alive = r.stopped_at.is_none() && now - r.heartbeat_at < STALE_AFTER;
        out.push(ReplicaStatus {
            owns: Owns {
                scheduled: held("source:"),
                follow_ups: held("follow:"),
                jobs: held("job:"),
                records: on_the_wire,
            },
            replica: r,
            alive,
        });
    }
    Ok(out)
}

fn rfc3339(t: OffsetDateTime) -> String {
    t.format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default()
}

/// The replicas as a text table for `baton status`.
pub fn render(list: &[ReplicaStatus]) -> String {
    let mut out = format!(
        "\n{:32} {:16} {:8} {:26} {:26} {}\n",
        "REPLICA", "HOST", "STATE", "STARTED", "LAST HEARTBEAT", "OWNS"
    );
    for status in list {
        let r = &status.replica;
        let state = if r.stopped_at.is_some() {
            "stopped"
        } else if status.alive {
            "alive"
        } else {
            "silent"
        };
        let o = &status.owns;
        let mut owns = o.scheduled.clone();
        owns.extend(o.jobs.iter().cloned());
        owns.extend(o.follow_ups.iter().map(|e| format!("follow {e}")));
        owns.extend(o.records.iter().map(|rec| format!("record {}", rec.id)));
        out.push_str(&format!(
            "{:32} {:16} {:8} {:26} {:26} {}\n",
            r.id,
            r.host,
            state,
            rfc3339(r.started_at),
            rfc3339(r.heartbeat_at),
            if owns.is_empty() {
                "-".to_owned()
            } else {
                owns.join(", ")
            }
        ));
    }
    out
}
