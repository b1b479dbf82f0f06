//! A stand-in for Jenkins that answers the REST calls baton makes as the real server does.
//!
//! Jenkins cannot be installed on our machines, so this server models the parts of it that
//! baton and `jenkins-client` use, with the status codes, headers and JSON shapes of
//! jenkinsci/jenkins (sources named in each module and in `crates/testkit/JENKINS.md`).
//!
//! ```no_run
//! # async fn demo() -> Result<(), Box<dyn std::error::Error>> {
//! use testkit::jenkins::{FakeJenkins, JobSpec, ParamSpec, UserSpec};
//! let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await?;
//! let jenkins = FakeJenkins::builder()
//!     .user(UserSpec::new("baton", "test-token"))
//!     .job(JobSpec::new("micro-gw/petstore-image").param(ParamSpec::string("BASE_DIGEST", "")))
//!     .start(listener)
//!     .await?;
//! // ... drive it over HTTP at jenkins.url() ...
//! let builds = jenkins.builds_of("micro-gw/petstore-image");
//! assert_eq!(builds.len(), 1);
//! jenkins.shutdown().await;
//! # Ok(()) }
//! ```
//!
//! Modules:
//! - [`spec`]: users, jobs, parameters and build scripts; [`load`]: YAML/JSON files.
//! - `state`: the queue and executors as a discrete-event simulation driven by the clock.
//! - `json`, `tree`: `/api/json` documents and the `tree=` filter.
//! - `auth`: Basic auth (401), permissions (403 + headers), crumbs.
//! - `routes`, `jobs`: URL dispatch and handlers; `wfapi`: the Pipeline stage view;
//!   `tokens`: API token generation.
//! - [`record`]: recorded requests, build views and injectable faults.
//!
//! **Time.** The stand-in's clock is tokio time plus a manual offset: use
//! `tokio::time::pause()`/`advance()`, or [`FakeJenkins::advance`]. Queue and build progress is
//! computed from the clock whenever state is read; a ticker reads it every 100 ms of tokio time
//! so [`FakeJenkins::subscribe`] hears builds start and finish.
//!
//! **Modelled**: jobs in folders; string, choice and boolean parameters (defaults, 500 on an
//! illegal choice); disabled jobs (409); `build` and `buildWithParameters` (201 + absolute
//! `Location`, 303 for identical parameters already queued, 400 not parameterized, 405 + `Allow:
//! POST` on GET, 404 no job); the queue with quiet period, `delay=`, blocking of non-concurrent
//! jobs, executors, cancel (204; 500 "Could not cancel run" for an item that already left;
//! 404 unknown or forgotten; 422 no permission); left items forgotten after 5 minutes; builds with a
//! scripted duration, result and console lines; `progressiveText` with `X-Text-Size` and
//! `X-More-Data`; `consoleText`; `stop` (302); permalinks `lastBuild` etc.; job, folder, root,
//! queue, `whoAmI`, `me` JSON with `tree=` (nested into folders) and, without it, `depth=` for
//! item lists; `X-Jenkins`; Basic auth with API tokens (crumb-exempt)
//! or passwords (crumb required when CSRF is on); crumb issuer tied to a `JSESSIONID.*` session;
//! 401 with `WWW-Authenticate`, 403 with `X-You-Are-Authenticated-As`/`X-Required-Permission`.
//!
//! Every build also answers `wfapi/describe` (stage view) with its scripted stages, or one
//! `Build` stage, as a Pipeline run would; `generateNewToken` makes API tokens that then work.
//!
//! **Not modelled** (known): Pipeline steps, `input` and pending input actions, agents and
//! labels, SCM and change sets, artifacts, build tokens (`token=`), multipart file parameters,
//! the HTML UI, `depth=` beyond item lists, XML API, job creation/config.xml, per-job permissions (only read-only users), API-token
//! revocation, Jenkins' reverse-proxy root URL setting (URLs follow the `Host` header), and the
//! `X-Jenkins` header is sent on every answer (Jenkins sends it on API and page answers).

pub mod load;
pub mod record;
pub mod spec;

mod auth;
mod builder;
mod clock;
mod jobs;
mod json;
mod queue_json;
mod routes;
mod server;
mod state;
mod tokens;
mod tree;
mod wfapi;

use std::net::SocketAddr;
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use builder::FakeJenkinsBuilder;
pub use json::raw_encode;
pub use load::SpecError;
pub use record::{BuildEvent, BuildRecord, Fault, FaultKind, RecordedRequest};
pub use spec::{
    BuildScript, JobSpec, ParamKind, ParamSpec, REBUILD_PARAMETERS, ServerSpec, StageScript,
    UserSpec,
};
pub use state::LEFT_ITEM_TTL;

use clock::Clock;
use state::State;

/// State shared by all connections.
#[derive(Debug)]
pub(crate) struct Shared {
    state: Mutex<State>,
    clock: Clock,
    requests: Mutex<Vec<RecordedRequest>>,
    faults: Mutex<Vec<Fault>>,
    salt: String,
    session_hash: String,
    crumb_field: String,
    context_path: String,
    version: String,
    addr: SocketAddr,
    events: tokio::sync::broadcast::Sender<BuildEvent>,
}

/// How often the stand-in looks at its clock to announce build events (tokio time).
const TICK: Duration = Duration::from_millis(100);

fn record_of(b: &state::Build) -> BuildRecord {
    BuildRecord {
        number: b.number,
        queue_id: b.queue_id,
        params: b.params.iter().cloned().collect(),
        result: b.result().map(str::to_owned),
        building: !b.finished,
        started_by: b.causes.iter().map(|c| c.user_id.clone()).collect(),
    }
}

impl Shared {
    fn lock(&self) -> MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The state, advanced to the clock's now; announces builds that started or finished.
    fn state_now(&self) -> MutexGuard<'_, State> {
        let now = self.clock.now();
        let mut st = self.lock();
        st.advance_to(now);
        for t in std::mem::take(&mut st.transitions) {
            let build = st
                .jobs
                .get(&t.job)
                .and_then(|j| j.builds.iter().find(|b| b.number == t.number));
            if let Some(b) = build {
                let mut record = record_of(b);
                if !t.finished {
                    // As it was when it started, even if it has finished since.
                    record.building = true;
                    record.result = None;
                }
                // No receiver is fine: nobody subscribed.
                let _ = self.events.send(BuildEvent {
                    job: t.job.clone(),
                    build: record,
                    finished: t.finished,
                });
            }
        }
        st
    }

    fn record(&self, r: RecordedRequest) {
        self.requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(r);
    }

    fn take_fault(&self, method: &str, path: &str) -> Option<FaultKind> {
        let mut faults = self.faults.lock().unwrap_or_else(|e| e.into_inner());
        let f = faults.iter_mut().find(|f| f.matches(method, path))?;
        if let Some(n) = f.times.as_mut() {
            *n -= 1;
        }
        Some(f.kind.clone())
    }

    fn new_session(&self) -> String {
        hex::encode(rand::random::<[u8; 16]>())
    }
}

/// Advances the state every [`TICK`] so build events go out without anyone asking.
async fn tick(shared: Arc<Shared>, shutdown: CancellationToken) {
    loop {
        tokio::select! {
            () = shutdown.cancelled() => return,
            () = tokio::time::sleep(TICK) => drop(shared.state_now()),
        }
    }
}

/// A running Jenkins stand-in. Dropping it stops the server.
#[derive(Debug)]
pub struct FakeJenkins {
    shared: Arc<Shared>,
    addr: SocketAddr,
    shutdown: CancellationToken,
    task: Option<JoinHandle<()>>,
}

impl FakeJenkins {
    /// A builder with no users, no jobs, CSRF on and 2 executors.
    pub fn builder() -> FakeJenkinsBuilder {
        FakeJenkinsBuilder::default()
    }

    /// Base URL with context path and trailing slash, e.g. `http://127.0.0.1:41234/jenkins/`.
    pub fn url(&self) -> String {
        format!("http://{}{}/", self.addr, self.shared.context_path)
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Every request so far, in order.
    pub fn requests(&self) -> Vec<RecordedRequest> {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// Requests to paths the stand-in does not model (answered 404); tests should expect none.
    pub fn unmodelled_requests(&self) -> Vec<RecordedRequest> {
        self.requests()
            .into_iter()
            .filter(|r| !r.modelled)
            .collect()
    }

    /// Forgets recorded requests.
    pub fn clear_requests(&self) {
        self.shared
            .requests
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Builds of a job (full name `folder/name`), oldest first; empty for an unknown job.
    pub fn builds_of(&self, job: &str) -> Vec<BuildRecord> {
        let st = self.shared.state_now();
        st.jobs
            .get(job)
            .map_or_else(Vec::new, |j| j.builds.iter().map(record_of).collect())
    }

    /// Build events from now on: a build started or finished (e.g. to play a Jenkins job that
    /// calls back when done). The stand-in checks its clock every 100 ms of tokio time.
    pub fn subscribe(&self) -> tokio::sync::broadcast::Receiver<BuildEvent> {
        self.shared.events.subscribe()
    }

    /// Ids of items still in the queue (waiting, blocked or buildable).
    pub fn queued_ids(&self) -> Vec<u64> {
        let st = self.shared.state_now();
        st.items
            .values()
            .filter(|i| i.left.is_none())
            .map(|i| i.id)
            .collect()
    }

    /// Adds a fault; faults are checked in the order added.
    pub fn set_fault(&self, fault: Fault) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(fault);
    }

    /// Removes all faults.
    pub fn clear_faults(&self) {
        self.shared
            .faults
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clear();
    }

    /// Moves the stand-in's clock forward (queue and builds progress accordingly).
    pub fn advance(&self, d: Duration) {
        self.shared.clock.advance(d);
        drop(self.shared.state_now());
    }

    /// Makes the next build of `job` follow `script` (FIFO; then the job's default again).
    pub fn push_script(&self, job: &str, script: BuildScript) {
        if let Some(j) = self.shared.lock().jobs.get_mut(job) {
            j.scripts.push_back(script);
        }
    }

    /// Adds a job while running.
    pub fn add_job(&self, job: JobSpec) {
        self.shared.lock().add_job(job);
    }

    /// Enables or disables a job.
    pub fn set_disabled(&self, job: &str, disabled: bool) {
        if let Some(j) = self.shared.lock().jobs.get_mut(job) {
            j.spec.disabled = disabled;
        }
    }

    /// Stops accepting, closes connections and waits for the server task (bounded).
    pub async fn shutdown(mut self) {
        self.shutdown.cancel();
        if let Some(task) = self.task.take() {
            let _ = tokio::time::timeout(Duration::from_secs(10), task).await;
        }
    }
}

impl Drop for FakeJenkins {
    fn drop(&mut self) {
        self.shutdown.cancel();
    }
}
