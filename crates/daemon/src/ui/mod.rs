//! The web dashboard `baton serve` serves next to the API (docs/dashboard.md), for approvers
//! who live in a browser: what runs where, what waits for a judgment, what the outbox holds.
//!
//! Pages are rendered on the server from `maud` templates compiled into the binary; there is
//! no JavaScript, every action is a plain form, and the one stylesheet is served from the
//! binary (no fonts or CDNs: the cluster may be offline). The data comes from the same store
//! queries, promotion and explain code as the API; actions go through the same functions as
//! the API's handlers and are recorded with the caller's identity the same way.
//!
//! - [`session`]: the stateless signed session cookie and the CSRF tokens.
//! - [`auth`]: login, logout and who is looking.
//! - [`data`]: what a page shows, gathered from the store and Gate.
//! - [`pages`]: the HTML.
//! - [`actions`]: promote, stop, retry and drop.

pub mod actions;
pub mod auth;
pub mod data;
pub mod openapi;
pub mod pages;
pub mod session;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::{DefaultBodyLimit, Request};
use axum::http::{HeaderValue, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Redirect, Response};
use axum::routing::{get, post};
use secrecy::SecretString;
use tower_http::timeout::TimeoutLayer;
use tower_http::trace::TraceLayer;

use crate::api::AppState;
use crate::promote::Promoter;
use session::SessionKey;

/// What the dashboard's handlers share.
#[derive(Clone)]
pub struct UiState {
    /// The API's state: config, store (through the outbox), metrics.
    pub app: AppState,
    /// Gives judgments and lists what waits (`None` without a `spinnaker:` section).
    pub promoter: Option<Arc<Promoter>>,
    /// Signs sessions and CSRF tokens.
    pub key: SessionKey,
    /// Where the dashboard is served.
    pub paths: Paths,
}

impl UiState {
    /// The dashboard's state; `tokens` are the lines of `api_tokens_file`.
    pub fn new(app: AppState, promoter: Option<Arc<Promoter>>, tokens: &[SecretString]) -> Self {
        let paths = Paths::new(&app.config.config.ui.path_prefix);
        Self {
            app,
            promoter,
            key: SessionKey::from_tokens(tokens),
            paths,
        }
    }
}

/// Links inside the dashboard, under `ui.path_prefix`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Paths {
    prefix: String,
}

impl Paths {
    /// Paths under `prefix` (`/` or `/a/b`, no trailing slash).
    pub fn new(prefix: &str) -> Self {
        Self {
            prefix: prefix.trim_end_matches('/').to_owned(),
        }
    }

    /// `rel` (starting with `/`) under the prefix.
    pub fn at(&self, rel: &str) -> String {
        format!("{}{rel}", self.prefix)
    }

    /// The overview page: the prefix itself (`/ui`), or `/`.
    pub fn home(&self) -> String {
        self.cookie_path()
    }

    /// The path the session cookie is scoped to.
    pub fn cookie_path(&self) -> String {
        if self.prefix.is_empty() {
            "/".to_owned()
        } else {
            self.prefix.clone()
        }
    }
}

/// The dashboard's routes under `ui.path_prefix`, plus `/` redirecting there. Every answer
/// carries a strict Content-Security-Policy (no scripts at all) and `no-store`.
pub fn router(state: UiState) -> Router {
    let inner = Router::new()
        .route("/", get(pages::overview::handler))
        .route("/products/{product}", get(pages::product::handler))
        .route("/outbox", get(pages::outbox::handler))
        .route("/style.css", get(pages::layout::stylesheet))
        .route("/login", get(auth::login_form).post(auth::login))
        .route("/logout", post(auth::logout))
        .route(
            "/products/{product}/environments/{env}/judgment",
            post(actions::judgment),
        )
        .route("/outbox/{id}/{op}", post(actions::outbox))
        .layer(DefaultBodyLimit::max(16 * 1024))
        .layer(axum::middleware::from_fn(security_headers))
        .with_state(state.clone());
    let home = state.paths.home();
    let router = if state.paths.prefix.is_empty() {
        inner
    } else {
        let prefix = state.paths.prefix.clone();
        Router::new()
            .nest(&prefix, inner)
            .route(&format!("{prefix}/"), get(redirect_home))
            .route("/", get(redirect_home))
    };
    router
        .layer(TimeoutLayer::with_status_code(
            StatusCode::REQUEST_TIMEOUT,
            Duration::from_secs(30),
        ))
        .layer(TraceLayer::new_for_http().make_span_with(
            crate::api::trace::make_span as fn(&axum::http::Request<_>) -> tracing::Span,
        ))
        .layer(axum::middleware::from_fn(crate::api::trace::request_id))
        .layer(axum::Extension(HomePath(home)))
}

/// The overview's path, for the redirects from `/` and `/prefix/` to `/prefix`.
#[derive(Clone)]
struct HomePath(String);

async fn redirect_home(axum::Extension(HomePath(home)): axum::Extension<HomePath>) -> Redirect {
    Redirect::to(&home)
}

async fn security_headers(request: Request, next: Next) -> Response {
    let mut response = next.run(request).await.into_response();
    let h = response.headers_mut();
    h.insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(
            "default-src 'none'; style-src 'self'; img-src 'self'; form-action 'self'; \
             frame-ancestors 'none'; base-uri 'none'",
        ),
    );
    h.insert(
        header::X_CONTENT_TYPE_OPTIONS,
        HeaderValue::from_static("nosniff"),
    );
    h.insert(
        header::REFERRER_POLICY,
        HeaderValue::from_static("no-referrer"),
    );
    h.entry(header::CACHE_CONTROL)
        .or_insert(HeaderValue::from_static("no-store"));
    response
}

#[cfg(test)]
mod tests;
