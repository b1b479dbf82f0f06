//! `POST /hooks/{provider}`: limit, verify, dedupe, parse, match, trigger, in that order.

use axum::Json;
use axum::extract::rejection::BytesRejection;
use axum::extract::{Path, State};
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use http::{HeaderMap, StatusCode};
use serde::{Deserialize, Serialize};
use sha2::{Digest, Sha256};
use utoipa::ToSchema;

use super::counters::Outcome;
use super::dedupe::Delivery;
use super::error::HookError;
use super::payload::{self, HookEvent, PushEvent};
use super::provider::Provider;
use super::verify::Unverified;
use super::{CheckRequest, HooksState};

/// What a webhook delivery led to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum HookStatus {
    /// A signed ping answered (200).
    Pong,
    /// A delivery already seen; nothing done (200).
    Duplicate,
    /// Checks of the watching sources were requested (202).
    Triggered,
    /// Nothing to check: unwatched repository or branch, a tag, another event (202).
    Ignored,
}

/// The answer to an accepted webhook delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct HookReply {
    /// What it led to.
    pub status: HookStatus,
    /// The delivery id (the host's, or `sha256:<body digest>`); absent on a ping.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    /// The sources asked to check (`triggered`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub sources: Option<Vec<String>>,
    /// Why nothing was checked (`ignored`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
}

impl HookReply {
    fn new(status: HookStatus, delivery: Option<&str>) -> Self {
        Self {
            status,
            delivery: delivery.map(str::to_owned),
            sources: None,
            reason: None,
        }
    }
}

/// The handler behind [`super::router`].
#[utoipa::path(post, path = "/hooks/{provider}", tag = "webhooks",
    description = "Signed git push webhook (mounted when git.webhook_secret_file is set). \
        Authenticated by the provider's signature, not a bearer token: GitHub \
        X-Hub-Signature-256, Gitea X-Gitea-Signature, GitLab X-Gitlab-Token, Bitbucket \
        X-Hub-Signature. A push to a watched repository and branch checks that source at once.",
    params(("provider" = inline(Provider), Path, description = "the git host")),
    request_body(content = Object, description = "the provider's push (or ping) payload"),
    responses(
        (status = 200, description = "ping answered, or a delivery already seen (duplicate)", body = HookReply),
        (status = 202, description = "triggered a check, or ignored (unwatched repo or branch, tag, other event) with the reason", body = HookReply),
        (status = 400, description = "the payload does not fit the provider's push shape", body = crate::api::types::ErrorBody),
        (status = 401, description = "signature missing, empty, invalid or of the wrong algorithm", body = crate::api::types::ErrorBody),
        (status = 404, description = "unknown provider", body = crate::api::types::ErrorBody),
        (status = 413, description = "body over the limit", body = crate::api::types::ErrorBody),
        (status = 503, description = "the check queue is full or closed", body = crate::api::types::ErrorBody)))]
pub(super) async fn receive(
    State(state): State<HooksState>,
    Path(provider): Path<String>,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Response {
    let provider: Provider = match provider.parse() {
        Ok(p) => p,
        Err(e) => return e.into_response(),
    };
    let (outcome, response) = match handle(&state, provider, headers, body).await {
        Ok(done) => done,
        Err(e) => (outcome_of(&e), e.into_response()),
    };
    state.counters.record(provider, outcome);
    response
}

fn outcome_of(e: &HookError) -> Outcome {
    match e {
        HookError::Unauthorized(_) => Outcome::Unauthorized,
        HookError::TooLarge { .. } => Outcome::TooLarge,
        HookError::TriggerUnavailable(_)
        | HookError::DedupeUnavailable(_)
        | HookError::EmptySecret => Outcome::Unavailable,
        _ => Outcome::BadRequest,
    }
}

async fn handle(
    state: &HooksState,
    provider: Provider,
    headers: HeaderMap,
    body: Result<Bytes, BytesRejection>,
) -> Result<(Outcome, Response), HookError> {
    let body = body.map_err(|rejection| {
        if rejection.status() == StatusCode::PAYLOAD_TOO_LARGE {
            HookError::TooLarge {
                limit: state.body_limit,
            }
        } else {
            HookError::Body(axum::Error::new(rejection))
        }
    })?;
    let verified = Unverified::new(provider, headers, body)
        .verify(&state.secret)
        .inspect_err(|r| tracing::warn!(%provider, reason = %r, "webhook rejected"))?;

    // A host that sends no delivery id redelivers the same bytes; their digest stands in.
    let body_sha256 = hex::encode(Sha256::digest(verified.body()));
    let delivery_id = provider
        .delivery_id(verified.headers())
        .unwrap_or_else(|| format!("sha256:{body_sha256}"));
    let delivery = Delivery {
        provider,
        id: &delivery_id,
        body_sha256: &body_sha256,
    };
    let peek = payload::parse(&verified, &delivery_id);
    if matches!(peek, Ok(HookEvent::Ping)) {
        tracing::info!(%provider, delivery = %delivery_id, "webhook ping");
        return Ok((
            Outcome::Ping,
            reply(StatusCode::OK, HookReply::new(HookStatus::Pong, None)),
        ));
    }
    let first = state.seen.first_sighting(delivery).await.map_err(|e| {
        tracing::error!(%provider, delivery = %delivery_id, error = %e, "delivery log failed");
        HookError::DedupeUnavailable(e)
    })?;
    if !first {
        tracing::info!(%provider, delivery = %delivery_id, "webhook redelivered; ignored");
        let body = HookReply::new(HookStatus::Duplicate, Some(&delivery_id));
        return Ok((Outcome::Duplicate, reply(StatusCode::OK, body)));
    }
    let result = act(state, provider, &delivery_id, peek).await;
    if result.is_err() {
        // Nothing was done for this delivery: let a redelivery try again.
        if let Err(e) = state.seen.forget(delivery).await {
            tracing::warn!(%provider, delivery = %delivery_id, error = %e, "could not forget a failed delivery; its redelivery will be taken for a duplicate");
        }
    }
    result
}

async fn act(
    state: &HooksState,
    provider: Provider,
    delivery_id: &str,
    event: Result<HookEvent, HookError>,
) -> Result<(Outcome, Response), HookError> {
    let pushes = match event? {
        HookEvent::Push(pushes) => pushes,
        HookEvent::Other(kind) => {
            let reason = format!("event {kind:?} is not a push");
            return Ok(ignored(provider, delivery_id, &reason));
        }
        HookEvent::Ping => unreachable!("pings are answered before"),
    };
    let table = state.watch.current();
    let mut triggered: Vec<String> = Vec::new();
    let mut reasons: Vec<String> = Vec::new();
    for push in &pushes {
        let sources = match why_not(push) {
            Some(reason) => {
                reasons.push(reason);
                continue;
            }
            None => table.matching(&push.repo_urls, push.branch.as_deref().unwrap_or_default()),
        };
        if sources.is_empty() {
            reasons.push(if table.watches_repo(&push.repo_urls) {
                format!("branch {} of this repository is not watched", push.git_ref)
            } else {
                "repository is not watched".to_owned()
            });
        }
        for source in sources {
            let request = CheckRequest {
                source: source.clone(),
                provider,
                delivery_id: delivery_id.to_owned(),
                git_ref: push.git_ref.clone(),
                after: push.after.clone(),
                before: push.before.clone(),
                changed: push.changed.clone(),
            };
            match tokio::time::timeout(state.send_timeout, state.checks.send(request)).await {
                Ok(Ok(())) => triggered.push(source.0),
                Ok(Err(_)) => {
                    return Err(HookError::TriggerUnavailable("the daemon is shutting down"));
                }
                Err(_) => return Err(HookError::TriggerUnavailable("the check queue is full")),
            }
        }
    }
    if triggered.is_empty() {
        let reason = if reasons.is_empty() {
            "the push names no refs".to_owned()
        } else {
            reasons.join("; ")
        };
        return Ok(ignored(provider, delivery_id, &reason));
    }
    tracing::info!(%provider, delivery = %delivery_id, sources = ?triggered, "push webhook: checks requested");
    let body = HookReply {
        sources: Some(triggered),
        ..HookReply::new(HookStatus::Triggered, Some(delivery_id))
    };
    Ok((Outcome::Triggered, reply(StatusCode::ACCEPTED, body)))
}

/// Why a push needs no check even before looking at the table.
fn why_not(push: &PushEvent) -> Option<String> {
    if push.branch.is_none() {
        return Some(format!("{} is not a branch", push.git_ref));
    }
    if push.deleted {
        // The poll notices deleted branches; a check now would only fail.
        return Some(format!("{} was deleted", push.git_ref));
    }
    None
}

fn ignored(provider: Provider, delivery_id: &str, reason: &str) -> (Outcome, Response) {
    tracing::debug!(%provider, delivery = %delivery_id, reason, "webhook ignored");
    let body = HookReply {
        reason: Some(reason.to_owned()),
        ..HookReply::new(HookStatus::Ignored, Some(delivery_id))
    };
    (Outcome::Ignored, reply(StatusCode::ACCEPTED, body))
}

fn reply(status: StatusCode, body: HookReply) -> Response {
    (status, Json(body)).into_response()
}
