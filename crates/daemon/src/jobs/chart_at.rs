//! Which commit a chart sync reads: the branch head (polls, plain syncs), the commit a signed
//! push names (issue 13: no `ls-refs`, only the files the push changed), or the commit an
//! operator names with `sync --commit` (it must be on the branch, else the API answers 422).
//!
//! A push is verified by fetching its commit by id from the watched remote: the remote must
//! hold it, and the webhook's signature vouches that it is the branch's new head (a server
//! that refuses requests by id gets the full check: the commit must be reachable from the
//! branch head). A push naming a commit the remote does not hold is refused with a warning
//! and a `chart` event, and the branch head is checked instead. A push naming a commit older
//! than the one observed (a late delivery) changes nothing.

use std::sync::{Arc, Mutex};

use baton_sources::CheckOutcome;
use baton_sources::git::{AtCommit, GitObservation, History, OnBranch};
use tokio::sync::oneshot;

use super::{ChartSync, ChartTrigger};
use crate::jobs::context::JobContext;

/// What a signed push webhook said about the chart source's branch.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Pushed {
    /// The webhook delivery id (for logs and events).
    pub delivery_id: String,
    /// The branch's new head.
    pub after: String,
    /// The head before the push, when the host says.
    pub before: Option<String>,
    /// The paths the pushed commits touched, when the host listed them all.
    pub changed: Option<Vec<String>>,
}

/// The answer to an operator who named a commit: `Ok` once the commit was found on the
/// branch, `Err(message)` if it is not. Sent at most once; clones share the one sender.
#[derive(Debug, Clone, Default)]
pub struct Verdict(Arc<Mutex<Option<Answer>>>);

/// Where a [`Verdict`] goes.
type Answer = oneshot::Sender<Result<(), String>>;

impl Verdict {
    /// A verdict and the receiver the API waits on.
    pub fn channel() -> (Self, oneshot::Receiver<Result<(), String>>) {
        let (tx, rx) = oneshot::channel();
        (Self(Arc::new(Mutex::new(Some(tx)))), rx)
    }

    /// Sends `result` if nobody has yet.
    pub fn send(&self, result: Result<(), String>) {
        let sender = self.0.lock().unwrap_or_else(|e| e.into_inner()).take();
        if let Some(tx) = sender {
            let _ = tx.send(result);
        }
    }
}

/// Verdicts carry no data to compare: two jobs are the same job whatever their reply channel.
impl PartialEq for Verdict {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for Verdict {}

impl ChartSync {
    /// The chart source's observation for `trigger`, and whether its commit moved.
    pub(super) async fn observe_git(
        &self,
        ctx: &JobContext,
        trigger: &ChartTrigger,
        last: Option<&GitObservation>,
    ) -> anyhow::Result<(GitObservation, bool)> {
        let name = &self.product.name;
        match trigger {
            ChartTrigger::Hook(push) if is_full_id(&push.after) => {
                // The push's file list covers the files changed since `before`: usable only
                // if `before` is what was observed last.
                let follows = last.and_then(|l| l.commit.as_deref()).is_some_and(|c| {
                    push.before
                        .as_deref()
                        .is_some_and(|b| b.eq_ignore_ascii_case(c))
                });
                let at = AtCommit {
                    commit: push.after.clone(),
                    check: OnBranch::Pushed,
                    changed: push.changed.clone().filter(|_| follows),
                };
                match self.watch.observe_at(&self.git, last, &at).await {
                    Ok(obs) if obs.history == Some(History::Behind) => {
                        tracing::info!(product = %name, delivery = %push.delivery_id, commit = %push.after,
                            "push names a commit older than the one observed; ignored");
                        Ok((last.cloned().unwrap_or(obs), false))
                    }
                    Ok(obs) => {
                        let moved = last.is_none_or(|l| l.commit != obs.commit);
                        Ok((obs, moved))
                    }
                    Err(e) => {
                        let detail = format!(
                            "push {} refused: {}; checked the branch head instead",
                            push.delivery_id,
                            baton_http::chain(&e)
                        );
                        tracing::warn!(product = %name, delivery = %push.delivery_id, "{detail}");
                        self.note(ctx, None, &push.after, &detail).await?;
                        self.observe_head(last).await
                    }
                }
            }
            ChartTrigger::Manual {
                commit: Some(commit),
                verdict,
                ..
            } => {
                let at = AtCommit {
                    commit: commit.clone(),
                    check: OnBranch::Reachable,
                    changed: None,
                };
                match self.watch.observe_at(&self.git, last, &at).await {
                    Ok(obs) => {
                        verdict.send(Ok(()));
                        let moved = last.is_none_or(|l| l.commit != obs.commit);
                        Ok((obs, moved))
                    }
                    Err(e) => {
                        let why = baton_http::chain(&e);
                        verdict.send(Err(why.clone()));
                        Err(anyhow::anyhow!("chart source of {name}: {why}"))
                    }
                }
            }
            _ => self.observe_head(last).await,
        }
    }

    /// The branch head, through `ls-refs` and a fetch when it moved.
    async fn observe_head(
        &self,
        last: Option<&GitObservation>,
    ) -> anyhow::Result<(GitObservation, bool)> {
        let name = &self.product.name;
        match self.watch.check(&self.git, last).await.outcome {
            CheckOutcome::Error { message, .. } => {
                anyhow::bail!("chart source of {name}: {message}")
            }
            CheckOutcome::Changed { new, .. } => Ok((new, true)),
            CheckOutcome::Unchanged { current } => Ok((current, false)),
        }
    }
}

fn is_full_id(commit: &str) -> bool {
    matches!(commit.len(), 40 | 64) && commit.bytes().all(|b| b.is_ascii_hexdigit())
}
