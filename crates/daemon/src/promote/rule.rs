//! The promotion rule by artifact (issue 16): continuing ENV is allowed when the environment
//! before it (in `environments:` order) has a SUCCEEDED execution that ran the same chart
//! digest (and, when an image event started the waiting execution, the same image digest),
//! whatever the values. Values are per environment by design, so a staging-only values
//! change is promoted without `--force` once dev succeeded with that chart.
//!
//! The rule is one pure function of the executions Gate lists ([`decide`]); `baton promote`
//! asks Gate afresh ([`history`]) and the environment matrix uses its cached listing, so the
//! two always agree.

use spinnaker_client::Client;
use spinnaker_client::model::execution::{Execution, ExecutionStatus};

use super::artifacts::Ran;
use super::pipeline_name;
use baton_core::config::model::Product;
use baton_core::pipelines::render::image_id;

/// SUCCEEDED executions listed per pipeline when looking for the artifact in the environment
/// before (Gate's `limit` counts per pipeline config).
pub const SUCCEEDED_PER_PIPELINE: u32 = 25;
/// Executions of any status listed per pipeline (the running, waiting and newest ones).
pub const RECENT_PER_PIPELINE: u32 = 5;

/// The environment whose pipeline `pipeline` is: `<app>-deploy-<env>`, and for the first
/// environment also the image pipelines (`<app>-image-<image>` rolls images into it).
pub fn environment_of<'a>(p: &'a Product, pipeline: &str) -> Option<&'a str> {
    if let Some(env) = p
        .environments
        .iter()
        .find(|e| pipeline_name(&p.name, e) == pipeline)
    {
        return Some(env);
    }
    let first = p.environments.first()?;
    p.images
        .iter()
        .any(|i| image_id(&p.name, &i.name) == pipeline)
        .then_some(first.as_str())
}

/// The product's recent executions from Gate: the newest SUCCEEDED ones and the newest of any
/// status, per pipeline, without duplicates (two calls).
pub async fn history(gate: &Client, app: &str) -> Result<Vec<Execution>, spinnaker_client::Error> {
    let (succeeded, recent) = tokio::try_join!(
        gate.executions(
            app,
            Some(SUCCEEDED_PER_PIPELINE),
            &[ExecutionStatus::Succeeded]
        ),
        gate.executions(app, Some(RECENT_PER_PIPELINE), &[]),
    )?;
    let mut all = recent;
    for x in succeeded {
        if !all.iter().any(|y| y.id == x.id) {
            all.push(x);
        }
    }
    Ok(all)
}

/// Why continuing is refused: in words, and the artifacts on both sides.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    /// The reason, naming the artifact wanted and what was found in the environment before.
    pub reason: String,
}

/// Whether `waiting` (an execution of `env`'s pipeline) may continue, given `history` (the
/// product's executions Gate listed). `Ok` for the first environment.
pub fn decide(
    p: &Product,
    env: &str,
    waiting: &Execution,
    history: &[Execution],
) -> Result<(), Refusal> {
    let Some(index) = p.environments.iter().position(|e| e == env) else {
        return Ok(());
    };
    if index == 0 {
        return Ok(());
    }
    let before = p.environments[index - 1].as_str();
    let wanted = Ran::of(waiting, env);
    if wanted.is_empty() {
        return Err(Refusal {
            reason: format!(
                "execution {} ran no chart or image baton can identify in its trigger \
                 artifacts, so baton cannot tell whether {before} ran it",
                waiting.id
            ),
        });
    }
    let mut there: Vec<&Execution> = history
        .iter()
        .filter(|x| x.name.as_deref().and_then(|n| environment_of(p, n)) == Some(before))
        .collect();
    there.sort_by_key(|x| std::cmp::Reverse(x.build_time.unwrap_or(0)));
    let ran = |x: &Execution| Ran::of(x, before);
    if there
        .iter()
        .any(|x| x.status == ExecutionStatus::Succeeded && wanted.same_artifact(&ran(x)))
    {
        return Ok(());
    }
    let mut reason = format!(
        "{before} has no SUCCEEDED execution of {}",
        wanted.describe()
    );
    // What was found there: the same artifact not (yet) succeeded, and the last success.
    if let Some(x) = there.iter().find(|x| wanted.same_artifact(&ran(x))) {
        let waiting = if x.pending_judgment().is_some() {
            ", waiting for its judgment"
        } else {
            ""
        };
        reason.push_str(&format!(
            "; execution {} of {} ran it and is {}{waiting}",
            x.id,
            x.name.as_deref().unwrap_or("?"),
            x.status
        ));
    }
    match there
        .iter()
        .find(|x| x.status == ExecutionStatus::Succeeded)
    {
        Some(x) => reason.push_str(&format!(
            "; found in {before}: {} (execution {} of {}, SUCCEEDED)",
            ran(x).describe(),
            x.id,
            x.name.as_deref().unwrap_or("?")
        )),
        None => reason.push_str(&format!(
            "; found in {before}: no SUCCEEDED execution among the newest {SUCCEEDED_PER_PIPELINE} \
             per pipeline"
        )),
    }
    Err(Refusal { reason })
}
