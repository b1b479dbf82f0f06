//! Observations, delivered digests and events with their correlation ids
//! (commit / base digest -> Jenkins queue id -> build -> Spinnaker event id -> execution).

use std::collections::HashSet;

use serde::{Deserialize, Serialize};
use sqlx::FromRow;
use sqlx::any::AnyRow;
use time::OffsetDateTime;
use utoipa::ToSchema;

use super::rows::{DeliveredRow, EventRow, ObservationRow};
use super::{Store, StoreError, millis};

/// The last thing a source saw (a digest, a commit, a chart version).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Observation {
    /// Source id, e.g. `registry:docker.wso2.com/wso2micro-gw:3.0.1`.
    pub source: String,
    /// What it saw.
    pub value: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub observed_at: OffsetDateTime,
}

/// What was last delivered to one environment of a product.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Delivered {
    /// Product name.
    pub product: String,
    /// Environment name.
    pub environment: String,
    /// Chart version.
    pub chart_version: String,
    /// Digest of the chart .tgz.
    pub chart_digest: String,
    /// sha256 of the environment's values file.
    pub values_digest: String,
    /// The event that delivered it.
    pub event_id: Option<String>,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub delivered_at: OffsetDateTime,
}

/// An event: something baton decided to do, with the ids it collected on the way.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Event {
    /// Id, also sent as `batonEvent` / `BATON_EVENT`.
    pub id: String,
    /// Product name.
    pub product: String,
    /// `sync`, `rebuild`, `image`, `chart`.
    pub kind: String,
    /// Image name, for image events.
    pub image: Option<String>,
    /// When it was recorded.
    #[serde(with = "time::serde::rfc3339")]
    pub created_at: OffsetDateTime,
    /// Correlation ids gathered so far.
    #[serde(flatten)]
    pub correlation: Correlation,
}

/// Correlation ids of an event; `None` fields are left unchanged by an update.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, ToSchema, sqlx::FromRow)]
pub struct Correlation {
    /// Git commit that caused it.
    #[sqlx(rename = "commit_sha")]
    pub commit: Option<String>,
    /// Base image digest that caused it.
    pub base_digest: Option<String>,
    /// Digest of the built image.
    pub image_digest: Option<String>,
    /// Jenkins queue item id.
    pub jenkins_queue_id: Option<i64>,
    /// Jenkins build number.
    pub build_number: Option<i64>,
    /// Jenkins build result.
    pub build_result: Option<String>,
    /// Jenkins build URL.
    pub build_url: Option<String>,
    /// Echo's event id for the webhook.
    pub spinnaker_event_id: Option<String>,
    /// Spinnaker pipeline execution id.
    pub execution_id: Option<String>,
    /// Spinnaker execution status.
    pub execution_status: Option<String>,
    /// Free text: why, or what happened.
    pub detail: Option<String>,
}

/// The observation source id of a base image tag (`registry:host/repo:tag`).
pub fn base_image_source(base: &str) -> String {
    format!("registry:{base}")
}

/// A new, sortable event id: `ev-` + milliseconds + random.
pub fn new_event_id(now: OffsetDateTime) -> String {
    format!("ev-{:012x}{:08x}", millis(now), rand::random::<u32>())
}

/// Appends `$1` to the detail of event `$2` (`; `-separated).
pub(super) const NOTE_EVENT: &str = "UPDATE events SET detail = CASE WHEN detail IS NULL OR \
    detail = '' THEN $1 ELSE detail || '; ' || $1 END WHERE id = $2";

const EVENT_COLUMNS: &str = "id, product, kind, image, created_at, commit_sha, base_digest, \
    image_digest, jenkins_queue_id, build_number, build_result, build_url, spinnaker_event_id, \
    execution_id, execution_status, detail";

fn decode_event(row: &AnyRow) -> Result<Event, StoreError> {
    Ok(EventRow::from_row(row)?.into())
}

impl Store {
    /// The last observation of `source`.
    pub async fn observation(&self, source: &str) -> Result<Option<Observation>, StoreError> {
        let row =
            sqlx::query("SELECT source, value, observed_at FROM observations WHERE source = $1")
                .bind(source)
                .fetch_optional(self.pool())
                .await?;
        row.map(|r| Ok(ObservationRow::from_row(&r)?.into()))
            .transpose()
    }

    /// The sources whose last check failed: an `<source>#error` observation with a message
    /// (a source that recovered has an empty one). Read once at start, so that a loop whose
    /// source has no recorded error writes nothing when its first check succeeds.
    pub async fn failing_sources(&self) -> Result<HashSet<String>, StoreError> {
        let rows: Vec<String> = sqlx::query_scalar(
            "SELECT source FROM observations WHERE source LIKE '%#error' AND value <> ''",
        )
        .fetch_all(self.pool())
        .await?;
        Ok(rows
            .into_iter()
            .filter_map(|s| s.strip_suffix("#error").map(str::to_owned))
            .collect())
    }

    /// Records a delivery to one environment, replacing the previous one.
    pub async fn record_delivered(&self, d: &Delivered) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO deliveries (product, environment, chart_version, chart_digest, \
             values_digest, event_id, delivered_at) VALUES ($1, $2, $3, $4, $5, $6, $7) \
             ON CONFLICT (product, environment) DO UPDATE SET chart_version = excluded.chart_version, \
             chart_digest = excluded.chart_digest, values_digest = excluded.values_digest, \
             event_id = excluded.event_id, delivered_at = excluded.delivered_at",
        )
        .bind(&d.product)
        .bind(&d.environment)
        .bind(&d.chart_version)
        .bind(&d.chart_digest)
        .bind(&d.values_digest)
        .bind(&d.event_id)
        .bind(millis(d.delivered_at))
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Every recorded delivery, by product then environment.
    pub async fn delivered(&self) -> Result<Vec<Delivered>, StoreError> {
        let rows = sqlx::query(
            "SELECT product, environment, chart_version, chart_digest, values_digest, event_id, \
             delivered_at FROM deliveries ORDER BY product, environment",
        )
        .fetch_all(self.pool())
        .await?;
        rows.iter()
            .map(|r| Ok(DeliveredRow::from_row(r)?.into()))
            .collect()
    }

    /// Records a new event.
    pub async fn insert_event(&self, e: &Event) -> Result<(), StoreError> {
        sqlx::query(
            "INSERT INTO events (id, product, kind, image, created_at, commit_sha, base_digest, \
             image_digest, jenkins_queue_id, build_number, build_result, build_url, \
             spinnaker_event_id, execution_id, execution_status, detail) \
             VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, $15, $16)",
        )
        .bind(&e.id)
        .bind(&e.product)
        .bind(&e.kind)
        .bind(&e.image)
        .bind(millis(e.created_at))
        .bind(&e.correlation.commit)
        .bind(&e.correlation.base_digest)
        .bind(&e.correlation.image_digest)
        .bind(e.correlation.jenkins_queue_id)
        .bind(e.correlation.build_number)
        .bind(&e.correlation.build_result)
        .bind(&e.correlation.build_url)
        .bind(&e.correlation.spinnaker_event_id)
        .bind(&e.correlation.execution_id)
        .bind(&e.correlation.execution_status)
        .bind(&e.correlation.detail)
        .execute(self.pool())
        .await?;
        Ok(())
    }

    /// Fills in correlation ids of event `id`; fields that are `None` keep their value.
    /// Appends `note` to the event's detail (`; `-separated), keeping what was there.
    pub async fn note_event(&self, id: &str, note: &str) -> Result<(), StoreError> {
        sqlx::query(NOTE_EVENT)
            .bind(note)
            .bind(id)
            .execute(self.pool())
            .await?;
        Ok(())
    }

    /// Fills the event's correlation fields that `c` has (each `Some` overwrites).
    pub async fn correlate(&self, id: &str, c: &Correlation) -> Result<(), StoreError> {
        let n = sqlx::query(
            "UPDATE events SET commit_sha = COALESCE($1, commit_sha), \
             base_digest = COALESCE($2, base_digest), image_digest = COALESCE($3, image_digest), \
             jenkins_queue_id = COALESCE($4, jenkins_queue_id), \
             build_number = COALESCE($5, build_number), build_result = COALESCE($6, build_result), \
             build_url = COALESCE($7, build_url), \
             spinnaker_event_id = COALESCE($8, spinnaker_event_id), \
             execution_id = COALESCE($9, execution_id), \
             execution_status = COALESCE($10, execution_status), detail = COALESCE($11, detail) \
             WHERE id = $12",
        )
        .bind(&c.commit)
        .bind(&c.base_digest)
        .bind(&c.image_digest)
        .bind(c.jenkins_queue_id)
        .bind(c.build_number)
        .bind(&c.build_result)
        .bind(&c.build_url)
        .bind(&c.spinnaker_event_id)
        .bind(&c.execution_id)
        .bind(&c.execution_status)
        .bind(&c.detail)
        .bind(id)
        .execute(self.pool())
        .await?
        .rows_affected();
        if n == 0 {
            return Err(StoreError::NotFound {
                what: "event",
                id: id.to_owned(),
            });
        }
        Ok(())
    }

    /// Event `id`.
    pub async fn event(&self, id: &str) -> Result<Option<Event>, StoreError> {
        let sql = format!("SELECT {EVENT_COLUMNS} FROM events WHERE id = $1");
        let row = sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(id)
            .fetch_optional(self.pool())
            .await?;
        row.as_ref().map(decode_event).transpose()
    }

    /// Events newest first, of one product or all.
    pub async fn events(
        &self,
        product: Option<&str>,
        limit: u32,
    ) -> Result<Vec<Event>, StoreError> {
        let sql = format!(
            "SELECT {EVENT_COLUMNS} FROM events WHERE ($1 = '' OR product = $1) \
             ORDER BY created_at DESC, id DESC LIMIT $2"
        );
        sqlx::query(sqlx::AssertSqlSafe(sql))
            .bind(product.unwrap_or(""))
            .bind(i64::from(limit))
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(decode_event)
            .collect()
    }
}
