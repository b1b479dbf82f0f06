//! The HTTP API Jenkins and operators call (DESIGN.md "HTTP API"), in axum.
//!
//! - [`auth`]: bearer tokens, constant-time comparison.
//! - [`body`]: the JSON body extractor (size limit, 400/413/422).
//! - [`error`]: `{"error","detail"}` answers.
//! - [`routes`]: health, sync, rebuild and built.
//! - [`ops`]: status, events and the outbox.
//! - [`promote`]: manual judgments.
//! - [`openapi`]: the OpenAPI document.

pub mod auth;
pub mod body;
pub mod error;
pub mod openapi;
pub mod ops;
pub mod promote;
pub mod routes;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
use axum::routing::{delete, get, post};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::config::Loaded;
use crate::jobs::Job;
use crate::outbox::Outbox;

/// What the handlers share.
#[derive(Clone)]
pub struct AppState {
    /// The validated config.
    pub config: Arc<Loaded>,
    /// Accepted bearer tokens.
    pub tokens: auth::Tokens,
    /// The outbox (and through it the store and clock).
    pub outbox: Outbox,
    /// Where sync and rebuild requests go.
    pub jobs: mpsc::Sender<Job>,
    /// Process metrics.
    pub metrics: Arc<crate::metrics::Metrics>,
}

/// The API's routes with auth, body limit, timeout and tracing.
pub fn router(state: AppState) -> Router {
    let v1 = Router::new()
        .route("/products/{product}/sync", post(routes::sync))
        .route(
            "/products/{product}/images/{image}/rebuild",
            post(routes::rebuild),
        )
        .route(
            "/products/{product}/images/{image}/built",
            post(routes::built),
        )
        .route(
            "/products/{product}/environments/{env}/promote",
            post(promote::promote),
        )
        .route("/status", get(ops::status))
        .route("/events", get(ops::events))
        .route("/outbox", get(ops::outbox_list))
        .route("/outbox/{id}/retry", post(ops::outbox_retry))
        .route("/outbox/{id}", delete(ops::outbox_drop))
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            auth::require_token,
        ));
    Router::new()
        .nest("/v1", v1)
        .route("/healthz", get(routes::healthz))
        .route("/readyz", get(routes::readyz))
        .route("/metrics", get(ops::metrics))
        .route("/openapi.json", get(openapi::openapi))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http())
        .with_state(state)
}

/// Serves `router` on `listener` until `shutdown`, then finishes open requests.
pub async fn serve(
    listener: TcpListener,
    router: Router,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    axum::serve(listener, router)
        .with_graceful_shutdown(shutdown.cancelled_owned())
        .await
}
