//! What the pages show, gathered from the store (the queries `/v1/status` and `/v1/events`
//! use), the environment matrix ([`crate::promote::matrix`], also behind the API and `baton
//! status PRODUCT`) and explain. Gate is asked with a time bound, so a slow or broken Gate
//! makes a page say so instead of hanging it.

use std::time::Duration;

use time::OffsetDateTime;

use super::UiState;
use crate::api::error::ApiError;
use crate::promote::matrix::EnvironmentRow;
use crate::store::events::Event;
use baton_core::config::model::Product;

/// How long a page waits for Gate.
pub const GATE_WAIT: Duration = Duration::from_secs(5);
/// Events per timeline page.
pub const PAGE: u32 = 50;
/// Timeline pages reachable (older history: `baton events` or `/v1/events`).
pub const MAX_PAGES: u32 = 20;
/// Newest events searched for each image's last build.
const RECENT: u32 = 200;

pub use crate::promote::matrix::EnvState;

impl EnvState {
    /// A symbol shown before the words, so the state does not depend on colour.
    pub fn symbol(self) -> &'static str {
        match self {
            EnvState::Deployed => "✔",
            EnvState::Running => "▶",
            EnvState::Waiting => "‖",
            EnvState::Failed => "✖",
            EnvState::Sent => "→",
            EnvState::Nothing | EnvState::Unknown => "?",
        }
    }

    /// The CSS class giving its colour.
    pub fn class(self) -> &'static str {
        match self {
            EnvState::Deployed => "ok",
            EnvState::Running | EnvState::Sent => "busy",
            EnvState::Waiting => "wait",
            EnvState::Failed => "bad",
            EnvState::Nothing | EnvState::Unknown => "none",
        }
    }
}

/// One environment of a product: its row of the environment matrix, the same one
/// `GET /v1/products/{product}/environments` and `baton status PRODUCT` show.
pub type EnvView = EnvironmentRow;

/// One image of a product and its newest build.
#[derive(Debug, Clone)]
pub struct ImageView {
    /// Image name.
    pub name: String,
    /// The newest `rebuild` or `image` event of it.
    pub last: Option<Event>,
}

/// A product's row of the overview and head of its page.
#[derive(Debug, Clone)]
pub struct ProductView {
    /// Product name.
    pub name: String,
    /// Its environments, in promotion order.
    pub envs: Vec<EnvView>,
    /// Its images.
    pub images: Vec<ImageView>,
    /// Why the states could not be read from Gate.
    pub gate_error: Option<String>,
}

/// Every product of the config.
pub async fn overview(s: &UiState) -> Result<Vec<ProductView>, ApiError> {
    let mut out = Vec::new();
    for p in &s.app.config.config.products {
        out.push(product(s, p).await?);
    }
    Ok(out)
}

/// One product: its environment matrix (baton's records and Gate's executions, through the
/// promoter's short cache), images from the newest events.
pub async fn product(s: &UiState, p: &Product) -> Result<ProductView, ApiError> {
    let matrix = crate::api::promote::matrix_of(&s.app, s.promoter.as_ref(), &p.name).await?;
    let events = s.app.outbox.store().events(Some(&p.name), RECENT).await?;
    let images = p
        .images
        .iter()
        .map(|img| ImageView {
            name: img.name.clone(),
            last: events
                .iter()
                .find(|e| {
                    e.image.as_deref() == Some(img.name.as_str())
                        && (e.kind == "rebuild" || e.kind == "image")
                })
                .cloned(),
        })
        .collect();
    Ok(ProductView {
        name: p.name.clone(),
        envs: matrix.environments,
        images,
        gate_error: matrix.gate_error,
    })
}

/// One explained source, as the page shows it.
#[derive(Debug, Clone)]
pub struct Explained {
    /// Source id.
    pub source: String,
    /// What it last saw, and when.
    pub seen: Option<(String, OffsetDateTime)>,
    /// The verdict's name (`delivered`, `baseline`, ...).
    pub verdict: String,
    /// Why, in the words `baton explain` prints.
    pub why: String,
}

/// `baton explain PRODUCT`, for the page; Gate is asked within twice [`GATE_WAIT`].
pub async fn explain(s: &UiState, p: &Product) -> Result<Vec<Explained>, String> {
    let gate = s.promoter.as_ref().map(|p| p.gate());
    let found = tokio::time::timeout(
        GATE_WAIT * 2,
        crate::explain::explain(s.app.outbox.store(), p, gate),
    )
    .await
    .map_err(|_| "explain did not finish within 10s (is Spinnaker Gate slow?)".to_owned())?
    .map_err(|e| {
        tracing::warn!(error = %e, "dashboard: explain failed");
        "the state store could not be read; see the daemon's log".to_owned()
    })?;
    Ok(found
        .into_iter()
        .map(|x| Explained {
            why: crate::explain::text::why(&x.verdict),
            verdict: x.verdict.name().to_owned(),
            source: x.source,
            seen: x.observed.map(|o| (o.value, o.observed_at)),
        })
        .collect())
}

/// One page of a product's events, newest first, and whether an older page exists.
pub async fn timeline(
    s: &UiState,
    product: &str,
    page: u32,
) -> Result<(Vec<Event>, bool), ApiError> {
    let page = page.min(MAX_PAGES - 1);
    let want = (page + 1) * PAGE;
    let mut events = s.app.outbox.store().events(Some(product), want + 1).await?;
    let more = events.len() > want as usize && page + 1 < MAX_PAGES;
    events.truncate(want as usize);
    let shown = events.into_iter().skip((page * PAGE) as usize).collect();
    Ok((shown, more))
}
