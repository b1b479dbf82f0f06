//! Jenkins builds baton still follows: events whose `jenkins.build` record was delivered (so
//! they have a queue id) and that have no build result yet. Read again after a restart, so a
//! follow-up interrupted by a crash or a deploy is picked up where the store left it.

use sqlx::Row;

use super::{Store, StoreError};

/// One build to follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PendingBuild {
    /// The baton event.
    pub event_id: String,
    /// Jenkins job path (`folder/job`), from the delivered record.
    pub job: String,
    /// Jenkins queue item id.
    pub queue_id: i64,
    /// Build number, once known.
    pub build_number: Option<i64>,
}

impl Store {
    /// Up to `limit` builds without a result, oldest event first.
    pub async fn pending_builds(&self, limit: u32) -> Result<Vec<PendingBuild>, StoreError> {
        let rows = sqlx::query(
            "SELECT e.id, e.jenkins_queue_id, e.build_number, o.payload FROM events e \
             JOIN outbox o ON o.event_id = e.id \
             WHERE o.kind = 'jenkins.build' AND o.state = 'delivered' \
             AND e.jenkins_queue_id IS NOT NULL AND e.build_result IS NULL \
             ORDER BY e.created_at, e.id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            let payload: String = r.try_get("payload")?;
            let value: serde_json::Value =
                serde_json::from_str(&payload).map_err(|source| StoreError::Corrupt {
                    column: "payload",
                    source,
                })?;
            let Some(job) = value.get("job").and_then(|j| j.as_str()) else {
                continue;
            };
            out.push(PendingBuild {
                event_id: r.try_get("id")?,
                job: job.to_owned(),
                queue_id: r.try_get("jenkins_queue_id")?,
                build_number: r.try_get("build_number")?,
            });
        }
        Ok(out)
    }
}
