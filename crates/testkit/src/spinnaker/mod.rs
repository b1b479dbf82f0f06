//! A stand-in for Spinnaker: Gate's HTTP API, Echo's webhook triggering and the parts of
//! Orca that baton observes. Binary: `fake-spinnaker`. Full notes: `crates/testkit/SPINNAKER.md`.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use std::time::Duration;
//! use testkit::spinnaker::FakeSpinnaker;
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let fake = FakeSpinnaker::builder()
//!     .match_delay(Duration::from_millis(50))
//!     .start(listener)
//!     .await?;
//! println!("Gate at {}", fake.url());
//! # Ok(()) }
//! ```
//!
//! # What it models (source in the spinnaker/spinnaker monorepo)
//! - `POST /webhooks/webhook/{source}` answers `200 {"eventProcessed":true,"eventId":...}`
//!   at once and matches later (echo `WebhooksController`; the delay stands for Echo's
//!   pipeline cache and async event handling). Body must be a JSON object (400) sent as
//!   `application/json` (415).
//! - Trigger selection (echo `WebhookEventHandler`): enabled, type exactly `webhook`, source
//!   equal case-sensitively, each `payloadConstraints` regex FOUND (unanchored) in the
//!   top-level payload value's Java `toString()`, missing/null key fails (echo
//!   `ArtifactMatcher.isConstraintInPayload`). Then the artifact gate
//!   (`anyArtifactsMatchExpected`): no `expectedArtifactIds` passes, else one posted artifact
//!   must match one of those expected artifacts.
//! - Expected-artifact matching (kork `ExpectedArtifact.matches`): type/name/version/location/
//!   reference, empty = any, equal or FULL regex match, embedded/base64 ~ remote/base64.
//! - Start-up resolution (orca `ArtifactUtils.resolveArtifacts` + `ArtifactResolver`,
//!   requireUniqueMatches = true): two matches -> execution TERMINAL, `canceled`,
//!   `canceledBy: system`, `cancellationReason: "Failed on startup: Expected artifact ...
//!   matches multiple artifacts ..."`; none and no default -> "... could not be resolved."
//!   (orca `ExecutionLauncher.handleStartupFailure`).
//! - Stages run on a virtual clock as a DAG of `refId`/`requisiteStageRefIds`; bake and
//!   deploy succeed after `stage_duration` unless a [`FailRule`] says otherwise; other stage
//!   types just succeed; `manualJudgment` stays RUNNING until `PATCH
//!   /pipelines/{id}/stages/{stageId}` sets `judgmentStatus` (case-insensitive `continue` ->
//!   SUCCEEDED, `stop` -> TERMINAL; orca `ManualJudgmentStage`); the PATCH merges the body
//!   into the context, sets `lastModifiedBy` and returns the execution (orca
//!   `TaskController.updatePipelineStage`); the status changes on the next clock step.
//! - A TERMINAL stage fails the execution (unless `failPipeline: false` -> FAILED_CONTINUE).
//! - `limitConcurrent` (absent = false, orca `ExecutionLauncher`) queues later executions as
//!   NOT_STARTED; `keepWaitingPipelines: false` keeps only the newest waiting one (others
//!   CANCELED); `true` starts them oldest first.
//! - `GET /applications/{app}/pipelines` returns up to `limit` (default 5) executions per
//!   pipeline config, newest first (orca `TaskController`).
//! - Gate auth: none, Basic, Bearer, form login (`POST /login` -> 302 + `SESSION` cookie,
//!   `/login?error` on failure); 401 kork bodies. Errors are kork-shaped
//!   `{timestamp,status,error,exception,message}`.
//!
//! # What it knowingly does not model
//! Fiat permissions, front50 validation beyond application+name, SpEL, pipeline templates,
//! Echo's JsonPath constraint fallback, prior-execution artifacts (`usePriorArtifact`),
//! Java-vs-Rust regex dialect differences, real Helm rendering (a bake "renders" a comment
//! listing the chart and values digests), real Kubernetes, non-webhook triggers, pause/
//! resume, stage restarts, X.509 client certificates (it serves plain HTTP), and Gate's
//! `/pipelines/v2` Echo-routed start.

mod echo;
mod gate;
mod handle;
mod orca;
mod queries;
mod routes;
pub mod sample;
mod stages;
mod state;

use std::sync::{Arc, Mutex, MutexGuard};

pub use handle::{FakeSpinnaker, FakeSpinnakerBuilder};
pub use state::{
    ArtifactContent, Bake, Deployment, FailRule, Fault, FaultKind, GateAuth, RecordedRequest,
};

/// Shared handle to the state.
#[derive(Clone, Debug)]
pub(crate) struct Shared(Arc<Mutex<state::State>>);

impl Shared {
    pub(crate) fn lock(&self) -> MutexGuard<'_, state::State> {
        self.0
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }
}
