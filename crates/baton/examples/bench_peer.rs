//! The peer for `bench/run-daemon`: a bare axum server with the same runtime as `baton serve`,
//! answering `GET /readyz` with 200 and `POST /hooks/github` with 202 after reading the body
//! (no HMAC, no parsing). Its start-up time, idle RSS and requests/s are the floor baton's are
//! compared with.
//!
//! `cargo run --release -p baton --example bench_peer -- 127.0.0.1:38090`

use axum::Router;
use axum::body::Bytes;
use axum::http::StatusCode;
use axum::routing::{get, post};

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let addr = std::env::args()
        .nth(1)
        .unwrap_or_else(|| "127.0.0.1:38090".to_owned());
    let app = Router::new()
        .route("/readyz", get(|| async { "ok" }))
        .route(
            "/hooks/github",
            post(|body: Bytes| async move {
                let _ = body.len();
                (StatusCode::ACCEPTED, "ignored")
            }),
        );
    let listener = tokio::net::TcpListener::bind(&addr)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {addr}: {e}"))?;
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
