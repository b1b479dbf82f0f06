//! Latest wins: when a newer record of a group (a product's chart event for some
//! environments, an image event for a tag) is recorded, older ones still waiting are marked
//! `superseded` and never sent. A record that a worker holds right now is left alone (it is on
//! the wire); if its attempt fails it is superseded then. The update is a compare-and-set on
//! the state and the lease, so a concurrent claim on another replica wins cleanly.

use sqlx::FromRow;
use time::OffsetDateTime;

use super::{Store, StoreError, millis};

impl Store {
    /// Supersedes the waiting records older than record `id` in its group whose scope the
    /// newest covering record includes. Returns the ids superseded.
    pub async fn supersede_stale(
        &self,
        id: i64,
        now: OffsetDateTime,
    ) -> Result<Vec<i64>, StoreError> {
        let group: Option<String> =
            sqlx::query_scalar("SELECT supersede_group FROM outbox WHERE id = $1")
                .bind(id)
                .fetch_optional(self.pool())
                .await?
                .flatten();
        let Some(group) = group else {
            return Ok(Vec::new());
        };
        let rows = sqlx::query(
            "SELECT id, supersede_scope FROM outbox WHERE supersede_group = $1 \
             AND state = 'pending' ORDER BY id",
        )
        .bind(&group)
        .fetch_all(self.pool())
        .await?;
        let mut waiting = Vec::with_capacity(rows.len());
        for r in &rows {
            let (id, scope) = <(i64, Option<String>)>::from_row(r)?;
            waiting.push((id, scope.unwrap_or_default()));
        }
        let mut done = Vec::new();
        for (i, (old, scope)) in waiting.iter().enumerate() {
            // The newest later record covering every part of this one's scope.
            let Some((by, _)) = waiting[i + 1..]
                .iter()
                .rev()
                .find(|(_, newer)| covers(newer, scope))
            else {
                continue;
            };
            let n = sqlx::query(
                "UPDATE outbox SET state = 'superseded', superseded_by = $1, \
                 lease_owner = NULL, lease_until = NULL \
                 WHERE id = $2 AND state = 'pending' AND (lease_until IS NULL OR lease_until <= $3)",
            )
            .bind(by)
            .bind(old)
            .bind(millis(now))
            .execute(self.pool())
            .await?
            .rows_affected();
            if n == 1 {
                tracing::info!(record = old, superseded_by = by, %group, "superseded a waiting record: latest wins");
                done.push(*old);
            }
        }
        Ok(done)
    }
}

/// Whether scope `newer` (comma-joined) includes every part of `older`.
fn covers(newer: &str, older: &str) -> bool {
    let newer: Vec<&str> = newer.split(',').collect();
    older.split(',').all(|part| newer.contains(&part))
}

#[cfg(test)]
mod tests {
    use super::covers;

    #[test]
    fn a_newer_record_covers_an_older_one_only_with_all_its_parts() {
        assert!(covers("dev", "dev"));
        assert!(covers("dev,staging", "dev"));
        assert!(!covers("dev", "dev,staging"));
        assert!(covers("", ""));
        assert!(!covers("prod", "dev"));
    }
}
