//! `baton explain PRODUCT`: for the newest change of each source of a product, whether it
//! produced a delivery and, if not, why.
//!
//! - [`verdict`]: what one event led to (baseline, unchanged, rejected, outbox retrying or
//!   dead, delivered, delivered to Echo but no execution).
//! - [`triggers`]: why Echo started nothing, from the application's pipeline configs.
//! - [`text`]: the text `baton explain` prints.

pub mod text;
pub mod triggers;
pub mod verdict;

use serde::{Deserialize, Serialize};
use spinnaker_client::Client;
use utoipa::ToSchema;

use crate::jobs::image::{artifact_id, base_id};
use crate::store::events::{Event, Observation};
use crate::store::{Store, StoreError};
use baton_core::config::model::Product;
pub use verdict::Verdict;

use crate::api::types::ExplainAnswer;

/// How many recent events and outbox records are searched.
const HISTORY: u32 = 500;

/// One source of a product and what its newest change led to.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceExplanation {
    /// `chart-source:<p>`, `base-image:<p>/<image>` or `artifact-source:<p>/<image>`.
    pub source: String,
    /// The source's last observation.
    pub observed: Option<Observation>,
    /// The newest event of this source.
    pub event: Option<Event>,
    /// The verdict.
    #[serde(flatten)]
    pub verdict: Verdict,
    /// Latest wins: older records of this source that waited and were replaced, on the way to
    /// this event's record (never sent).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub superseded: Vec<i64>,
}

/// Explains every source of `product`. `gate` (when the config has `spinnaker:`) is asked for
/// executions and pipeline configs when a webhook was accepted by Echo.
pub async fn explain(
    store: &Store,
    product: &Product,
    gate: Option<&Client>,
) -> Result<Vec<SourceExplanation>, StoreError> {
    let events = store.events(Some(&product.name), HISTORY).await?;
    let records = store.list_records(None, HISTORY).await?;
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let verifications = store.verifications_of(&ids).await?;
    let ctx = verdict::Context {
        records: &records,
        events: &events,
        gate,
        application: &product.name,
        verifications: &verifications,
    };
    let mut out = Vec::new();
    if product.chart_source.is_some() {
        let source = format!("chart-source:{}", product.name);
        let observed = store.observation(&source).await?;
        let event = events
            .iter()
            .find(|e| e.kind == "chart" || e.kind == "sync")
            .cloned();
        let verdict = match &event {
            Some(e) => ctx.of_event(e).await,
            None => Verdict::NotSeen {
                reason: "no chart decision recorded yet (the chart loop has not run)".into(),
            },
        };
        let superseded = event
            .as_ref()
            .map(|e| ctx.superseded_on_the_way(e))
            .unwrap_or_default();
        out.push(SourceExplanation {
            source,
            observed,
            event,
            verdict,
            superseded,
        });
    }
    for image in &product.images {
        // The newest rebuild of this image whose detail starts with `cause`.
        let newest_rebuild = |cause: &str| {
            events
                .iter()
                .filter(|e| e.kind == "rebuild" && e.image.as_deref() == Some(&image.name))
                .find(|e| {
                    e.correlation
                        .detail
                        .as_deref()
                        .is_some_and(|d| d.starts_with(cause))
                })
                .cloned()
        };
        if image.check.is_some() {
            let source = base_id(&product.name, &image.name);
            let observed = store.observation(&source).await?;
            let seen = observed.as_ref().map(|o| o.value.clone());
            let newest = newest_rebuild("base ");
            out.push(
                value_source(&ctx, source, observed, seen, newest, |e| {
                    e.correlation.base_digest.clone()
                })
                .await,
            );
        }
        if image.artifact_source.is_some() {
            let source = artifact_id(&product.name, &image.name);
            let observed = store.observation(&source).await?;
            let seen = observed.as_ref().and_then(|o| {
                serde_json::from_str::<serde_json::Value>(&o.value)
                    .ok()
                    .and_then(|v| v["commit"].as_str().map(str::to_owned))
            });
            let newest = newest_rebuild("artifact source ");
            out.push(
                value_source(&ctx, source, observed, seen, newest, |e| {
                    e.correlation.commit.clone()
                })
                .await,
            );
        }
    }
    Ok(out)
}

/// A base image or artifact source: `seen` is its current value (digest or commit), `newest`
/// its newest rebuild event, `value_of` the value that event was built for.
async fn value_source(
    ctx: &verdict::Context<'_>,
    source: String,
    observed: Option<Observation>,
    seen: Option<String>,
    newest: Option<Event>,
    value_of: impl Fn(&Event) -> Option<String>,
) -> SourceExplanation {
    let verdict = match (&seen, &newest) {
        (None, _) => Verdict::NotSeen {
            reason: "not checked yet (no observation recorded)".into(),
        },
        (Some(v), Some(e)) if value_of(e).as_deref() == Some(v.as_str()) => {
            ctx.of_image_chain(e).await
        }
        (Some(v), Some(e)) => Verdict::Unchanged {
            detail: format!(
                "{v} was seen without a rebuild; the last rebuild ({}) was for {}",
                e.id,
                value_of(e).unwrap_or_default()
            ),
        },
        (Some(v), None) => Verdict::Baseline {
            detail: format!(
                "{v} was recorded on first sight and never changed since; nothing built (first_seen: baseline)"
            ),
        },
    };
    SourceExplanation {
        source,
        observed,
        event: newest,
        verdict,
        superseded: Vec::new(),
    }
}

/// `GET /v1/products/{product}/explain`: [`ExplainAnswer`].
#[utoipa::path(get, path = "/v1/products/{product}/explain", tag = "operations",
    params(("product" = String, Path, description = "product name")),
    responses((status = 200, description = "Per source of the product: its newest change and \
        whether it was delivered, and if not why", body = ExplainAnswer)))]
pub async fn handler(
    axum::extract::State(s): axum::extract::State<crate::api::AppState>,
    axum::extract::Path(product): axum::extract::Path<String>,
    promoter: Option<axum::Extension<std::sync::Arc<crate::promote::Promoter>>>,
) -> Result<axum::Json<ExplainAnswer>, crate::api::error::ApiError> {
    let Some(p) = s.config.product(&product) else {
        return Err(crate::api::error::ApiError::NotFound(format!(
            "product {product:?} is not in the config"
        )));
    };
    let gate = promoter.as_ref().map(|axum::Extension(p)| p.gate());
    let sources = explain(s.outbox.store(), p, gate).await?;
    Ok(axum::Json(ExplainAnswer { product, sources }))
}
