//! What waits for a manual judgment, per product and environment (for `/v1/status`,
//! `baton_pending_judgments` and the judgment deadlines; the environment matrix reads its own
//! Gate listing, see [`super::matrix`]).

use serde::{Deserialize, Serialize};
use utoipa::ToSchema;

use super::find::trigger_parameter;
use super::{PromoteError, Promoter, pipeline_name};
use baton_core::config::model::Product;

/// One execution waiting for a judgment.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Pending {
    /// Product name.
    pub product: String,
    /// Environment name.
    pub environment: String,
    /// The waiting execution.
    pub execution_id: String,
    /// Its manualJudgment stage.
    pub stage_id: String,
    /// The stage's name, e.g. "Promote to staging?".
    pub stage_name: Option<String>,
    /// When the stage started waiting (Unix ms, as Orca reports).
    pub waiting_since_ms: Option<i64>,
    /// The baton event that started the execution, when known.
    pub baton_event: Option<String>,
}

impl Promoter {
    /// Every execution of a configured `<app>-deploy-<env>` pipeline that waits for a
    /// judgment; also sets `baton_pending_judgments{product,environment}` (0 where none).
    pub async fn pending(&self) -> Result<Vec<Pending>, PromoteError> {
        let mut all = Vec::new();
        for p in &self.config.config.products {
            all.extend(self.pending_of(p).await?);
        }
        Ok(all)
    }

    /// What waits for a judgment in the pipelines of `p`'s environments (one Gate call);
    /// also sets `baton_pending_judgments{product,environment}` for them.
    pub async fn pending_of(&self, p: &Product) -> Result<Vec<Pending>, PromoteError> {
        let mut all = Vec::new();
        if p.environments.is_empty() {
            return Ok(all);
        }
        let waiting = self.gate.pending_judgments(&p.name, None).await?;
        for env in &p.environments {
            let pipeline = pipeline_name(&p.name, env);
            let mut n = 0;
            for x in waiting
                .iter()
                .filter(|x| x.name.as_deref() == Some(&pipeline))
            {
                let Some(stage) = x.pending_judgment() else {
                    continue;
                };
                n += 1;
                all.push(Pending {
                    product: p.name.clone(),
                    environment: env.clone(),
                    execution_id: x.id.clone(),
                    stage_id: stage.id.clone(),
                    stage_name: stage.name.clone(),
                    waiting_since_ms: stage.start_time,
                    baton_event: trigger_parameter(x, "batonEvent").map(str::to_owned),
                });
            }
            if let Some(m) = &self.metrics {
                m.set_pending_judgments(&p.name, env, n);
            }
        }
        Ok(all)
    }
}

impl Promoter {
    /// Refreshes `baton_pending_judgments` from Gate every `every` until `shutdown`; Gate
    /// failures are logged and retried at the next tick.
    pub async fn watch_pending(
        self: std::sync::Arc<Self>,
        every: std::time::Duration,
        shutdown: tokio_util::sync::CancellationToken,
    ) {
        loop {
            if let Err(e) = self.pending().await {
                tracing::warn!(error = %baton_http::chain(&e), "cannot list pending judgments");
            }
            tokio::select! {
                _ = shutdown.cancelled() => return,
                _ = tokio::time::sleep(every) => {}
            }
        }
    }
}
