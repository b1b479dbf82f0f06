//! Orca: starting executions, resolving their artifacts, running stages on the virtual clock,
//! judgments, cancellation and `limitConcurrent` / `keepWaitingPipelines`.

use std::collections::BTreeMap;

use serde_json::{Map, Value};
use spinnaker_client::model::execution::{
    Execution, ExecutionStatus, ExecutionTrigger, StageContext, StageExecution,
};
use spinnaker_client::model::pipeline::PipelineConfig;

use super::kork::KArtifact;
use super::resolve;
use super::stages;
use super::state::{Run, State};

/// Starts an execution of `config` (Orca's `ExecutionLauncher.start`): resolves the
/// trigger's expected artifacts ([`super::resolve`]) and fails on startup when that throws.
pub(crate) fn launch(
    state: &mut State,
    config: &PipelineConfig,
    expected_ids: &[String],
    received: &[Option<KArtifact>],
    mut exec_trigger: ExecutionTrigger,
) -> String {
    let id = state.new_ulid();
    let now = state.epoch_ms();
    let resolution = super::echo::expected_of(config)
        .and_then(|expected| resolve::resolve(expected_ids, &expected, received));
    let mut stages_out = Vec::new();
    for stage in config.stages() {
        let mut context = match serde_json::to_value(stage) {
            Ok(Value::Object(m)) => m,
            _ => Map::new(),
        };
        for key in ["refId", "type", "name", "requisiteStageRefIds"] {
            context.remove(key);
        }
        stages_out.push(StageExecution {
            id: state.new_ulid(),
            ref_id: Some(stage.ref_id.clone()),
            stage_type: stage.stage_type.clone(),
            name: stage.name.clone(),
            status: ExecutionStatus::NotStarted,
            context: StageContext {
                extra: context,
                ..StageContext::default()
            },
            outputs: Some(Map::new()),
            tasks: Some(Vec::new()),
            requisite_stage_ref_ids: Some(stage.requisites().to_vec()),
            start_time: None,
            end_time: None,
            extra: Map::new(),
        });
    }
    let bound = resolve::store(&resolution, received, &mut exec_trigger);
    let mut exec = Execution {
        id: id.clone(),
        application: config.application.clone(),
        name: Some(config.name.clone()),
        pipeline_config_id: config.id.clone(),
        status: ExecutionStatus::NotStarted,
        trigger: exec_trigger,
        stages: stages_out,
        build_time: Some(now),
        start_time: None,
        end_time: None,
        canceled: Some(false),
        canceled_by: None,
        cancellation_reason: None,
        execution_type: Some("PIPELINE".into()),
        limit_concurrent: Some(config.limits_concurrency()),
        keep_waiting_pipelines: Some(config.keep_waiting_pipelines.unwrap_or(false)),
        extra: [("origin".to_owned(), Value::from("api"))]
            .into_iter()
            .collect(),
    };
    if let Err(message) = resolution {
        // ExecutionLauncher.handleStartupFailure: TERMINAL, then canceled by "system".
        exec.status = ExecutionStatus::Terminal;
        exec.canceled = Some(true);
        exec.canceled_by = Some("system".into());
        exec.cancellation_reason = Some(format!("Failed on startup: {message}"));
        exec.end_time = Some(now);
    }
    let run = Run {
        exec,
        config: config.clone(),
        bound,
        produced: BTreeMap::new(),
        due: BTreeMap::new(),
    };
    state.runs.push(run);
    id
}

fn is_active(status: &ExecutionStatus) -> bool {
    matches!(status, ExecutionStatus::Running | ExecutionStatus::Paused)
}

/// Starts queued executions whose pipeline has room (Orca's concurrency rules).
fn start_queued(state: &mut State) -> bool {
    let mut changed = false;
    let now = state.epoch_ms();
    let config_ids: Vec<Option<String>> = state
        .runs
        .iter()
        .filter(|r| r.exec.status == ExecutionStatus::NotStarted)
        .map(|r| r.exec.pipeline_config_id.clone())
        .collect();
    for config_id in config_ids {
        let same = |r: &Run| r.exec.pipeline_config_id == config_id;
        let limited = state
            .runs
            .iter()
            .find(|r| same(r))
            .is_some_and(|r| r.config.limits_concurrency());
        let busy = state
            .runs
            .iter()
            .any(|r| same(r) && is_active(&r.exec.status));
        let queued: Vec<usize> = (0..state.runs.len())
            .filter(|&i| {
                same(&state.runs[i]) && state.runs[i].exec.status == ExecutionStatus::NotStarted
            })
            .collect();
        let Some(&newest) = queued.last() else {
            continue;
        };
        let keep = state.runs[newest]
            .config
            .keep_waiting_pipelines
            .unwrap_or(false);
        if limited && !keep {
            // Only the newest waiting execution survives.
            for &i in &queued[..queued.len() - 1] {
                let e = &mut state.runs[i].exec;
                e.status = ExecutionStatus::Canceled;
                e.canceled = Some(true);
                e.canceled_by = Some("spinnaker".into());
                e.cancellation_reason = Some(
                    "This execution was queued but then canceled because a newer queued execution superseded it. This pipeline is configured to automatically cancel waiting executions.".into(),
                );
                e.end_time = Some(now);
                changed = true;
            }
        }
        let to_start: Vec<usize> = if !limited {
            queued
        } else if busy {
            Vec::new()
        } else if keep {
            queued.into_iter().take(1).collect()
        } else {
            vec![newest]
        };
        for i in to_start {
            let e = &mut state.runs[i].exec;
            e.status = ExecutionStatus::Running;
            e.start_time = Some(now);
            changed = true;
        }
    }
    changed
}

/// Advances everything that is due at the current virtual time until nothing changes.
pub(crate) fn step(state: &mut State) {
    loop {
        let mut changed = super::echo::process_due_events(state);
        changed |= start_queued(state);
        for i in 0..state.runs.len() {
            if state.runs[i].exec.status == ExecutionStatus::Running {
                changed |= step_run(state, i);
            }
        }
        if !changed {
            break;
        }
    }
}

fn step_run(state: &mut State, i: usize) -> bool {
    let mut changed = false;
    let now_ms = state.now_ms;
    let epoch = state.epoch_ms();
    let duration = state.settings.stage_duration.as_millis() as u64;
    let n = state.runs[i].exec.stages.len();
    for s in 0..n {
        let run = &mut state.runs[i];
        let stage = &run.exec.stages[s];
        let is_judgment = stage.stage_type == "manualJudgment";
        match stage.status.clone() {
            ExecutionStatus::NotStarted => {
                let ready = stage.requisite_stage_ref_ids.iter().flatten().all(|r| {
                    run.exec.stages.iter().any(|o| {
                        o.ref_id.as_deref() == Some(r.as_str()) && o.status.lets_downstream_run()
                    })
                });
                if ready {
                    let stage = &mut run.exec.stages[s];
                    stage.status = ExecutionStatus::Running;
                    stage.start_time = Some(epoch);
                    if !is_judgment {
                        run.due.insert(s, now_ms + duration);
                    }
                    changed = true;
                }
            }
            ExecutionStatus::Running if is_judgment => {
                let verdict = stage
                    .context
                    .judgment_status
                    .as_deref()
                    .map(str::to_lowercase);
                let status = match verdict.as_deref() {
                    Some("continue") => ExecutionStatus::Succeeded,
                    Some("stop") => ExecutionStatus::Terminal,
                    _ => continue,
                };
                finish_stage(state, i, s, status, None);
                changed = true;
            }
            ExecutionStatus::Running if run.due.get(&s).is_some_and(|&d| d <= now_ms) => {
                run.due.remove(&s);
                let (status, failure) = stages::run_stage(state, i, s);
                finish_stage(state, i, s, status, failure);
                changed = true;
            }
            _ => {}
        }
    }
    changed | settle(state, i)
}

fn finish_stage(
    state: &mut State,
    i: usize,
    s: usize,
    mut status: ExecutionStatus,
    failure: Option<String>,
) {
    let epoch = state.epoch_ms();
    let stage = &mut state.runs[i].exec.stages[s];
    if status == ExecutionStatus::Terminal {
        // orca `StageExecution.failureStatus`: continuePipeline -> FAILED_CONTINUE,
        // failPipeline (default true) -> TERMINAL, otherwise STOPPED.
        let flag = |key: &str| stage.context.extra.get(key).and_then(Value::as_bool);
        status = if flag("continuePipeline") == Some(true) {
            ExecutionStatus::FailedContinue
        } else if flag("failPipeline").unwrap_or(true) {
            ExecutionStatus::Terminal
        } else {
            ExecutionStatus::Stopped
        };
    }
    stage.status = status;
    stage.end_time = Some(epoch);
    if let Some(message) = failure {
        stage.context.extra.insert(
            "exception".into(),
            serde_json::json!({"details": {"errors": [message]}}),
        );
    }
}

/// Sets the execution's status from its stages (orca `CompleteExecutionHandler`): a TERMINAL
/// stage ends it TERMINAL; once nothing runs or can start, it is SUCCEEDED (STOPPED branches
/// count as success). True if it finished now.
fn settle(state: &mut State, i: usize) -> bool {
    let epoch = state.epoch_ms();
    let exec = &mut state.runs[i].exec;
    let failed = exec
        .stages
        .iter()
        .any(|s| s.status == ExecutionStatus::Terminal);
    // A CANCELED stage (an ABORTED Jenkins build) cancels the execution.
    let canceled = exec
        .stages
        .iter()
        .any(|s| s.status == ExecutionStatus::Canceled);
    let startable = |st: &StageExecution| {
        st.status == ExecutionStatus::NotStarted
            && st.requisite_stage_ref_ids.iter().flatten().all(|r| {
                exec.stages.iter().any(|o| {
                    o.ref_id.as_deref() == Some(r.as_str()) && o.status.lets_downstream_run()
                })
            })
    };
    let progressing = exec
        .stages
        .iter()
        .any(|st| st.status == ExecutionStatus::Running || startable(st));
    if !failed && !canceled && progressing {
        return false;
    }
    for stage in &mut exec.stages {
        if stage.status == ExecutionStatus::Running {
            stage.status = ExecutionStatus::Canceled;
            stage.end_time = Some(epoch);
        }
    }
    exec.status = if failed {
        ExecutionStatus::Terminal
    } else if canceled {
        ExecutionStatus::Canceled
    } else {
        ExecutionStatus::Succeeded
    };
    exec.end_time = Some(epoch);
    true
}

/// `PUT /pipelines/{id}/cancel`.
pub(crate) fn cancel(state: &mut State, id: &str, user: &str, reason: Option<String>) -> bool {
    let epoch = state.epoch_ms();
    let Some(run) = state.runs.iter_mut().find(|r| r.exec.id == id) else {
        return false;
    };
    let exec = &mut run.exec;
    if !exec.status.is_complete() {
        exec.status = ExecutionStatus::Canceled;
        exec.end_time = Some(epoch);
        for stage in &mut exec.stages {
            if stage.status == ExecutionStatus::Running {
                stage.status = ExecutionStatus::Canceled;
                stage.end_time = Some(epoch);
            }
        }
    }
    exec.canceled = Some(true);
    exec.canceled_by = Some(user.to_owned());
    exec.cancellation_reason = reason;
    true
}
