//! Jenkins builds baton still follows: events whose `jenkins.build` trigger Jenkins accepted
//! (they have a queue id; the record's own state is not waited for, so the deliverer's wake-up
//! finds the build before the worker marks the record delivered) and that have no build result
//! yet. Read again after a restart, so a
//! follow-up interrupted by a crash or a deploy is picked up where the store left it.

use sqlx::FromRow;

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
             WHERE o.kind = 'jenkins.build' \
             AND e.jenkins_queue_id IS NOT NULL AND e.build_result IS NULL \
             ORDER BY e.created_at, e.id LIMIT $1",
        )
        .bind(i64::from(limit))
        .fetch_all(self.pool())
        .await?;
        let mut out = Vec::with_capacity(rows.len());
        for r in rows {
            out.extend(super::rows::PendingBuildRow::from_row(&r)?.into_pending()?);
        }
        Ok(out)
    }
}
