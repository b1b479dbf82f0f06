//! The HTTP API Jenkins and operators call (described at `/openapi.json`), in axum.
//!
//! - [`auth`]: bearer tokens, constant-time comparison.
//! - [`rights`]: which caller may take which action (`api.rights`), for the API and dashboard.
//! - [`body`]: the JSON body extractor (size limit, 400/413/422).
//! - [`error`]: `{"error","detail"}` answers.
//! - [`routes`]: health, sync, rebuild and built.
//! - [`ops`]: status, events and the outbox.
//! - [`promote`]: manual judgments.
//! - [`types`]: the request and answer bodies, shared with the CLI.
//! - [`openapi`]: the OpenAPI document, derived from the handlers and [`types`].
//! - [`table`]: the route table the router is built from.
//! - [`trace`]: a tracing span per request, with a request id.
//! - [`limits`]: the request timeout, tracing and request ids applied to the whole served
//!   router; the connection cap and the open-files limit.
//! - [`probe`]: `/healthz`, `/readyz` and `/metrics` on the probe listener (`api.probe_listen`),
//!   out of reach of clients flooding the API port.
//! - `server`: the accept loop with header, idle and connection limits behind [`serve`].

pub mod auth;
pub mod body;
pub mod error;
pub mod limits;
pub mod openapi;
pub mod ops;
pub mod probe;
pub mod promote;
pub mod rights;
pub mod routes;
mod server;
pub mod table;
pub mod trace;
pub mod types;

use std::sync::Arc;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_util::sync::CancellationToken;

use crate::jobs::Job;
use crate::outbox::Outbox;
use baton_core::config::{self, Loaded};

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

/// The API's routes ([`table::routes`]) with auth and the body limit. Timeouts, tracing and
/// request ids come from [`serve`], over everything merged into this router.
pub fn router(state: AppState) -> Router {
    if state.config.config.api.auth == config::api::ApiAuth::None {
        tracing::warn!(
            listen = %state.config.config.listen,
            "api.auth is none: /v1 needs no token, so anyone who reaches this address can trigger builds and promote; use it only behind a trusted network boundary"
        );
    }
    rights::warn_if_open(&state.config.config.api);
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
        .with_state(state)
}

/// Serves `router` (the API with the webhooks and anything else already merged) on `listener`
/// under `settings`' limits until `shutdown`, then finishes open requests. The request timeout,
/// tracing and request ids are applied here, last ([`limits::finish`]), so every route gets
/// them; the connection cap is fitted to the open-files limit ([`limits::connection_cap`]).
pub async fn serve(
    listener: TcpListener,
    router: Router,
    settings: &config::api::ApiSettings,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let cap = limits::connection_cap(settings.max_connections);
    let router = limits::finish(router, settings);
    server::run(listener, router, settings.clone(), cap, shutdown).await
}
