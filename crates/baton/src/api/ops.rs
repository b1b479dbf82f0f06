//! Operator endpoints: status, events and the outbox.

use axum::extract::rejection::QueryRejection;
use axum::extract::{Path, Query, State};
use axum::{Extension, Json};
use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use super::AppState;
use super::auth::Caller;
use super::error::ApiError;
use crate::store::outbox::{Record, State as RecordState};

/// One environment in `/v1/status`.
#[derive(Debug, Serialize)]
struct EnvStatus {
    name: String,
    delivered: Option<crate::store::events::Delivered>,
}

/// `GET /v1/status`: per product and environment what was delivered, per image the last build,
/// the outbox counts and the replicas.
pub async fn status(
    State(s): State<AppState>,
    promoter: Option<axum::Extension<std::sync::Arc<crate::promote::Promoter>>>,
) -> Result<Json<Value>, ApiError> {
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
            images.push(json!({
                "name": img.name, "base": img.base, "base_seen": base_seen, "last_build": last_build,
            }));
        }
        // The last chart decision (sent, baseline, unchanged on request, rejected with file and
        // line) and the last failure of each source, so `status` answers "why nothing moved".
        let last_chart = events
            .iter()
            .find(|e| e.kind == "chart" || e.kind == "sync");
        let mut source_errors = serde_json::Map::new();
        for id in crate::jobs::run::source_ids(p) {
            if let Some(o) = store.observation(&format!("{id}#error")).await?
                && !o.value.is_empty()
            {
                source_errors.insert(id, json!({"error": o.value, "at": o.observed_at}));
            }
        }
        products.push(
            json!({"name": p.name, "environments": environments, "images": images,
            "last_chart_event": last_chart, "source_errors": source_errors}),
        );
    }
    let outbox = store.outbox_counts().await?;
    let replicas = crate::ha::status::replicas(store, s.outbox.clock().now()).await?;
    let mut answer = json!({"products": products, "outbox": outbox, "replicas": replicas});
    // Pending judgments come from Gate; when it fails, status still answers and says why.
    if let Some(axum::Extension(p)) = promoter {
        match tokio::time::timeout(std::time::Duration::from_secs(5), p.pending()).await {
            Ok(Ok(pending)) => answer["pending_judgments"] = json!(pending),
            Ok(Err(e)) => answer["pending_judgments_error"] = json!(e.to_string()),
            Err(_) => {
                answer["pending_judgments_error"] = json!("Spinnaker Gate did not answer within 5s")
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
pub async fn events(
    State(s): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
    let q = query(q)?;
    let limit = q.limit.unwrap_or(50).min(500);
    let store = s.outbox.store();
    let events = store.events(q.product.as_deref(), limit).await?;
    let ids: Vec<&str> = events.iter().map(|e| e.id.as_str()).collect();
    let verified = store.verifications_of(&ids).await?;
    let mut list = serde_json::to_value(&events).unwrap_or_default();
    // `delivery`: whether the pipelines a delivered webhook targets started (issue 16 item 3).
    for (e, v) in events.iter().zip(list.as_array_mut().into_iter().flatten()) {
        if let Some(x) = verified.iter().find(|x| x.event_id == e.id) {
            v["delivery"] = json!(x.state);
            v["delivery_missing"] = json!(x.missing);
        }
    }
    Ok(Json(json!({"events": list})))
}

/// `GET /v1/outbox[?state=&limit=]`.
pub async fn outbox_list(
    State(s): State<AppState>,
    q: Result<Query<ListQuery>, QueryRejection>,
) -> Result<Json<Value>, ApiError> {
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
    Ok(Json(json!({"records": records})))
}

/// `POST /v1/outbox/{id}/retry`: a dead record becomes due now.
pub async fn outbox_retry(
    State(s): State<AppState>,
    Path(id): Path<String>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<Value>, ApiError> {
    let record = retry_record(&s, record_id(&id)?, &caller_name(caller)).await?;
    Ok(Json(json!({"record": record})))
}

/// `DELETE /v1/outbox/{id}`: forget a pending or dead record.
pub async fn outbox_drop(
    State(s): State<AppState>,
    Path(id): Path<String>,
    caller: Option<Extension<Caller>>,
) -> Result<Json<Value>, ApiError> {
    let record = drop_record(&s, record_id(&id)?, &caller_name(caller)).await?;
    Ok(Json(json!({"dropped": record.id})))
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
