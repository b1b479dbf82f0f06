//! The HTTP API Jenkins and operators call (DESIGN.md "HTTP API"), in axum.
//!
//! - [`auth`]: bearer tokens, constant-time comparison.
//! - [`body`]: the JSON body extractor (size limit, 400/413/422).
//! - [`error`]: `{"error","detail"}` answers.
//! - [`routes`]: health, sync, rebuild and built.
//! - [`ops`]: status, events and the outbox.
//! - [`promote`]: manual judgments.
//! - [`openapi`]: the OpenAPI document.
//! - [`table`]: the route table the router is built from.
//! - [`trace`]: a tracing span per request, with a request id.

pub mod auth;
pub mod body;
pub mod error;
pub mod openapi;
pub mod ops;
pub mod promote;
pub mod routes;
pub mod table;
pub mod trace;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::http::StatusCode;
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

/// The API's routes ([`table::routes`]) with auth, body limit, timeout and tracing (a span
/// per request with a request id, also sent back as `x-request-id`).
pub fn router(state: AppState) -> Router {
    let mut bearer = Router::new();
    let mut public = Router::new();
    for r in table::routes() {
        if r.bearer {
            bearer = bearer.route(r.path, r.handler);
        } else {
            public = public.route(r.path, r.handler);
        }
    }
    let bearer = bearer.route_layer(axum::middleware::from_fn_with_state(
        state.clone(),
        auth::require_token,
    ));
    public
        .merge(bearer)
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .layer(DefaultBodyLimit::max(body::MAX_BODY))
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(
            TraceLayer::new_for_http()
                .make_span_with(trace::make_span as fn(&axum::http::Request<_>) -> tracing::Span),
        )
        .layer(axum::middleware::from_fn(trace::request_id))
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
