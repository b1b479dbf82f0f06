//! Following delivered Jenkins builds: queue id -> build number -> result.
//!
//! baton follows Location -> queue item -> build number and records them (docs/wire.md). After the
//! [`super::jenkins`] deliverer triggers a job, the event holds the queue id. The
//! [`BuildFollower`] finds every event with a queue id and no build result in the store
//! ([`crate::store::Store::pending_builds`]) — at start, after each delivered trigger, and every
//! `rescan` — and follows each one:
//!
//! 1. polls `queue/item/N/api/json` (jenkins-client `wait_for_start`: growing interval with
//!    jitter, a deadline, transient errors tolerated) until the item left the queue with a
//!    build; records `build_number` and `build_url`;
//! 2. polls the build (`job/…/N/api/json`) with a growing, jittered interval until it is no
//!    longer building; records `build_result` (`SUCCESS`, `UNSTABLE`, `FAILURE`, `ABORTED`, …).
//!
//! Outcomes that end a follow-up without a Jenkins result are recorded so they are not followed
//! forever: a cancelled queue item -> result `CANCELLED`; an item Jenkins forgot before baton saw
//! its build (Jenkins drops left items after ~5 minutes, e.g. baton was down that long) or a
//! follow-up past `give_up_after` -> result `UNKNOWN` with a `detail` saying why. Other failures
//! (Jenkins unreachable, 401) leave the event as it is; the next rescan tries again.
//!
//! Everything is in the store, so a restart resumes: an event with a build number is followed
//! from the build (no queue item needed), one without from its queue item. Shutdown stops every
//! follow-up at once through the cancellation token; nothing is lost.
//!
//! With several replicas each follow-up is one replica's: it holds the named lease
//! `follow:<event>` (default 10 s), renewed every third of it while it follows (the loop is
//! [`super::leased::LeasedWork`], shared with the delivery verifier). A killed
//! replica's follow-ups are taken over at the next rescan after its leases run out (within
//! about 15 s at the defaults); a replica that loses a lease (a long stall) stops that follow-up before it
//! records anything.

use std::sync::Arc;
use std::time::Duration;

use jenkins_client::{JenkinsClient, JobPath, WaitOptions};
use rand::Rng;
use tokio::sync::Notify;
use tokio_util::sync::CancellationToken;

use super::leased::{LeasedWork, Leases};
use crate::store::Store;
use crate::store::events::Correlation;
use crate::store::followups::PendingBuild;

/// How the follower polls.
#[derive(Debug, Clone)]
pub struct FollowSettings {
    /// First polling interval (grows 1.5x per poll, with ±10 % jitter).
    pub initial_interval: Duration,
    /// Longest polling interval.
    pub max_interval: Duration,
    /// One follow-up gives up after this long (result `UNKNOWN`).
    pub give_up_after: Duration,
    /// How long a not-settled follow-up (Jenkins unreachable) waits before it is tried again.
    pub rescan: Duration,
    /// How long a follow-up's lease lasts without renewal; the store is read again and the
    /// leases renewed every third of it.
    pub lease: Duration,
}

impl Default for FollowSettings {
    fn default() -> Self {
        Self {
            initial_interval: Duration::from_secs(2),
            max_interval: Duration::from_secs(30),
            give_up_after: Duration::from_secs(6 * 3600),
            rescan: Duration::from_secs(60),
            lease: Duration::from_secs(10),
        }
    }
}

/// The lease of each follow-up: `follow:<event>`.
const LEASES: Leases = Leases {
    prefix: "follow:",
    what: "follow-up",
};

/// Follows delivered Jenkins triggers to their build results.
#[derive(Debug)]
pub struct BuildFollower {
    client: JenkinsClient,
    store: Store,
    wake: Arc<Notify>,
    settings: FollowSettings,
    owner: String,
}

impl BuildFollower {
    /// A follower using `client`, recording in `store`, woken by `wake` (the Jenkins
    /// deliverer's [`super::jenkins::JenkinsDeliverer::delivered_signal`]).
    pub fn new(
        client: JenkinsClient,
        store: Store,
        wake: Arc<Notify>,
        settings: FollowSettings,
    ) -> Self {
        Self {
            client,
            store,
            wake,
            settings,
            owner: format!("{}-{:08x}", std::process::id(), rand::random::<u32>()),
        }
    }

    /// Leases follow-ups as `owner` (the replica id).
    pub fn with_owner(mut self, owner: impl Into<String>) -> Self {
        self.owner = owner.into();
        self
    }

    /// Runs until `shutdown`, following every pending build no other replica follows, once
    /// at a time per event, each under the lease `follow:<event>` ([`LeasedWork`]).
    pub async fn run(self, shutdown: CancellationToken) {
        let this = Arc::new(self);
        let leased = LeasedWork::new(this.store.clone(), &this.owner, LEASES, this.settings.lease);
        let pending = |store: Store| async move { store.pending_builds(200).await };
        let work = |p: PendingBuild, stop: CancellationToken| {
            let me = this.clone();
            async move {
                if !me.follow(p, &stop).await {
                    // Not settled (Jenkins unreachable, refused): keep it (and its lease)
                    // until the rescan so it is not retried in a tight loop.
                    tokio::select! {
                        _ = stop.cancelled() => {}
                        _ = tokio::time::sleep(me.settings.rescan) => {}
                    }
                }
            }
        };
        let (tick, wake) = (this.settings.rescan, this.wake.clone());
        leased.run(tick, wake, pending, work, shutdown).await;
    }

    async fn record(&self, event: &str, c: Correlation) {
        if let Err(e) = self.store.correlate(event, &c).await {
            tracing::warn!(%event, error = %e, "cannot record the Jenkins build on the event");
        }
    }

    /// Follows one build; true when the event got a result (or shutdown), false to try later.
    async fn follow(&self, p: PendingBuild, shutdown: &CancellationToken) -> bool {
        use jenkins_client::Error as E;
        let started = tokio::time::Instant::now();
        let s = &self.settings;
        let job = match JobPath::parse(&p.job) {
            Ok(j) => j,
            Err(e) => {
                let detail = format!("cannot follow the build: {e}");
                self.finish(&p.event_id, "UNKNOWN", detail).await;
                return true;
            }
        };
        let number = match p.build_number.and_then(|n| u32::try_from(n).ok()) {
            Some(n) => n,
            None => {
                let queue_id = u64::try_from(p.queue_id).unwrap_or_default();
                let mut opts = WaitOptions::new(s.give_up_after, s.initial_interval);
                opts.max_interval = s.max_interval;
                match self.client.wait_for_start(queue_id, &opts, shutdown).await {
                    Ok(exe) => {
                        self.record(
                            &p.event_id,
                            Correlation {
                                build_number: Some(i64::from(exe.number)),
                                build_url: exe.url.clone(),
                                ..Default::default()
                            },
                        )
                        .await;
                        tracing::info!(event = %p.event_id, queue_id, build = exe.number, job = %p.job, "Jenkins build started");
                        exe.number
                    }
                    Err(E::Cancelled { .. }) => return true,
                    Err(e @ E::QueueItemCancelled { .. }) => {
                        return self.finish(&p.event_id, "CANCELLED", e.to_string()).await;
                    }
                    Err(e @ (E::QueueItemNotFound { .. } | E::DeadlineExceeded { .. })) => {
                        return self.finish(&p.event_id, "UNKNOWN", e.to_string()).await;
                    }
                    Err(e) => {
                        tracing::warn!(event = %p.event_id, queue_id, error = %baton_http::chain(&e), "cannot follow the Jenkins queue item; trying again at the next rescan");
                        return false;
                    }
                }
            }
        };
        let mut interval = s.initial_interval;
        let mut failures = 0u32;
        loop {
            match self.client.build_info_opt(&job, number).await {
                Ok(Some(b)) if !b.building && b.result.is_some() => {
                    let result = b.result.as_ref().map(|r| r.as_str().to_owned());
                    tracing::info!(event = %p.event_id, build = number, result = ?result, job = %p.job, "Jenkins build finished");
                    self.record(
                        &p.event_id,
                        Correlation {
                            build_result: result,
                            build_url: b.url.clone(),
                            ..Default::default()
                        },
                    )
                    .await;
                    return true;
                }
                Ok(Some(_)) => failures = 0,
                Ok(None) => {
                    let detail =
                        format!("build #{number} of {} no longer exists in Jenkins", p.job);
                    return self.finish(&p.event_id, "UNKNOWN", detail).await;
                }
                Err(e) if e.is_transient() && failures < 5 => {
                    failures += 1;
                    tracing::warn!(event = %p.event_id, error = %baton_http::chain(&e), "Jenkins build poll failed; retrying");
                }
                Err(e) => {
                    tracing::warn!(event = %p.event_id, error = %baton_http::chain(&e), "cannot follow the Jenkins build; trying again at the next rescan");
                    return false;
                }
            }
            if started.elapsed() >= s.give_up_after {
                let detail = format!(
                    "gave up following build #{number} of {} after {}",
                    p.job,
                    humantime::format_duration(s.give_up_after)
                );
                return self.finish(&p.event_id, "UNKNOWN", detail).await;
            }
            let sleep = interval.mul_f64(rand::rng().random_range(0.9..1.1));
            interval = interval.mul_f64(1.5).min(s.max_interval);
            tokio::select! {
                _ = shutdown.cancelled() => return true,
                _ = tokio::time::sleep(sleep) => {}
            }
        }
    }

    async fn finish(&self, event: &str, result: &str, detail: String) -> bool {
        tracing::warn!(%event, result, %detail, "Jenkins follow-up ended without a build result");
        self.record(
            event,
            Correlation {
                build_result: Some(result.to_owned()),
                detail: Some(detail),
                ..Default::default()
            },
        )
        .await;
        true
    }
}
