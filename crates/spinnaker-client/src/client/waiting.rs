//! Deadlines around eventual consistency, and manual judgments.

use std::time::Duration;

use reqwest::Method;
use serde_json::{Map, Value};
use tokio::time::Instant;

use super::Client;
use crate::error::Error;
use crate::model::decode;
use crate::model::execution::{Execution, ExecutionStatus};

/// A manual judgment.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Judgment {
    /// `continue`: the stage succeeds and the pipeline goes on.
    Continue,
    /// `stop`: the stage ends TERMINAL (and the pipeline with it if `failPipeline`).
    Stop,
}

impl Judgment {
    /// The `judgmentStatus` value.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Continue => "continue",
            Self::Stop => "stop",
        }
    }
}

/// The judgment that was given.
#[derive(Clone, Debug, PartialEq)]
pub struct JudgmentGiven {
    /// Execution id.
    pub execution_id: String,
    /// The manualJudgment stage's id.
    pub stage_id: String,
    /// The execution as Orca answered the PATCH.
    pub execution: Execution,
}

impl Client {
    /// Polls `check` every `poll` until it yields `Some`, or fails with [`Error::Deadline`]
    /// after `timeout`. Errors from `check` end the wait.
    async fn poll_until<T, F, Fut>(
        &self,
        what: &str,
        timeout: Duration,
        poll: Duration,
        mut check: F,
    ) -> Result<T, Error>
    where
        F: FnMut() -> Fut,
        Fut: Future<Output = Result<(Option<T>, String), Error>>,
    {
        let started = Instant::now();
        let deadline = started + timeout;
        loop {
            let (found, seen) = check().await?;
            if let Some(found) = found {
                return Ok(found);
            }
            let now = Instant::now();
            if now >= deadline {
                return Err(Error::Deadline {
                    what: what.to_owned(),
                    waited_ms: (now - started).as_millis(),
                    last_seen: seen,
                });
            }
            tokio::time::sleep(poll.min(deadline - now)).await;
        }
    }

    /// Waits until the event started at least one execution in `application`.
    pub async fn wait_for_event_executions(
        &self,
        application: &str,
        event_id: &str,
        timeout: Duration,
        poll: Duration,
    ) -> Result<Vec<Execution>, Error> {
        let what = format!("executions of event {event_id} in {application}");
        self.poll_until(&what, timeout, poll, || async {
            let found = self.find_executions_by_event(application, event_id).await?;
            Ok((
                (!found.is_empty()).then_some(found),
                "no execution yet".into(),
            ))
        })
        .await
    }

    /// Waits until the execution reaches a final status; returns it.
    pub async fn wait_for_execution(
        &self,
        execution_id: &str,
        timeout: Duration,
        poll: Duration,
    ) -> Result<Execution, Error> {
        let what = format!("execution {execution_id} to finish");
        self.wait_until(execution_id, &what, timeout, poll, |e| {
            e.status.is_complete()
        })
        .await
    }

    /// Waits until the execution has a RUNNING manualJudgment stage, or has finished.
    pub async fn wait_for_judgment(
        &self,
        execution_id: &str,
        timeout: Duration,
        poll: Duration,
    ) -> Result<Execution, Error> {
        let what = format!("a pending judgment in execution {execution_id}");
        self.wait_until(execution_id, &what, timeout, poll, |e| {
            e.pending_judgment().is_some() || e.status.is_complete()
        })
        .await
    }

    /// Polls the execution until `done` holds for it (`what` names the wait in the error).
    async fn wait_until(
        &self,
        execution_id: &str,
        what: &str,
        timeout: Duration,
        poll: Duration,
        done: impl Fn(&Execution) -> bool,
    ) -> Result<Execution, Error> {
        self.poll_until(what, timeout, poll, || async {
            let e = self.execution(execution_id).await?;
            let seen = format!("status {}", e.status);
            Ok((done(&e).then_some(e), seen))
        })
        .await
    }

    /// Gives the manual judgment of the execution's RUNNING manualJudgment stage:
    /// `PATCH /pipelines/{id}/stages/{stageId}` with `{"judgmentStatus", "judgmentInput"?}`.
    pub async fn judge(
        &self,
        execution_id: &str,
        judgment: Judgment,
        input: Option<&str>,
    ) -> Result<JudgmentGiven, Error> {
        let execution = self.execution(execution_id).await?;
        let Some(stage) = execution.pending_judgment() else {
            return Err(Error::NoPendingJudgment {
                execution_id: execution_id.to_owned(),
                status: execution.status.to_string(),
            });
        };
        let stage_id = stage.id.clone();
        self.judge_stage(execution_id, &stage_id, judgment, input)
            .await
    }

    /// Gives a manual judgment to a known stage: `PATCH /pipelines/{id}/stages/{stageId}`
    /// with `{"judgmentStatus", "judgmentInput"?}`. Orca applies it asynchronously: the stage
    /// changes status on its next run, so the returned execution may still show RUNNING.
    pub async fn judge_stage(
        &self,
        execution_id: &str,
        stage_id: &str,
        judgment: Judgment,
        input: Option<&str>,
    ) -> Result<JudgmentGiven, Error> {
        let mut body = Map::new();
        body.insert("judgmentStatus".into(), judgment.as_str().into());
        if let Some(input) = input {
            body.insert("judgmentInput".into(), input.into());
        }
        let url = self.url(&["pipelines", execution_id, "stages", stage_id], &[]);
        let answer = self
            .send(Method::PATCH, url, Some(&Value::Object(body)))
            .await?;
        let execution = decode("execution after judgment", &answer)?;
        Ok(JudgmentGiven {
            execution_id: execution_id.to_owned(),
            stage_id: stage_id.to_owned(),
            execution,
        })
    }

    /// RUNNING executions of `application` (optionally only pipeline `pipeline_name`) that
    /// wait for a manual judgment, newest first.
    pub async fn pending_judgments(
        &self,
        application: &str,
        pipeline_name: Option<&str>,
    ) -> Result<Vec<Execution>, Error> {
        let running = self
            .executions(application, Some(25), &[ExecutionStatus::Running])
            .await?;
        Ok(running
            .into_iter()
            .filter(|e| pipeline_name.is_none_or(|n| e.name.as_deref() == Some(n)))
            .filter(|e| e.pending_judgment().is_some())
            .collect())
    }
}
