//! Operator endpoints: status, events and the outbox.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::Deserialize;

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use super::types::{
    DropAnswer, EnvStatus, EventView, EventsAnswer, ImageStatus, OutboxAnswer, ProductStatus,
    RetryAnswer, SourceFailure, StatusAnswer,
};
use crate::store::outbox::{Record, State as RecordState};

/// `GET /v1/status`: per product and environment what was delivered, per image the last build,
/// the outbox counts and the replicas.
#[utoipa::path(get, path = "/v1/status", tag = "operations", responses((status = 200,
    description = "Delivered versions, images, outbox counts, replicas and pending judgments",
    body = StatusAnswer)))]
pub async fn status(
    State(s): State<AppState>,
    promoter: Option<axum::Extension<std::sync::Arc<crate::promote::Promoter>>>,
) -> Result<Json<StatusAnswer>, ApiError> {
    let store = s.outbox.store();
    let delivered = store.delivered().await?;
    let mut products = Vec::new();
    for p in &s.config.config.products {
        let environments: Vec<EnvStatus> = p
            .environments
            .iter()
            .map(|e| EnvStatus {
                name: e.clone(),
                delivered: delivered
                    .iter()
                    .find(|d| d.product == p.name && &d.environment == e)
                    .cloned(),
            })
            .collect();
        let events = store.events(Some(&p.name), 200).await?;
        let mut images = Vec::new();
        for img in &p.images {
            let base_seen = store
                .observation(&crate::store::events::base_image_source(&img.base))
                .await?;
            let last_build = events.iter().find(|e| {
                e.image.as_deref() == Some(img.name.as_str())
                    && (e.kind == "rebuild" || e.kind == "image")
            });
            images.push(ImageStatus {
                name: img.name.clone(),
                base: img.base.clone(),
                base_seen,
                last_build: last_build.cloned(),
            });
        }
        // The last chart decision (sent, baseline, unchanged on request, rejected with file and
        // line) and the last failure of each source, so `status` answers "why nothing moved".
        let last_chart = events
            .iter()
            .find(|e| e.kind == "chart" || e.kind == "sync");
        let mut source_errors = std::collections::BTreeMap::new();
        for id in crate::jobs::run::source_ids(p) {
            if let Some(o) = store.observation(&format!("{id}#error")).await?
                && !o.value.is_empty()
            {
                source_errors.insert(
                    id,
                    SourceFailure {
                        error: o.value,
                        at: o.observed_at,
                    },
                );
            }
        }
        products.push(ProductStatus {
            name: p.name.clone(),
            environments,
            images,
            last_chart_event: last_chart.cloned(),
            source_errors,
        });
    }
    let outbox = store.outbox_counts().await?;
    let replicas = crate::ha::status::replicas(store, s.outbox.clock().now()).await?;
    let mut answer = StatusAnswer {
        products,
        outbox,
        replicas,
        pending_judgments: None,
        pending_judgments_error: None,
    };
    // Pending judgments come from Gate; when it fails, status still answers and says why.
    if let Some(axum::Extension(p)) = promoter {
        match tokio::time::timeout(std::time::Duration::from_secs(5), p.pending()).await {
            Ok(Ok(pending)) => answer.pending_judgments = Some(pending),
            Ok(Err(e)) => answer.pending_judgments_error = Some(baton_http::chain(&e)),
            Err(_) => {
                answer.pending_judgments_error =
                    Some("Spinnaker Gate did not answer within 5s".into())
            }
        }
    }
    Ok(Json(answer))
}

/// Query of `GET /v1/events` and `GET /v1/outbox`.
#[derive(Debug, Deserialize)]
pub struct ListQuery {
    /// Only this product (events).
    pub product: Option<String>,
    /// Only this state (outbox): pending, delivered, dead, superseded.
    pub state: Option<String>,
    /// At most this many (default 50, max 500).
    pub limit: Option<u32>,
}

/// `GET /v1/events[?product=&limit=]`.
#[utoipa::path(get, path = "/v1/events", tag = "operations",
    params(("product" = Option<String>, Query, description = "only this product"),
           ("limit" = Option<u32>, Query, maximum = 500, description = "at most this many (default 50)")),
    responses((status = 200, description = "Events with correlation ids, newest first", body = EventsAnswer)))]
pub async fn events(
    State(s): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<EventsAnswer>, ApiError> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(50).min(500);
    let store = s.outbox.store();
    let events = store.events(q.product.as_deref(), limit).await?;
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let verified = store.verifications_of(&ids).await?;
    // `delivery`: whether the pipelines a delivered webhook targets started (issue 16 item 3).
    let events = events
        .into_iter()
        .map(|event| {
            let x = verified.iter().find(|x| x.event_id == event.id);
            EventView {
                delivery: x.map(|x| x.state.clone()),
                delivery_missing: x.and_then(|x| x.missing.clone()),
                event,
            }
        })
        .collect();
    Ok(Json(EventsAnswer { events }))
}

/// `GET /v1/outbox[?state=&limit=]`.
#[utoipa::path(get, path = "/v1/outbox", tag = "operations",
    params(("state" = Option<RecordState>, Query, description = "only records in this state"),
           ("limit" = Option<u32>, Query, maximum = 500, description = "at most this many (default 50)")),
    responses((status = 200, description = "Outbox records, newest first", body = OutboxAnswer)))]
pub async fn outbox_list(
    State(s): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<OutboxAnswer>, ApiError> {
    let q = query(q)?;
    let state = match q.state.as_deref() {
        None => None,
        Some("pending") => Some(RecordState::Pending),
        Some("delivered") => Some(RecordState::Delivered),
        Some("dead") => Some(RecordState::Dead),
        Some("superseded") => Some(RecordState::Superseded),
        Some(other) => {
            return Err(ApiError::BadRequest(format!(
                "state: {other:?} is not pending, delivered, dead or superseded"
            )));
        }
    };
    let records = s
        .outbox
        .store()
        .list_records(state, q.limit.unwrap_or(50).min(500))
        .await?;
    Ok(Json(OutboxAnswer { records }))
}

/// `POST /v1/outbox/{id}/retry`: a dead record becomes due now.
#[utoipa::path(post, path = "/v1/outbox/{id}/retry", tag = "operations",
    params(("id" = i64, Path, description = "outbox record id")),
    responses((status = 200, description = "Made a dead record due now", body = RetryAnswer)))]
pub async fn outbox_retry(
    State(s): State<AppState>,
    Path(id): Path<String>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<RetryAnswer>, ApiError> {
    let record = retry_record(&s, record_id(&id)?, &caller_name(caller)).await?;
    Ok(Json(RetryAnswer { record }))
}

/// `DELETE /v1/outbox/{id}`: forget a pending or dead record.
#[utoipa::path(delete, path = "/v1/outbox/{id}", tag = "operations",
    params(("id" = i64, Path, description = "outbox record id")),
    responses((status = 200, description = "Forgot a pending or dead record", body = DropAnswer)))]
pub async fn outbox_drop(
    State(s): State<AppState>,
    Path(id): Path<String>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<DropAnswer>, ApiError> {
    let record = drop_record(&s, record_id(&id)?, &caller_name(caller)).await?;
    Ok(Json(DropAnswer { dropped: record.id }))
}

/// Makes outbox record `id` due now with a fresh attempt budget and wakes the worker; logs
/// who asked. The API's retry and the dashboard's Retry button both come here.
pub async fn retry_record(s: &AppState, id: i64, by: &str) -> Result<Record, ApiError> {
    let record = s
        .outbox
        .store()
        .retry_record(id, s.outbox.clock().now())
        .await?;
    s.outbox.wake();
    tracing::info!(record = id, by, "outbox record retried");
    Ok(record)
}

/// Forgets pending or dead outbox record `id`; logs who asked. The API's drop and the
/// dashboard's Drop button both come here.
pub async fn drop_record(s: &AppState, id: i64, by: &str) -> Result<Record, ApiError> {
    let record = s
        .outbox
        .store()
        .drop_record(id, s.outbox.clock().now())
        .await?;
    tracing::info!(record = id, by, "outbox record dropped");
    Ok(record)
}

/// The caller's identity as promotion records it ("unknown" without one).
pub fn caller_name(caller: Option<Extension<Caller>>) -> String {
    caller.map_or_else(|| "unknown".to_owned(), |Extension(c)| c.0)
}

fn query(q: Result<Query<ListQuery>, QueryRejection>) -> Result<ListQuery, ApiError> {
    q.map(|Query(q)| q)
        .map_err(|e| ApiError::BadRequest(format!("query: {}", e.body_text())))
}

fn record_id(id: &str) -> Result<i64, ApiError> {
    id.parse()
        .map_err(|_| ApiError::NotFound(format!("no outbox record {id:?}; ids are numbers")))
}

/// `GET /metrics`: Prometheus/OpenMetrics text.
#[utoipa::path(get, path = "/metrics", tag = "health", responses((status = 200,
    description = "Prometheus metrics", body = String,
    content_type = "application/openmetrics-text; version=1.0.0; charset=utf-8")))]
pub async fn metrics(
    State(s): State<AppState>,
) -> Result<impl axum::response::IntoResponse, ApiError> {
    let text = s
        .metrics
        .render(s.outbox.store(), s.outbox.clock().now())
        .await
        .map_err(ApiError::Internal)?;
    Ok((
        [(
            axum::http::header::CONTENT_TYPE,
            "application/openmetrics-text; version=1.0.0; charset=utf-8",
        )],
        text,
    ))
}
