//! The API handlers.

use std::time::Duration;

use axum::Json;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use tokio::sync::mpsc::error::TrySendError;

use super::AppState;
use super::body::JsonBody;
use super::error::ApiError;
use super::types::{Accepted, BuiltAccepted, BuiltRequest, ErrorBody, Health, SyncRequest};
use crate::jobs::Job;
use crate::outbox::Effect;
use crate::store::events::{Correlation, Event, new_event_id};
use baton_core::config::model::{Image, Product};
use baton_core::reference::ImageRef;
use baton_core::wire;

/// `GET /healthz`: the process answers.
#[utoipa::path(get, path = "/healthz", tag = "health",
    responses((status = 200, description = "the process answers", body = Health)))]
pub async fn healthz() -> Json<Health> {
    Json(Health {
        status: "ok".into(),
    })
}

/// `GET /readyz`: the state store answers within 2s.
#[utoipa::path(get, path = "/readyz", tag = "health", responses(
    (status = 200, description = "the state store answers", body = Health),
    (status = 503, description = "the state store is unreachable or slow", body = ErrorBody)))]
pub async fn readyz(State(s): State<AppState>) -> Result<Json<Health>, ApiError> {
    match tokio::time::timeout(Duration::from_secs(2), s.outbox.store().ping()).await {
        Ok(Ok(())) => Ok(Json(Health {
            status: "ready".into(),
        })),
        Ok(Err(e)) => {
            tracing::warn!(error = %e, "readiness: state store unreachable");
            Err(ApiError::Unavailable(
                "the state store is unreachable".into(),
            ))
        }
        Err(_) => Err(ApiError::Unavailable(
            "the state store did not answer within 2s".into(),
        )),
    }
}

/// A known path with another method.
pub async fn method_not_allowed() -> ApiError {
    ApiError::MethodNotAllowed(
        "this endpoint does not take that method; the API is described at /openapi.json".into(),
    )
}

/// Any other path.
pub async fn not_found() -> ApiError {
    ApiError::NotFound("no such endpoint; the API is described at /openapi.json".into())
}

fn product<'a>(s: &'a AppState, name: &str) -> Result<&'a Product, ApiError> {
    s.config
        .product(name)
        .ok_or_else(|| ApiError::NotFound(format!("no product {name:?} in the config")))
}

fn image<'a>(p: &'a Product, name: &str) -> Result<&'a Image, ApiError> {
    p.images
        .iter()
        .find(|i| i.name == name)
        .ok_or_else(|| ApiError::NotFound(format!("product {:?} has no image {name:?}", p.name)))
}

fn send(s: &AppState, job: Job) -> Result<(), ApiError> {
    s.jobs.try_send(job).map_err(|e| match e {
        TrySendError::Full(_) => {
            ApiError::Unavailable("too many queued requests; retry shortly".into())
        }
        TrySendError::Closed(_) => ApiError::Unavailable("the daemon is shutting down".into()),
    })
}

async fn record_event(
    s: &AppState,
    product: &str,
    kind: &str,
    image: Option<&str>,
    correlation: Correlation,
) -> Result<String, ApiError> {
    let now = s.outbox.clock().now();
    let event = Event {
        id: new_event_id(now),
        product: product.into(),
        kind: kind.into(),
        image: image.map(str::to_owned),
        created_at: now,
        correlation,
    };
    s.outbox.store().insert_event(&event).await?;
    s.metrics.event(product, kind);
    Ok(event.id)
}

/// How long `sync` with a commit waits for the commit to be checked before answering 202.
const SYNC_COMMIT_WAIT: std::time::Duration = std::time::Duration::from_secs(20);

/// `POST /v1/products/{product}/sync` -> 202 [`Accepted`]; 422 when the named commit is not
/// on the chart source's branch.
#[utoipa::path(post, path = "/v1/products/{product}/sync", tag = "delivery",
    params(("product" = String, Path, description = "product name")),
    request_body(content = Option<SyncRequest>, description = "optional; empty is all defaults"),
    responses((status = 202, description = "the sync is queued", body = Accepted)))]
pub async fn sync(
    State(s): State<AppState>,
    Path(name): Path<String>,
    JsonBody(req): JsonBody<SyncRequest>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let p = product(&s, &name)?;
    if p.chart.is_none() {
        return Err(ApiError::Conflict(format!(
            "product {name:?} has no chart: to sync"
        )));
    }
    if let Some(c) = &req.commit
        && (c.len() < 7 || c.len() > 64 || !c.chars().all(|ch| ch.is_ascii_hexdigit()))
    {
        return Err(ApiError::Unprocessable(format!(
            "commit: {c:?} is not a git commit id (7-64 hex digits)"
        )));
    }
    let correlation = Correlation {
        commit: req.commit.clone(),
        ..Default::default()
    };
    let event_id = record_event(&s, &name, "sync", None, correlation).await?;
    let (verdict, answer) = crate::jobs::chart::Verdict::channel();
    let pinned = req.commit.is_some();
    send(
        &s,
        Job::Sync {
            product: name,
            commit: req.commit,
            force: req.force,
            event_id: event_id.clone(),
            verdict,
        },
    )?;
    // A named commit must be on the watched branch: wait for the chart loop to check it
    // (one fetch), so that a wrong commit is a 422 here rather than a failed event later.
    if pinned {
        match tokio::time::timeout(SYNC_COMMIT_WAIT, answer).await {
            Ok(Ok(Err(why))) => return Err(ApiError::Unprocessable(format!("commit: {why}"))),
            Ok(Err(_)) => {
                return Err(ApiError::Unavailable(format!(
                    "the sync was not run (event {event_id} says why); retry shortly"
                )));
            }
            // Checked, or still checking: the event follows the rest.
            Ok(Ok(Ok(()))) | Err(_) => {}
        }
    }
    Ok((StatusCode::ACCEPTED, Json(Accepted { event_id })))
}

/// `POST /v1/products/{product}/images/{image}/rebuild` -> 202 [`Accepted`].
#[utoipa::path(post, path = "/v1/products/{product}/images/{image}/rebuild", tag = "delivery",
    params(("product" = String, Path, description = "product name"),
           ("image" = String, Path, description = "image name in the product")),
    responses((status = 202, description = "the Jenkins build is queued", body = Accepted)))]
pub async fn rebuild(
    State(s): State<AppState>,
    Path((name, image_name)): Path<(String, String)>,
) -> Result<(StatusCode, Json<Accepted>), ApiError> {
    let p = product(&s, &name)?;
    image(p, &image_name)?;
    let correlation = Correlation {
        detail: Some("manual rebuild".into()),
        ..Default::default()
    };
    let event_id = record_event(&s, &name, "rebuild", Some(&image_name), correlation).await?;
    send(
        &s,
        Job::Rebuild {
            product: name,
            image: image_name,
            event_id: event_id.clone(),
        },
    )?;
    Ok((StatusCode::ACCEPTED, Json(Accepted { event_id })))
}

/// `POST /v1/products/{product}/images/{image}/built` -> 202 [`BuiltAccepted`].
///
/// Enqueues the image event for Spinnaker; the same digest reported again is not sent twice.
#[utoipa::path(post, path = "/v1/products/{product}/images/{image}/built", tag = "delivery",
    params(("product" = String, Path, description = "product name"),
           ("image" = String, Path, description = "image name in the product")),
    request_body = BuiltRequest,
    responses((status = 202, description = "Jenkins reports the pushed image by digest; baton \
        sends the image event to Spinnaker once per digest", body = BuiltAccepted)))]
pub async fn built(
    State(s): State<AppState>,
    Path((name, image_name)): Path<(String, String)>,
    JsonBody(req): JsonBody<BuiltRequest>,
) -> Result<(StatusCode, Json<BuiltAccepted>), ApiError> {
    let p = product(&s, &name)?;
    let img = image(p, &image_name)?;
    let spinnaker = s.config.config.spinnaker.as_ref().ok_or_else(|| {
        ApiError::Conflict("the config has no spinnaker: section to send image events to".into())
    })?;
    if req.reference.is_empty() {
        return Err(ApiError::Unprocessable(
            "reference: is required, as host/repo@sha256:<64 hex>".into(),
        ));
    }
    let r = ImageRef::parse(&req.reference)
        .map_err(|e| ApiError::Unprocessable(format!("reference: {e}")))?;
    let Some(digest) = r.digest.as_deref() else {
        return Err(ApiError::Unprocessable(format!(
            "reference: {:?} has no digest; send host/repo@sha256:<64 hex>",
            req.reference
        )));
    };
    if r.name() != img.target {
        return Err(ApiError::Unprocessable(format!(
            "reference: {:?} is not in {:?}, the target of image {image_name:?}",
            req.reference, img.target
        )));
    }
    let tag = req.tag.clone().or(r.tag.clone());
    let key = crate::outbox::keys::image(&name, &image_name, digest);
    if let Some(existing) = s.outbox.store().record_by_key(&key).await? {
        return Ok((
            StatusCode::ACCEPTED,
            Json(BuiltAccepted {
                event_id: existing.event_id,
                outbox_id: existing.id,
                duplicate: true,
            }),
        ));
    }
    let correlation = Correlation {
        image_digest: Some(digest.to_owned()),
        build_url: req.build_url.clone(),
        // No build_result: the job reports /built before it finishes; the result comes from
        // the build follower, which stops following an event once it has one.
        ..Default::default()
    };
    let event_id =
        match &req.event_id {
            Some(id) => {
                let e =
                    s.outbox.store().event(id).await?.ok_or_else(|| {
                        ApiError::Unprocessable(format!("event_id: no event {id:?}"))
                    })?;
                if e.product != name || e.image.as_deref().is_some_and(|i| i != image_name) {
                    return Err(ApiError::Unprocessable(format!(
                        "event_id: event {id:?} belongs to {}/{}, not {name}/{image_name}",
                        e.product,
                        e.image.as_deref().unwrap_or("-")
                    )));
                }
                s.outbox.store().correlate(id, &correlation).await?;
                id.clone()
            }
            None => record_event(&s, &name, "image", Some(&image_name), correlation).await?,
        };
    let body = wire::image_event(&wire::ImageEvent {
        product: &name,
        image: &image_name,
        repository: &img.target,
        digest,
        tag: tag.as_deref(),
        event_id: &event_id,
    });
    let effect = Effect::SpinnakerWebhook {
        source: spinnaker.image_webhook_source.clone(),
        body,
    };
    // Latest wins per tag: a newer digest of the same tag replaces an older one still waiting;
    // digests reported without a tag are each delivered.
    let latest = tag.as_ref().map(|t| crate::store::outbox::Supersede {
        group: format!("image:{name}:{image_name}:{t}"),
        scope: Vec::new(),
    });
    let (record, created) = s
        .outbox
        .enqueue_latest(&effect, &name, &key, Some(&event_id), latest)
        .await?;
    Ok((
        StatusCode::ACCEPTED,
        Json(BuiltAccepted {
            event_id: record.event_id,
            outbox_id: record.id,
            duplicate: !created,
        }),
    ))
}
