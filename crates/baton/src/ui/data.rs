//! What the pages show, gathered from the store (the queries `/v1/status` and `/v1/events`
//! use), the promoter (pending judgments) and explain. Gate is asked with a time bound, so a
//! slow or broken Gate makes a page say so instead of hanging it.

use std::time::Duration;

use serde_json::Value;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use time::OffsetDateTime;

use super::UiState;
use crate::api::error::ApiError;
use crate::config::model::Product;
use crate::promote::find::trigger_parameter;
use crate::promote::pending::Pending;
use crate::promote::pipeline_name;
use crate::store::events::{Delivered, Event};

/// How long a page waits for Gate.
pub const GATE_WAIT: Duration = Duration::from_secs(5);
/// Events per timeline page.
pub const PAGE: u32 = 50;
/// Timeline pages reachable (older history: `baton events` or `/v1/events`).
pub const MAX_PAGES: u32 = 20;
/// Newest events searched for each image's last build.
const RECENT: u32 = 200;

/// What an environment is doing, as text, symbol and colour class.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum EnvState {
    /// The newest execution succeeded.
    Deployed,
    /// The newest execution runs.
    Running,
    /// The newest execution waits for a manual judgment.
    Waiting,
    /// The newest execution failed, was stopped or canceled.
    Failed,
    /// baton delivered to it; Spinnaker shows no execution (yet).
    Sent,
    /// Nothing delivered yet.
    Nothing,
    /// Gate could not be asked.
    Unknown,
}

impl EnvState {
    /// The words shown.
    pub fn label(self) -> &'static str {
        match self {
            EnvState::Deployed => "deployed",
            EnvState::Running => "running",
            EnvState::Waiting => "waiting for judgment",
            EnvState::Failed => "failed",
            EnvState::Sent => "sent, no execution seen",
            EnvState::Nothing => "nothing delivered",
            EnvState::Unknown => "unknown (Gate not reachable)",
        }
    }

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

    fn of(x: &Execution) -> Self {
        use ExecutionStatus as S;
        match &x.status {
            S::Running if x.pending_judgment().is_some() => EnvState::Waiting,
            S::Succeeded | S::Skipped => EnvState::Deployed,
            S::Terminal | S::Canceled | S::Stopped | S::FailedContinue => EnvState::Failed,
            S::Unknown(_) => EnvState::Unknown,
            _ => EnvState::Running,
        }
    }
}

/// The newest execution of an environment's pipeline.
#[derive(Debug, Clone)]
pub struct ExecInfo {
    /// Execution id.
    pub id: String,
    /// Orca's status.
    pub status: String,
    /// When it was triggered (Unix ms).
    pub at_ms: Option<i64>,
    /// `chartVersion` of the chart event that started it.
    pub chart_version: Option<String>,
}

/// One environment of a product.
#[derive(Debug, Clone)]
pub struct EnvView {
    /// Environment name.
    pub name: String,
    /// What baton last delivered to it.
    pub delivered: Option<Delivered>,
    /// The newest execution of its pipeline.
    pub last: Option<ExecInfo>,
    /// The image digest of the newest execution an image event started.
    pub image_digest: Option<String>,
    /// The state shown.
    pub state: EnvState,
}

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
    let delivered = s.app.outbox.store().delivered().await?;
    let mut out = Vec::new();
    for p in &s.app.config.config.products {
        out.push(product(s, p, &delivered).await?);
    }
    Ok(out)
}

/// One product: deliveries from the store, states from Gate's recent executions, images
/// from the newest events.
pub async fn product(
    s: &UiState,
    p: &Product,
    delivered: &[Delivered],
) -> Result<ProductView, ApiError> {
    let (executions, gate_error) = executions(s, p).await;
    let envs = p
        .environments
        .iter()
        .map(|env| {
            let pipeline = pipeline_name(&p.name, env);
            let mine: Vec<&Execution> = executions
                .iter()
                .filter(|x| x.name.as_deref() == Some(pipeline.as_str()))
                .collect();
            let newest = mine.iter().max_by_key(|x| x.build_time.unwrap_or(0));
            let delivered = delivered
                .iter()
                .find(|d| d.product == p.name && &d.environment == env)
                .cloned();
            let state = match (newest, &gate_error) {
                (Some(x), _) => EnvState::of(x),
                (None, Some(_)) => EnvState::Unknown,
                (None, None) if delivered.is_some() => EnvState::Sent,
                (None, None) => EnvState::Nothing,
            };
            let image_digest = mine
                .iter()
                .filter_map(|x| Some((x.build_time, trigger_parameter(x, "digest")?)))
                .max_by_key(|(t, _)| t.unwrap_or(0))
                .map(|(_, d)| d.to_owned());
            EnvView {
                name: env.clone(),
                delivered,
                last: newest.map(|x| ExecInfo {
                    id: x.id.clone(),
                    status: x.status.as_str().to_owned(),
                    at_ms: x.build_time.or(x.start_time),
                    chart_version: trigger_parameter(x, "chartVersion").map(str::to_owned),
                }),
                image_digest,
                state,
            }
        })
        .collect();
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
        envs,
        images,
        gate_error,
    })
}

/// Recent executions of the product's application (5 per pipeline), or why not.
async fn executions(s: &UiState, p: &Product) -> (Vec<Execution>, Option<String>) {
    let Some(promoter) = &s.promoter else {
        return (Vec::new(), None);
    };
    if p.environments.is_empty() {
        return (Vec::new(), None);
    }
    match tokio::time::timeout(GATE_WAIT, promoter.gate().executions(&p.name, Some(5), &[])).await {
        Ok(Ok(x)) => (x, None),
        Ok(Err(e)) => (Vec::new(), Some(format!("Spinnaker Gate: {e}"))),
        Err(_) => (
            Vec::new(),
            Some(format!(
                "Spinnaker Gate did not answer within {GATE_WAIT:?}"
            )),
        ),
    }
}

/// What waits for a judgment in `p`'s pipelines, or why it could not be listed.
pub async fn pending(s: &UiState, p: &Product) -> Result<Vec<Pending>, String> {
    let Some(promoter) = &s.promoter else {
        return Ok(Vec::new());
    };
    match tokio::time::timeout(GATE_WAIT, promoter.pending_of(p)).await {
        Ok(Ok(v)) => Ok(v),
        Ok(Err(e)) => Err(e.to_string()),
        Err(_) => Err(format!(
            "Spinnaker Gate did not answer within {GATE_WAIT:?}"
        )),
    }
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
        .map(|x| {
            let json = serde_json::to_value(&x).unwrap_or(Value::Null);
            Explained {
                source: x.source,
                seen: x.observed.map(|o| (o.value, o.observed_at)),
                verdict: json["verdict"].as_str().unwrap_or("?").to_owned(),
                why: crate::explain::text::why(&json),
            }
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
