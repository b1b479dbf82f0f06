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
//! # What it models (sources: spinnaker/echo, orca, kork, gate)
//! - `POST /webhooks/webhook/{source}` answers `200 {"eventProcessed":true,"eventId":...}`
//!   at once and matches `match_delay` later (echo `WebhooksController`); open without
//!   credentials unless [`FakeSpinnakerBuilder::webhook_auth`] (gate `AuthConfig`); an empty
//!   body is `{}`, `application/json` and `application/*+json` are read, other types get 415.
//! - Echo's pipeline cache (`PipelineCache`): matching sees front50 as of the last poll, at
//!   start and every [`FakeSpinnakerBuilder::cache_refresh`] (default 30 s, as Echo).
//! - Echo's rules, written here from Echo's source and not shared with spinnaker-client
//!   (`echo_rules`, `kork`, `java`): Jackson reading of the event (one unreadable artifact
//!   drops the whole event; numbers read as text), enabled `webhook` triggers, source equal
//!   case-sensitively, every `payloadConstraints` regex FOUND in the value's Java
//!   `toString()` or through a JsonPath, the artifact gate, Java regex semantics
//!   (fancy-regex), one execution per distinct matching trigger.
//! - Orca's start-up resolution (`ArtifactResolver`, requireUniqueMatches, the received
//!   artifacts as a set): two matches or none -> TERMINAL, canceled by `system`, `Failed on
//!   startup: ...` (`ExecutionLauncher.handleStartupFailure`).
//! - Stages as a DAG on a controllable clock: bake records the chart and values bytes, deploy
//!   records them under application + namespace, manualJudgment waits for the PATCH (which
//!   sets the stage's `lastModified`), failure statuses, final status, `limitConcurrent` and
//!   `keepWaitingPipelines` queues.
//! - Execution search paging, per-config list limits, pipeline save, start, cancel, health;
//!   auth none / Basic / Bearer / form login; HTTPS with client certificates
//!   ([`TlsSettings`]); request recording and fault injection ([`Fault`]).
//!
//! The table of cases it is checked against (with spinnaker-client and `baton explain`) is
//! [`cases`]. What it knowingly does not model, with reasons: `crates/testkit/SPINNAKER.md`.

pub mod cases;
mod echo;
mod echo_rules;
mod gate;
mod handle;
mod java;
mod jenkins;
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
pub use jenkins::{JenkinsBuild, JenkinsRule};
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
