//! [`FakeJenkinsBuilder`]: configure users and jobs, then start on a listener.

use std::net::SocketAddr;
use std::sync::{Arc, Mutex};

use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use super::clock::Clock;
use super::state::State;
use super::{FakeJenkins, JobSpec, ServerSpec, Shared, SpecError, UserSpec, server, tick};

/// Builds a [`FakeJenkins`].
#[derive(Debug, Default)]
pub struct FakeJenkinsBuilder {
    spec: ServerSpec,
}

impl FakeJenkinsBuilder {
    /// Replaces the whole spec (e.g. one read with [`ServerSpec::from_file`]).
    pub fn spec(mut self, spec: ServerSpec) -> Self {
        self.spec = spec;
        self
    }

    /// Adds a job.
    pub fn job(mut self, job: JobSpec) -> Self {
        self.spec.jobs.push(job);
        self
    }

    /// Adds a user.
    pub fn user(mut self, user: UserSpec) -> Self {
        self.spec.users.push(user);
        self
    }

    /// Turns the crumb issuer on or off (default on).
    pub fn csrf(mut self, on: bool) -> Self {
        self.spec.csrf = on;
        self
    }

    /// Sets the number of executors (default 2).
    pub fn executors(mut self, n: usize) -> Self {
        self.spec.executors = n;
        self
    }

    /// Sets the version sent in `X-Jenkins`.
    pub fn version(mut self, v: &str) -> Self {
        self.spec.version = v.to_owned();
        self
    }

    /// Serves under a context path such as `/jenkins`.
    pub fn context_path(mut self, p: &str) -> Self {
        self.spec.context_path = p.to_owned();
        self
    }

    /// Lets anonymous callers read.
    pub fn anonymous_read(mut self, on: bool) -> Self {
        self.spec.anonymous_read = on;
        self
    }

    /// Binds `addr` and starts serving (use [`Self::start`] with a listener in tests).
    pub async fn bind(self, addr: SocketAddr) -> Result<FakeJenkins, SpecError> {
        let listener = TcpListener::bind(addr)
            .await
            .map_err(|source| SpecError::Bind {
                addr: addr.to_string(),
                source,
            })?;
        self.start(listener).await
    }

    /// Starts serving on `listener` (bind `127.0.0.1:0` in tests).
    pub async fn start(self, listener: TcpListener) -> Result<FakeJenkins, SpecError> {
        self.spec.validate("spec")?;
        let addr = listener.local_addr().map_err(|e| SpecError::Invalid {
            path: "listener".into(),
            what: format!("listener has no local address: {e}"),
        })?;
        let shared = Arc::new(Shared {
            clock: Clock::new(),
            requests: Mutex::new(Vec::new()),
            faults: Mutex::new(Vec::new()),
            salt: hex::encode(rand::random::<[u8; 16]>()),
            session_hash: hex::encode(rand::random::<[u8; 8]>()),
            crumb_field: "Jenkins-Crumb".to_owned(),
            context_path: self.spec.context_path.clone(),
            version: self.spec.version.clone(),
            addr,
            events: tokio::sync::broadcast::channel(1024).0,
            state: Mutex::new(State::new(self.spec)),
        });
        let shutdown = CancellationToken::new();
        let task = tokio::spawn(server::serve(listener, shared.clone(), shutdown.clone()));
        tokio::spawn(tick(shared.clone(), shutdown.clone()));
        Ok(FakeJenkins {
            shared,
            addr,
            shutdown,
            task: Some(task),
        })
    }
}
