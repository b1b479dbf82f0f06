//! Promotion: giving the manual judgment an environment's pipeline waits in
//! (`baton promote PRODUCT ENV`), refusing to skip an environment, superseding stale
//! judgments, and listing what waits.
//!
//! Pipelines are named `<app>-deploy-<env>` (docs/wire.md, "Spinnaker pipelines"); staging and prod
//! start with a manualJudgment stage. The execution to judge is found by correlation first:
//! the product's newest events that carry an Echo event id (recorded when the chart event was
//! delivered) are looked up in Gate (`executions/search?eventId=`); failing that, the newest
//! RUNNING execution of the environment's pipeline that waits for a judgment is taken.
//!
//! Continuing an environment is refused while the environment before it in the product's
//! `environments:` list (promotion order) has no SUCCEEDED execution of the same artifact
//! (chart digest, and image digest for image events; [`rule`]), unless forced. Stopping is
//! always allowed. Each judgment is recorded as an event of kind `promote` whose detail says
//! who (the API caller's identity, see [`crate::api::auth`]), what, for which execution and
//! which artifact, and whether it was forced; its time is the event's `created_at`.
//!
//! - [`gate`]: the Gate client from the config.
//! - [`find`]: locating the waiting execution.
//! - [`artifacts`]: what an execution ran, from its trigger artifacts.
//! - [`rule`]: the promotion rule by artifact.
//! - [`matrix`]: what runs where, what waits, what may go next (status, API, dashboard).
//! - [`note`]: the detail of a `promote` event, written here and read by notifications.
//! - [`supersede`]: cancelling judgments a newer chart event made stale.
//! - [`pending`]: what waits, per product and environment (status and metrics).
//! - [`deadline`]: stopping or reminding of judgments past their configured deadline.

pub mod artifacts;
pub mod deadline;
pub mod find;
pub mod gate;
pub mod matrix;
pub mod note;
pub mod pending;
pub mod rule;
pub mod supersede;

use std::sync::Arc;

use spinnaker_client::{Client, Judgment};

use crate::clock::Clock;
use crate::store::events::{Correlation, Event, new_event_id};
use crate::store::{Store, StoreError};
use baton_core::config::Loaded;
use baton_core::config::model::Product;

pub use supersede::{NewEvent, Superseded};

/// A promotion failure.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PromoteError {
    /// The product is not in the config.
    #[error("no product {0:?} in the config")]
    UnknownProduct(String),
    /// The product has no such environment.
    #[error("product {product:?} has no environment {environment:?} (its environments: {known})")]
    UnknownEnvironment {
        /// Product name.
        product: String,
        /// The environment asked for.
        environment: String,
        /// The configured ones, comma separated.
        known: String,
    },
    /// Nothing waits for a judgment in the environment's pipeline.
    #[error("no execution of pipeline {pipeline} waits for a manual judgment ({checked})")]
    NoWaitingJudgment {
        /// `<app>-deploy-<env>`.
        pipeline: String,
        /// What was looked at.
        checked: String,
    },
    /// The environment before this one has not succeeded with the same artifact.
    #[error(
        "refusing to promote {product} to {environment}: {reason}; promote {before} first, or \
         override with --force (API: \"force\": true)"
    )]
    EarlierNotSucceeded {
        /// Product name.
        product: String,
        /// The environment asked for.
        environment: String,
        /// The environment before it.
        before: String,
        /// What was found.
        reason: String,
    },
    /// Gate failed or answered an error; its causes are in `source()` (show the error with
    /// `baton_http::chain`).
    #[error("Spinnaker Gate")]
    Gate(#[source] spinnaker_client::Error),
    /// The state store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
}

impl From<spinnaker_client::Error> for PromoteError {
    fn from(e: spinnaker_client::Error) -> Self {
        Self::Gate(e)
    }
}

/// What to do with the waiting judgment.
#[derive(Debug, Clone)]
pub struct PromoteRequest {
    /// Product name (the Spinnaker application).
    pub product: String,
    /// Environment name.
    pub environment: String,
    /// `true`: stop (the stage and the pipeline end TERMINAL); `false`: continue.
    pub stop: bool,
    /// Text recorded as the judgment input.
    pub input: Option<String>,
    /// Continue even if the environment before has not succeeded with the same artifact.
    pub force: bool,
    /// Who asks (an API caller identity, never a token).
    pub by: String,
}

/// The judgment given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Promoted {
    /// The execution judged.
    pub execution_id: String,
    /// Its manualJudgment stage.
    pub stage_id: String,
    /// The `promote` event recorded for it.
    pub event_id: String,
    /// The baton event that started the execution, when known.
    pub source_event: Option<String>,
}

/// Gives judgments, supersedes stale ones and lists what waits, for one config.
#[derive(Debug, Clone)]
pub struct Promoter {
    gate: Client,
    store: Store,
    clock: Clock,
    config: Arc<Loaded>,
    metrics: Option<Arc<crate::metrics::Metrics>>,
    matrices: matrix::Cache,
}

/// The pipeline of `env` of application `app`.
pub fn pipeline_name(app: &str, env: &str) -> String {
    format!("{app}-deploy-{env}")
}

impl Promoter {
    /// A promoter talking to `gate`, recording in `store`.
    pub fn new(gate: Client, store: Store, clock: Clock, config: Arc<Loaded>) -> Self {
        Self {
            gate,
            store,
            clock,
            config,
            metrics: None,
            matrices: matrix::Cache::default(),
        }
    }

    /// Also counts events and sets `baton_pending_judgments` in `metrics`.
    pub fn with_metrics(mut self, metrics: Arc<crate::metrics::Metrics>) -> Self {
        self.metrics = Some(metrics);
        self
    }

    /// The Gate client.
    pub fn gate(&self) -> &Client {
        &self.gate
    }

    /// Whether a newer chart event cancels judgments still waiting
    /// (`spinnaker.supersede_waiting`, default true).
    pub fn supersede_waiting(&self) -> bool {
        self.config
            .config
            .spinnaker
            .as_ref()
            .is_none_or(|s| s.supersede_waiting)
    }

    fn product(&self, name: &str) -> Result<&Product, PromoteError> {
        self.config
            .product(name)
            .ok_or_else(|| PromoteError::UnknownProduct(name.to_owned()))
    }

    fn environment_index(&self, p: &Product, env: &str) -> Result<usize, PromoteError> {
        p.environments.iter().position(|e| e == env).ok_or_else(|| {
            PromoteError::UnknownEnvironment {
                product: p.name.clone(),
                environment: env.to_owned(),
                known: p.environments.join(", "),
            }
        })
    }

    /// Finds the execution of the environment's pipeline that waits for a judgment and gives
    /// it (continue or stop); records who and when as a `promote` event.
    pub async fn promote(&self, req: &PromoteRequest) -> Result<Promoted, PromoteError> {
        let p = self.product(&req.product)?;
        let index = self.environment_index(p, &req.environment)?;
        let pipeline = pipeline_name(&p.name, &req.environment);
        let (execution, stage_id, source_event) =
            find::waiting(&self.gate, &self.store, &p.name, &pipeline).await?;
        let ran = artifacts::Ran::of(&execution, &req.environment);
        if !req.stop && !req.force && index > 0 {
            let history = rule::history(&self.gate, &p.name).await?;
            if let Err(refused) = rule::decide(p, &req.environment, &execution, &history) {
                return Err(PromoteError::EarlierNotSucceeded {
                    product: p.name.clone(),
                    environment: req.environment.clone(),
                    before: p.environments[index - 1].clone(),
                    reason: refused.reason,
                });
            }
        }
        let judgment = if req.stop {
            Judgment::Stop
        } else {
            Judgment::Continue
        };
        self.gate
            .judge_stage(&execution.id, &stage_id, judgment, req.input.as_deref())
            .await?;
        let note = note::JudgmentNote {
            judgment: judgment.as_str().to_owned(),
            product: p.name.clone(),
            environment: req.environment.clone(),
            by: req.by.clone(),
            source_event: source_event.clone(),
            artifact: (!ran.is_empty()).then(|| ran.describe()),
            forced: req.force && !req.stop,
            input: req.input.clone(),
        };
        let event_id = self
            .record(
                &p.name,
                "promote",
                Correlation {
                    spinnaker_event_id: execution.event_id().map(str::to_owned),
                    execution_id: Some(execution.id.clone()),
                    detail: Some(note.detail()),
                    ..Default::default()
                },
            )
            .await?;
        self.forget_matrix(&p.name);
        tracing::info!(product = %p.name, environment = %req.environment, execution = %execution.id,
            judgment = judgment.as_str(), by = %req.by, "manual judgment given");
        Ok(Promoted {
            execution_id: execution.id,
            stage_id,
            event_id,
            source_event,
        })
    }

    async fn record(
        &self,
        product: &str,
        kind: &str,
        correlation: Correlation,
    ) -> Result<String, PromoteError> {
        let now = self.clock.now();
        let event = Event {
            id: new_event_id(now),
            product: product.to_owned(),
            kind: kind.to_owned(),
            image: None,
            created_at: now,
            correlation,
        };
        self.store.insert_event(&event).await?;
        if let Some(m) = &self.metrics {
            m.event(product, kind);
        }
        Ok(event.id)
    }
}
