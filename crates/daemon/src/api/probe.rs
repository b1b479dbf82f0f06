//! The probe listener (`api.probe_listen`): `/healthz`, `/readyz` and `/metrics` on an address
//! of their own, with a small connection cap and short timeouts.
//!
//! Why a second listener: the kernel queues every new connection to a port in one accept queue
//! (and one SYN queue) before baton can tell a kubelet probe from an attacker. With 10,000 idle
//! and 200 slowloris clients reconnecting to the API port as fast as baton closes them, that
//! queue overflowed now and then and a probe's SYN was dropped: a 1 s retransmit, so `/healthz`
//! on the API port had a p99 of about 1 s (bench/README.md "Hostile clients"). Attackers of the
//! API port cannot queue in front of this one, and the only routes here are read-only and need
//! no token. `/metrics` is here too so that scraping keeps working while the API port is under
//! attack, which is when an operator most wants the figures.
//!
//! The routes stay on the API port as well, so nothing that probes it today breaks.

use axum::Router;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::{AppState, limits, routes, server, table};
use baton_core::config::api::ApiSettings;

/// The paths served on the probe listener.
pub const PATHS: [&str; 3] = ["/healthz", "/readyz", "/metrics"];

/// Connections the probe listener keeps open at most: a kubelet's two probes and a scraper
/// or two need a handful. Taken from [`limits::RESERVED_FDS`], not from `api.max_connections`.
pub const MAX_CONNECTIONS: usize = 32;

/// The probe listener's limits: `/readyz` waits up to 2 s for the state store and `/metrics`
/// reads it too, so 5 s per request; a probe sends its request at once, so 2 s for the headers
/// and 5 s of idle keep-alive.
pub fn settings() -> ApiSettings {
    ApiSettings {
        header_timeout: std::time::Duration::from_secs(2),
        request_timeout: std::time::Duration::from_secs(5),
        idle_timeout: std::time::Duration::from_secs(5),
        max_connections: MAX_CONNECTIONS,
        ..ApiSettings::default()
    }
}

/// The routes of [`PATHS`], taken from the API's route table.
pub fn router(state: AppState) -> Router {
    table::routes()
        .into_iter()
        .filter(|r| PATHS.contains(&r.path))
        .fold(Router::new(), |router, r| router.route(r.path, r.handler))
        .fallback(routes::not_found)
        .method_not_allowed_fallback(routes::method_not_allowed)
        .with_state(state)
}

/// Serves [`router`] on `listener` under [`settings`] until `shutdown`.
pub async fn serve(
    listener: TcpListener,
    state: AppState,
    shutdown: CancellationToken,
) -> std::io::Result<()> {
    let settings = settings();
    let router = limits::finish(router(state), &settings);
    server::run(listener, router, settings, MAX_CONNECTIONS, shutdown).await
}
