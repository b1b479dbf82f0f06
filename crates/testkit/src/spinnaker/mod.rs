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
//!   at once and matches `match_delay` later (echo `WebhooksController`). 400 for a body that
//!   is not a JSON object, 415 for a non-JSON content type, kork-shaped error bodies.
//! - Echo's trigger selection (`WebhookEventHandler`, `ArtifactMatcher`): enabled, type
//!   exactly `webhook`, source equal case-sensitively, every `payloadConstraints` regex FOUND
//!   (unanchored) in the top-level value's Java `toString()`, with the JsonPath fallback for
//!   keys missing at the top level; then the artifact gate (one posted artifact matches an
//!   expected artifact listed in `expectedArtifactIds`).
//! - Orca's start-up resolution with requireUniqueMatches (`ArtifactResolver`): two matches or
//!   none -> TERMINAL, canceled by `system`, `Failed on startup: ...`
//!   (`ExecutionLauncher.handleStartupFailure`).
//! - Stages as a DAG on a controllable clock: bake records the chart and values bytes, deploy
//!   records them under application + namespace, manualJudgment waits for the PATCH
//!   (`TaskController.updatePipelineStage`, `ManualJudgmentStage`), failure statuses per
//!   `Stage.failureStatus`, final status per `CompleteExecutionHandler`, `limitConcurrent` and
//!   `keepWaitingPipelines` queues.
//! - Execution search paging and unexpanded results, per-config list limits, pipeline save,
//!   start, cancel, health; auth none / Basic / Bearer / form login with a session cookie;
//!   HTTPS with required client certificates ([`TlsSettings`]); request recording and fault
//!   injection ([`Fault`]).
//!
//! # What it knowingly does not model
//! Fiat, SpEL, templates, non-webhook triggers, `usePriorArtifact`, JsonPath beyond dotted
//! paths, Java-vs-Rust regex dialect differences, real Helm rendering and Kubernetes, tasks,
//! pause/resume/restart, artifact storage (`ref://`), mapping a client certificate to a user, Echo's cache
//! refresh cycle (each event is matched exactly `match_delay` after acceptance). Details and
//! the source file of every fact: `crates/testkit/SPINNAKER.md`.

pub mod cases;
mod echo;
mod echo_rules;
mod gate;
mod handle;
mod java;
mod kork;
mod orca;
mod queries;
mod resolve;
mod routes;
pub mod sample;
mod stages;
mod state;
mod tls;

use std::sync::{Arc, Mutex, MutexGuard};

pub use handle::{DEFAULT_CACHE_REFRESH, FakeSpinnaker, FakeSpinnakerBuilder};
pub use state::{
    ArtifactContent, Bake, Deployment, FailRule, Fault, FaultKind, GateAuth, RecordedRequest,
};
pub use tls::TlsSettings;

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
