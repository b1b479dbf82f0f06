//! Signed git push webhooks: `POST /hooks/github|gitlab|gitea|bitbucket`.
//!
//! A push to a watched repository and branch asks the daemon to check the watching sources at
//! once, instead of waiting for the next poll (the poll stays as a safety net). Each request
//! goes through, in order:
//!
//! 1. a body limit (413),
//! 2. the provider's signature check on the raw body, in constant time, as a type:
//!    [`Unverified::verify`] is the only way to a [`Verified`] request and only that exposes
//!    the body (401 `signature missing|empty|invalid|wrong algorithm`),
//! 3. ping (GitHub `ping`, Bitbucket `diagnostics:ping`): 200, no effect; pings must be
//!    signed too, so a wrong secret shows up when the hook is set up,
//! 4. dedupe through [`SeenDeliveries`] by delivery id **and** body digest (the id header is
//!    not signed): a redelivery or a replay answers 200 `duplicate`,
//! 5. parsing into [`PushEvent`]s (400 naming the JSON path if the payload does not fit),
//! 6. matching repository URL (any form, see [`repo_key`]) and branch against the
//!    [`WatchTable`], and one [`CheckRequest`] per matching source on the channel (202
//!    `triggered`), or 202 `ignored` with the reason.
//!
//! Outcomes are counted per provider in [`HookCounters`].
//!
//! The seam to the daemon is [`HooksState`] (secret, shared watch table, the check channel,
//! the dedupe store) and [`router`], a `Router` to merge into the API router.

mod counters;
mod dedupe;
mod error;
mod handler;
mod payload;
mod provider;
mod verify;
mod watch;

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::post;
use tokio::sync::mpsc;

pub use counters::{HookCounters, Outcome};
pub use dedupe::{DedupeError, DedupeFuture, Delivery, RecentDeliveries, SeenDeliveries};
pub use error::{HookError, Rejection};
pub use handler::{HookReply, HookStatus};
pub use payload::{HookEvent, PushEvent, parse};
pub use provider::Provider;
pub use verify::{Unverified, Verified, WebhookSecret, sign_sha256};
pub use watch::{SharedWatchTable, SourceId, Watch, WatchTable, repo_key};

/// A request to check one source now, sent on the channel given to [`HooksState::new`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckRequest {
    /// The source to check.
    pub source: SourceId,
    /// The host that reported the push.
    pub provider: Provider,
    /// The webhook delivery id, for correlation in logs and events.
    pub delivery_id: String,
    /// The pushed ref (`refs/heads/main`).
    pub git_ref: String,
    /// The commit the ref points to now, as the host reported it.
    pub after: String,
    /// The commit the ref pointed to before, when the host says.
    pub before: Option<String>,
    /// The paths the pushed commits touched, when the host listed them all
    /// ([`PushEvent::changed`]).
    pub changed: Option<Vec<String>>,
}

/// Everything the webhook router needs from the daemon.
#[derive(Clone)]
pub struct HooksState {
    secret: WebhookSecret,
    watch: SharedWatchTable,
    checks: mpsc::Sender<CheckRequest>,
    seen: Arc<dyn SeenDeliveries>,
    counters: Arc<HookCounters>,
    body_limit: usize,
    send_timeout: Duration,
}

impl HooksState {
    /// Largest body accepted by default. GitHub caps payloads at 25 MB; a push with many
    /// commits stays far below 5 MiB.
    pub const DEFAULT_BODY_LIMIT: usize = 5 * 1024 * 1024;
    /// How long a webhook waits for room on the check channel before answering 503.
    pub const DEFAULT_SEND_TIMEOUT: Duration = Duration::from_secs(5);

    /// State with in-memory dedupe ([`RecentDeliveries::default`]), fresh counters and the
    /// default limits. Check requests go to `checks`.
    pub fn new(
        secret: WebhookSecret,
        watch: SharedWatchTable,
        checks: mpsc::Sender<CheckRequest>,
    ) -> Self {
        Self {
            secret,
            watch,
            checks,
            seen: Arc::new(RecentDeliveries::default()),
            counters: Arc::new(HookCounters::default()),
            body_limit: Self::DEFAULT_BODY_LIMIT,
            send_timeout: Self::DEFAULT_SEND_TIMEOUT,
        }
    }

    /// Keeps delivery ids in `seen` instead (for example the daemon's state store).
    pub fn with_seen_deliveries(mut self, seen: Arc<dyn SeenDeliveries>) -> Self {
        self.seen = seen;
        self
    }

    /// Counts outcomes into `counters` (shared with the metrics exporter).
    pub fn with_counters(mut self, counters: Arc<HookCounters>) -> Self {
        self.counters = counters;
        self
    }

    /// Accepts bodies up to `bytes`.
    pub fn with_body_limit(mut self, bytes: usize) -> Self {
        self.body_limit = bytes;
        self
    }

    /// Waits at most `timeout` for room on the check channel.
    pub fn with_send_timeout(mut self, timeout: Duration) -> Self {
        self.send_timeout = timeout;
        self
    }

    /// The outcome counters.
    pub fn counters(&self) -> &Arc<HookCounters> {
        &self.counters
    }

    /// The watch table, to replace on config reload.
    pub fn watch_table(&self) -> &SharedWatchTable {
        &self.watch
    }
}

impl std::fmt::Debug for HooksState {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HooksState")
            .field("secret", &self.secret)
            .field("watches", &self.watch.current().watches().len())
            .field("body_limit", &self.body_limit)
            .field("send_timeout", &self.send_timeout)
            .finish_non_exhaustive()
    }
}

/// The route the push webhooks are served at (`provider`: github, gitlab, gitea, bitbucket).
pub const PATH: &str = "/hooks/{provider}";

#[derive(utoipa::OpenApi)]
#[openapi(paths(handler::receive))]
struct HooksDoc;

/// The OpenAPI description of [`PATH`], merged into `/openapi.json`.
pub fn openapi() -> utoipa::openapi::OpenApi {
    <HooksDoc as utoipa::OpenApi>::openapi()
}

/// `POST /hooks/{provider}` with its own body limit (it overrides an outer
/// `DefaultBodyLimit`); merge it into the API router. The router carries its own state, so it
/// merges into a `Router<S>` of any state `S`. Keep it out of bearer-token auth layers: the
/// signature is the authentication.
///
/// ```
/// use baton_daemon::hooks::{HooksState, SharedWatchTable, WatchTable, WebhookSecret, router};
/// use secrecy::SecretString;
///
/// let secret = WebhookSecret::new(SecretString::from("from the secret file".to_owned()))?;
/// let watches = SharedWatchTable::new(WatchTable::new([
///     ("micro-gw-charts", "https://github.com/acme/charts.git", "main"),
/// ]));
/// // The daemon's source loop receives `CheckRequest`s on `checks` and checks at once.
/// let (tx, _checks) = tokio::sync::mpsc::channel(64);
/// let hooks = router(HooksState::new(secret, watches, tx));
/// let api: axum::Router<u32> = axum::Router::new().merge(hooks);
/// # Ok::<(), baton_daemon::hooks::HookError>(())
/// ```
pub fn router<S>(state: HooksState) -> Router<S>
where
    S: Clone + Send + Sync + 'static,
{
    let limit = state.body_limit;
    Router::new()
        .route(PATH, post(handler::receive))
        .layer(DefaultBodyLimit::max(limit))
        .with_state(state)
}
