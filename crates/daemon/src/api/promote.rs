//! `POST /v1/products/{product}/environments/{env}/promote`: give the manual judgment the
//! environment's pipeline waits in (see [`crate::promote`]); `GET
//! /v1/products/{product}/environments`: the environment matrix ([`crate::promote::matrix`]).

use std::sync::Arc;

use super::AppState;
use super::auth::Caller;
use super::body::JsonBody;
use super::error::ApiError;
use super::types::{Judgment, PromoteAnswer, PromoteBody};
use crate::promote::matrix::{self, Matrix};
use crate::promote::{PromoteError, PromoteRequest, Promoted, Promoter};
use axum::extract::{Path, State};
use axum::{Extension, Json};
use baton_core::config::api::Right;

impl From<PromoteError> for ApiError {
    fn from(e: PromoteError) -> Self {
        match e {
            PromoteError::UnknownProduct(_)
            | PromoteError::UnknownEnvironment { .. }
            | PromoteError::NoWaitingJudgment { .. } => ApiError::NotFound(e.to_string()),
            PromoteError::EarlierNotSucceeded { .. } => ApiError::Conflict(e.to_string()),
            PromoteError::Gate(g) => {
                let text = baton_http::chain(&g);
                tracing::warn!(error = %text, "Gate call for promotion failed");
                ApiError::Unavailable(format!("Spinnaker Gate: {text}"))
            }
            PromoteError::Store(s) => s.into(),
        }
    }
}

/// The handler: 200 [`PromoteAnswer`].
#[utoipa::path(post, path = "/v1/products/{product}/environments/{env}/promote", tag = "promotion",
    params(("product" = String, Path, description = "product name"),
           ("env" = String, Path, description = "environment name")),
    request_body(content = Option<PromoteBody>, description = "optional; empty is continue, no input"),
    responses((status = 200, description = "Gave the manual judgment the environment's pipeline \
        waits in (continue, or stop with stop: true); refused (409) while the environment before \
        it has no SUCCEEDED execution of the same chart digest (and image digest, for image \
        events) unless force: true; 404 names what was not found", body = PromoteAnswer)))]
pub async fn promote(
    State(s): State<AppState>,
    Path((product, environment)): Path<(String, String)>,
    caller: Option<Extension<Caller>>,
    promoter: Option<Extension<Arc<Promoter>>>,
    JsonBody(body): JsonBody<PromoteBody>,
) -> Result<Json<PromoteAnswer>, ApiError> {
    let req = PromoteRequest {
        product,
        environment,
        stop: body.stop,
        input: body.input,
        force: body.force,
        by: super::ops::caller_name(caller),
    };
    let done = judge(&s, promoter.as_ref().map(|Extension(p)| p), &req).await?;
    Ok(Json(PromoteAnswer {
        execution_id: done.execution_id,
        stage_id: done.stage_id,
        event_id: done.event_id,
        source_event: done.source_event,
        judgment: if req.stop {
            Judgment::Stop
        } else {
            Judgment::Continue
        },
        by: req.by,
    }))
}

/// Checks `req` (known product, a `spinnaker:` section, input of at most 4096 bytes) and
/// gives the judgment. The API's promote and the dashboard's Promote and Stop buttons both
/// come here.
pub async fn judge(
    s: &AppState,
    promoter: Option<&Arc<Promoter>>,
    req: &PromoteRequest,
) -> Result<Promoted, ApiError> {
    super::rights::require(
        s,
        &req.by,
        if req.stop {
            Right::Stop
        } else {
            Right::Promote
        },
    )?;
    if s.config.product(&req.product).is_none() {
        return Err(PromoteError::UnknownProduct(req.product.clone()).into());
    }
    let Some(promoter) = promoter else {
        return Err(ApiError::Conflict(
            "the config has no spinnaker: section, so there is no judgment to give".into(),
        ));
    };
    if req.input.as_ref().is_some_and(|i| i.len() > 4096) {
        return Err(ApiError::Unprocessable(
            "input: longer than 4096 bytes".into(),
        ));
    }
    Ok(promoter.promote(req).await?)
}

/// `GET /v1/products/{product}/environments`: 200 [`Matrix`].
#[utoipa::path(get, path = "/v1/products/{product}/environments", tag = "promotion",
    params(("product" = String, Path, description = "product name")),
    responses((status = 200, description = "The environment matrix: per environment what baton \
        delivered, the last successful deployment (chart, values and image digests), the running \
        or waiting execution, a pending judgment and whether promotion is allowed now and why \
        not; from baton's records and Gate, cached 5 s", body = Matrix)))]
pub async fn environments(
    State(s): State<AppState>,
    Path(product): Path<String>,
    promoter: Option<Extension<Arc<Promoter>>>,
) -> Result<Json<Matrix>, ApiError> {
    Ok(Json(
        matrix_of(&s, promoter.as_ref().map(|Extension(p)| p), &product).await?,
    ))
}

/// The matrix of `product`: through the promoter (Gate, cached), or from baton's own
/// records alone when the config has no `spinnaker:` section. The API and the dashboard both
/// come here.
pub async fn matrix_of(
    s: &AppState,
    promoter: Option<&Arc<Promoter>>,
    product: &str,
) -> Result<Matrix, ApiError> {
    let Some(p) = s.config.product(product) else {
        return Err(PromoteError::UnknownProduct(product.to_owned()).into());
    };
    match promoter {
        Some(promoter) => Ok(promoter.matrix(product).await?),
        None => {
            let delivered = s.outbox.store().delivered().await?;
            Ok(matrix::build(
                p,
                &delivered,
                Ok(&[]),
                s.outbox.clock().now(),
            ))
        }
    }
}
