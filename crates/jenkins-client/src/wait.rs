//! Following a queue item to its build and the build to its result.

use std::time::Duration;

use rand::Rng;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::Error;
use crate::client::JenkinsClient;
use crate::model::{Build, BuildResult, Executable, QueueState};

/// How to poll.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct WaitOptions {
    /// Give up after this long in total.
    pub timeout: Duration,
    /// First polling interval.
    pub initial_interval: Duration,
    /// Interval cap; the interval grows 1.5× per poll up to this (±10 % jitter).
    pub max_interval: Duration,
    /// Transient failures (transport, 5xx, 429) tolerated in a row before giving up.
    pub max_consecutive_errors: u32,
}

impl Default for WaitOptions {
    fn default() -> Self {
        WaitOptions {
            timeout: Duration::from_secs(2 * 60 * 60),
            initial_interval: Duration::from_secs(1),
            max_interval: Duration::from_secs(15),
            max_consecutive_errors: 5,
        }
    }
}

impl WaitOptions {
    /// Options with a total timeout and a first interval; the cap is 15× the first interval.
    pub fn new(timeout: Duration, initial_interval: Duration) -> Self {
        WaitOptions {
            timeout,
            initial_interval,
            max_interval: initial_interval * 15,
            max_consecutive_errors: 5,
        }
    }
}

/// A finished build found from a queue item.
#[derive(Debug, Clone, PartialEq)]
#[non_exhaustive]
pub struct FinishedBuild {
    /// Queue id followed.
    pub queue_id: u64,
    /// The build as last read (`building == false`).
    pub build: Build,
    /// Its result.
    pub result: BuildResult,
}

struct Poller<'a> {
    opts: &'a WaitOptions,
    cancel: &'a CancellationToken,
    queue_id: u64,
    started: Instant,
    interval: Duration,
    errors: u32,
}

impl<'a> Poller<'a> {
    /// A poller of `queue_id` starting now at the first interval.
    fn new(opts: &'a WaitOptions, cancel: &'a CancellationToken, queue_id: u64) -> Self {
        Poller {
            opts,
            cancel,
            queue_id,
            started: Instant::now(),
            interval: opts.initial_interval,
            errors: 0,
        }
    }

    /// Sleeps one (jittered, growing) interval; fails at the deadline or on cancel.
    async fn pause(&mut self, stage: &str) -> Result<(), Error> {
        let deadline = self.started + self.opts.timeout;
        let now = Instant::now();
        if now >= deadline {
            return Err(Error::DeadlineExceeded {
                queue_id: self.queue_id,
                waited: now - self.started,
                stage: stage.to_owned(),
            });
        }
        let jitter = rand::rng().random_range(0.9..1.1);
        let sleep = self.interval.mul_f64(jitter).min(deadline - now);
        self.interval = (self.interval.mul_f64(1.5)).min(self.opts.max_interval);
        tokio::select! {
            () = self.cancel.cancelled() => Err(Error::Cancelled { what: stage.to_owned() }),
            () = tokio::time::sleep(sleep) => Ok(()),
        }
    }

    /// Turns a transient error into "try again" while under the bound.
    fn tolerate(&mut self, e: Error) -> Result<(), Error> {
        if e.is_transient() && self.errors < self.opts.max_consecutive_errors {
            self.errors += 1;
            tracing::warn!(queue_id = self.queue_id, error = %baton_http::chain(&e), attempt = self.errors, "jenkins poll failed; retrying");
            Ok(())
        } else {
            Err(e)
        }
    }
}

impl JenkinsClient {
    /// Polls a queue item until it has left the queue with a build; returns that build.
    pub async fn wait_for_start(
        &self,
        queue_id: u64,
        opts: &WaitOptions,
        cancel: &CancellationToken,
    ) -> Result<Executable, Error> {
        let mut p = Poller::new(opts, cancel, queue_id);
        self.poll_start(&mut p).await
    }

    async fn poll_start(&self, p: &mut Poller<'_>) -> Result<Executable, Error> {
        let id = p.queue_id;
        loop {
            let stage = match self.queue_item(id).await {
                Ok(item) => {
                    p.errors = 0;
                    if item.cancelled == Some(true) {
                        return Err(Error::QueueItemCancelled { id });
                    }
                    if let (QueueState::Left, Some(mut exe)) = (item.state(), item.executable) {
                        if exe.url.is_none() {
                            exe.url = item
                                .task
                                .and_then(|t| t.url)
                                .map(|u| format!("{}/{}/", u.trim_end_matches('/'), exe.number));
                        }
                        return Ok(exe);
                    }
                    format!(
                        "queued ({})",
                        item.why.unwrap_or_else(|| "left, no build yet".into())
                    )
                }
                Err(e) => {
                    p.tolerate(e)?;
                    "queued (last poll failed)".to_owned()
                }
            };
            p.pause(&stage).await?;
        }
    }

    /// Follows a queue item to its build and waits until the build has a result.
    /// Stops at `opts.timeout` or when `cancel` fires.
    pub async fn wait_for_build(
        &self,
        queue_id: u64,
        opts: &WaitOptions,
        cancel: &CancellationToken,
    ) -> Result<FinishedBuild, Error> {
        let mut p = Poller::new(opts, cancel, queue_id);
        let exe = self.poll_start(&mut p).await?;
        let url = exe.url.clone().ok_or_else(|| Error::Api {
            method: "GET".to_owned(),
            url: format!("queue/item/{queue_id}/"),
            status: 200,
            body: "the queue item names a build without a URL".to_owned(),
            retry_after: None,
        })?;
        p.interval = opts.initial_interval;
        loop {
            let stage = match self.build_at(&url).await {
                Ok(Some(build)) => {
                    p.errors = 0;
                    if let (false, Some(result)) = (build.building, build.result.clone()) {
                        return Ok(FinishedBuild {
                            queue_id,
                            build,
                            result,
                        });
                    }
                    format!("build #{} running", exe.number)
                }
                Ok(None) => format!("build #{} not visible yet", exe.number),
                Err(e) => {
                    p.tolerate(e)?;
                    format!("build #{} (last poll failed)", exe.number)
                }
            };
            p.pause(&stage).await?;
        }
    }
}
