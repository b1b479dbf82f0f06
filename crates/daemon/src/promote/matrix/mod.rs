//! The environment matrix of a product (issue 16): per environment what baton delivered, the
//! last successful deployment (chart, values and image digests, from the execution's trigger
//! artifacts), the running or waiting execution, a pending judgment and whether promotion is
//! allowed now (the same [`super::rule::decide`] `baton promote` applies) and why not. The
//! newest execution and the last successful one each carry their [`verification`] result (the
//! stage that gates promotion), so a TERMINAL environment shows whether its tests failed.
//!
//! `GET /v1/products/{product}/environments`, `baton status PRODUCT` and the dashboard all
//! read it through [`super::Promoter::matrix`], which asks Gate twice per product (the newest
//! SUCCEEDED and the newest executions, [`super::rule::history`]) and keeps the answer
//! [`CACHE_FOR`], so a page refreshed by many approvers does not multiply Gate calls. A
//! judgment given through baton drops the product's cached matrix.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use spinnaker_client::model::execution::{Execution, ExecutionStatus};
use time::OffsetDateTime;

use super::artifacts::Ran;
use super::find::trigger_parameter;
use super::rule::{decide, environment_of};
use super::{PromoteError, Promoter, pipeline_name};
use crate::store::events::Delivered;
use baton_core::config::model::Product;

mod model;

pub use model::{
    DeliveredRow, Deployment, EnvState, EnvironmentRow, ExecutionRef, Matrix, NO_STAGE, NOT_RUN,
    PendingJudgment, Promotion, verification,
};

/// How long a product's matrix is reused before Gate is asked again.
pub const CACHE_FOR: Duration = Duration::from_secs(5);
/// How long building a matrix waits for Gate before answering without it.
pub const GATE_WAIT: Duration = Duration::from_secs(5);

/// Unix milliseconds (as Orca reports) as a time.
pub fn from_ms(ms: Option<i64>) -> Option<OffsetDateTime> {
    OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms?) * 1_000_000).ok()
}

fn reference(x: &Execution, env: &str) -> ExecutionRef {
    ExecutionRef {
        id: x.id.clone(),
        pipeline: x.name.clone().unwrap_or_default(),
        status: x.status.as_str().to_owned(),
        started_at: from_ms(x.start_time.or(x.build_time)),
        artifact: Ran::of(x, env),
        verification: model::verification(x),
    }
}

/// The matrix of `p` from baton's `delivered` records and Gate's `history` (or why Gate could
/// not be read), at `now`.
pub fn build(
    p: &Product,
    delivered: &[Delivered],
    history: Result<&[Execution], &str>,
    now: OffsetDateTime,
) -> Matrix {
    let (executions, gate_error) = match history {
        Ok(h) => (h, None),
        Err(e) => (&[][..], Some(e.to_owned())),
    };
    let environments = p
        .environments
        .iter()
        .map(|env| {
            let pipeline = pipeline_name(&p.name, env);
            let mut mine: Vec<&Execution> = executions
                .iter()
                .filter(|x| x.name.as_deref().and_then(|n| environment_of(p, n)) == Some(env))
                .collect();
            mine.sort_by_key(|x| std::cmp::Reverse(x.build_time.unwrap_or(0)));
            let succeeded = || {
                mine.iter()
                    .filter(|x| x.status == ExecutionStatus::Succeeded)
            };
            let delivered = delivered
                .iter()
                .find(|d| d.product == p.name && &d.environment == env)
                .map(|d| DeliveredRow {
                    chart_version: d.chart_version.clone(),
                    chart_digest: d.chart_digest.clone(),
                    values_digest: d.values_digest.clone(),
                    event_id: d.event_id.clone(),
                    delivered_at: d.delivered_at,
                });
            let state = match (mine.first(), &gate_error) {
                (Some(x), _) => EnvState::of(x),
                (None, Some(_)) => EnvState::Unknown,
                // A baseline is recorded as delivered without an event: nothing was sent.
                (None, None) if delivered.as_ref().is_some_and(|d| d.event_id.is_some()) => {
                    EnvState::Sent
                }
                (None, None) => EnvState::Nothing,
            };
            let last_success = succeeded()
                .map(|x| (x, Ran::of(x, env)))
                .find(|(_, ran)| ran.chart.is_some())
                .map(|(x, ran)| Deployment {
                    execution_id: x.id.clone(),
                    pipeline: x.name.clone().unwrap_or_default(),
                    finished_at: from_ms(x.end_time),
                    chart: ran.chart,
                    values_digest: ran.values_digest,
                    image: ran.image,
                    verification: model::verification(x),
                });
            let image = succeeded().find_map(|x| Ran::of(x, env).image);
            let waiting = mine.iter().find(|x| {
                x.name.as_deref() == Some(pipeline.as_str())
                    && x.status == ExecutionStatus::Running
                    && x.pending_judgment().is_some()
            });
            let pending_judgment = waiting.and_then(|x| {
                let stage = x.pending_judgment()?;
                Some(PendingJudgment {
                    execution_id: x.id.clone(),
                    stage_id: stage.id.clone(),
                    stage_name: stage.name.clone(),
                    since: from_ms(stage.start_time),
                    artifact: Ran::of(x, env),
                    baton_event: trigger_parameter(x, "batonEvent").map(str::to_owned),
                })
            });
            let promotion = match (waiting, &gate_error) {
                (_, Some(e)) => refused(format!("unknown: {e}")),
                (None, None) => refused(format!("nothing waits for a judgment in {pipeline}")),
                (Some(x), None) => match decide(p, env, x, executions) {
                    Ok(()) => Promotion {
                        allowed: true,
                        reason: None,
                    },
                    Err(r) => refused(r.reason),
                },
            };
            EnvironmentRow {
                name: env.clone(),
                pipeline: pipeline.clone(),
                state,
                delivered,
                last_success,
                image,
                newest: mine.first().map(|x| reference(x, env)),
                running: mine
                    .iter()
                    .find(|x| !x.status.is_complete())
                    .map(|x| reference(x, env)),
                pending_judgment,
                promotion,
            }
        })
        .collect();
    Matrix {
        product: p.name.clone(),
        as_of: now,
        gate_error,
        environments,
    }
}

fn refused(reason: String) -> Promotion {
    Promotion {
        allowed: false,
        reason: Some(reason),
    }
}

/// Matrices reused for [`CACHE_FOR`], by product.
#[derive(Debug, Clone, Default)]
pub struct Cache(Arc<Mutex<HashMap<String, (tokio::time::Instant, Matrix)>>>);

impl Cache {
    fn get(&self, product: &str) -> Option<Matrix> {
        let map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.get(product)
            .filter(|(at, _)| at.elapsed() < CACHE_FOR)
            .map(|(_, m)| m.clone())
    }

    fn put(&self, m: &Matrix) {
        let mut map = self.0.lock().unwrap_or_else(|p| p.into_inner());
        map.insert(m.product.clone(), (tokio::time::Instant::now(), m.clone()));
    }

    fn forget(&self, product: &str) {
        self.0
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .remove(product);
    }
}

impl Promoter {
    /// The environment matrix of `product` (cached [`CACHE_FOR`]); Gate failing or slower than
    /// [`GATE_WAIT`] gives a matrix with `gate_error` set, not an error.
    pub async fn matrix(&self, product: &str) -> Result<Matrix, PromoteError> {
        let p = self.product(product)?;
        if let Some(m) = self.matrices.get(product) {
            return Ok(m);
        }
        let delivered = self.store.delivered().await?;
        let history = match tokio::time::timeout(
            GATE_WAIT,
            super::rule::history(&self.gate, product),
        )
        .await
        {
            Ok(Ok(h)) => Ok(h),
            Ok(Err(e)) => Err(format!("Spinnaker Gate: {}", baton_http::chain(&e))),
            Err(_) => Err(format!(
                "Spinnaker Gate did not answer within {GATE_WAIT:?}"
            )),
        };
        let m = build(
            p,
            &delivered,
            history.as_deref().map_err(String::as_str),
            self.clock.now(),
        );
        self.matrices.put(&m);
        Ok(m)
    }

    /// Drops the cached matrix of `product` (after a judgment changed it).
    pub(super) fn forget_matrix(&self, product: &str) {
        self.matrices.forget(product);
    }
}
