//! Jobs, queue and builds, advanced as a discrete-event simulation of the Jenkins queue.
//!
//! Queue items wait out the quiet period (`Queue$WaitingItem`), become buildable, are blocked
//! while a non-concurrent job already builds (`Queue$BlockedItem`), wait for a free executor
//! (`Queue$BuildableItem`) and leave the queue when a build starts (`Queue$LeftItem`). Left items
//! are forgotten [`LEFT_ITEM_TTL`] after they left, like Jenkins' `leftItems` cache
//! (`expireAfterWrite(5 * 60, SECONDS)` in `hudson.model.Queue`).

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::time::Duration;

use super::spec::{BuildScript, JobSpec, ServerSpec};

/// How long a left queue item stays visible at `/queue/item/N/`.
pub const LEFT_ITEM_TTL: Duration = Duration::from_secs(5 * 60);

/// Who started a build (`hudson.model.Cause$UserIdCause`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Cause {
    pub user_id: Option<String>,
}

/// Where a live queue item is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ItemState {
    Waiting,
    Blocked,
    Buildable,
}

/// A queue item, live or left.
#[derive(Debug, Clone)]
pub(crate) struct Item {
    pub id: u64,
    pub job: String,
    pub params: Vec<(String, String)>,
    pub parameterized: bool,
    pub causes: Vec<Cause>,
    pub in_queue_since: Duration,
    pub due: Duration,
    pub buildable_since: Option<Duration>,
    pub state: ItemState,
    /// Set when the item left the queue.
    pub left: Option<Left>,
}

/// How an item left the queue.
#[derive(Debug, Clone)]
pub(crate) struct Left {
    pub at: Duration,
    pub cancelled: bool,
    pub build: Option<u32>,
}

/// One build.
#[derive(Debug, Clone)]
pub(crate) struct Build {
    pub number: u32,
    pub queue_id: u64,
    pub params: Vec<(String, String)>,
    pub parameterized: bool,
    pub causes: Vec<Cause>,
    pub script: BuildScript,
    pub start: Duration,
    /// Planned end (earlier if stopped).
    pub end: Duration,
    pub aborted_by: Option<String>,
    pub finished: bool,
}

impl Build {
    /// The final result once finished.
    pub fn result(&self) -> Option<&str> {
        if !self.finished {
            None
        } else if self.aborted_by.is_some() {
            Some("ABORTED")
        } else {
            Some(&self.script.result)
        }
    }
}

/// A job and its builds.
#[derive(Debug, Clone)]
pub(crate) struct Job {
    pub spec: JobSpec,
    pub builds: Vec<Build>,
    pub next_number: u32,
    pub scripts: VecDeque<BuildScript>,
}

impl Job {
    pub fn building(&self) -> bool {
        self.builds.iter().any(|b| !b.finished)
    }
}

/// Everything the stand-in knows.
#[derive(Debug)]
pub(crate) struct State {
    pub spec: ServerSpec,
    pub jobs: BTreeMap<String, Job>,
    pub folders: BTreeSet<String>,
    /// Live and left items by id (left ones are pruned after [`LEFT_ITEM_TTL`]).
    pub items: BTreeMap<u64, Item>,
    pub next_item_id: u64,
    /// API tokens made by `generateNewToken` (user, token); they authenticate like configured ones.
    pub generated_tokens: Vec<(String, secrecy::SecretString)>,
    pub sim_now: Duration,
    /// Builds started or finished since the last drain, in order.
    pub transitions: Vec<Transition>,
}

/// A build started (`finished == false`) or finished.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Transition {
    pub job: String,
    pub number: u32,
    pub finished: bool,
}

/// What scheduling did.
pub(crate) enum Scheduled {
    /// A new item.
    Created(u64),
    /// An identical item was already queued (Jenkins `ScheduleResult.existing`).
    Existing(u64),
}

impl State {
    pub fn new(spec: ServerSpec) -> Self {
        let mut jobs = BTreeMap::new();
        let mut folders = BTreeSet::new();
        for job in &spec.jobs {
            let segments: Vec<&str> = job.path.split('/').collect();
            for i in 1..segments.len() {
                folders.insert(segments[..i].join("/"));
            }
            jobs.insert(
                job.path.clone(),
                Job {
                    spec: job.clone(),
                    builds: Vec::new(),
                    next_number: 1,
                    scripts: VecDeque::new(),
                },
            );
        }
        State {
            spec,
            jobs,
            folders,
            items: BTreeMap::new(),
            next_item_id: 1,
            generated_tokens: Vec::new(),
            sim_now: Duration::ZERO,
            transitions: Vec::new(),
        }
    }

    /// Adds a job after start.
    pub fn add_job(&mut self, job: JobSpec) {
        let segments: Vec<&str> = job.path.split('/').collect();
        for i in 1..segments.len() {
            self.folders.insert(segments[..i].join("/"));
        }
        self.jobs.insert(
            job.path.clone(),
            Job {
                spec: job,
                builds: Vec::new(),
                next_number: 1,
                scripts: VecDeque::new(),
            },
        );
    }

    /// Schedules a build like `Queue.schedule2`: identical parameters coalesce into the live item.
    pub fn schedule(
        &mut self,
        job: &str,
        params: Vec<(String, String)>,
        cause: Cause,
        quiet: Duration,
    ) -> Scheduled {
        let now = self.sim_now;
        let parameterized = self
            .jobs
            .get(job)
            .is_some_and(|j| !j.spec.parameters.is_empty());
        let due = now + quiet;
        let existing = self
            .items
            .values_mut()
            .find(|i| i.left.is_none() && i.job == job && i.params == params);
        if let Some(item) = existing {
            if !item.causes.contains(&cause) {
                item.causes.push(cause);
            }
            // "make sure to always use the shorter of the available due times"
            if item.state == ItemState::Waiting && item.due > due {
                item.due = due;
            }
            return Scheduled::Existing(item.id);
        }
        let id = self.next_item_id;
        self.next_item_id += 1;
        self.items.insert(
            id,
            Item {
                id,
                job: job.to_owned(),
                params,
                parameterized,
                causes: vec![cause],
                in_queue_since: now,
                due,
                buildable_since: None,
                state: ItemState::Waiting,
                left: None,
            },
        );
        Scheduled::Created(id)
    }

    /// Cancels a live item; `None` if there is no such live item.
    pub fn cancel(&mut self, id: u64) -> Option<()> {
        let now = self.sim_now;
        let item = self.items.get_mut(&id).filter(|i| i.left.is_none())?;
        item.left = Some(Left {
            at: now,
            cancelled: true,
            build: None,
        });
        Some(())
    }

    /// Stops a running build; returns false if it was not running.
    pub fn stop(&mut self, job: &str, number: u32, by: &str) -> bool {
        let now = self.sim_now;
        let Some(build) = self
            .jobs
            .get_mut(job)
            .and_then(|j| j.builds.iter_mut().find(|b| b.number == number))
        else {
            return false;
        };
        if build.finished {
            return false;
        }
        build.aborted_by = Some(by.to_owned());
        build.end = now;
        build.finished = true;
        self.transitions.push(Transition {
            job: job.to_owned(),
            number,
            finished: true,
        });
        true
    }

    /// Runs the simulation up to `target`.
    pub fn advance_to(&mut self, target: Duration) {
        if target < self.sim_now {
            return;
        }
        loop {
            self.settle();
            let next_due = self
                .items
                .values()
                .filter(|i| i.left.is_none() && i.due > self.sim_now)
                .map(|i| i.due);
            let next_end = self
                .jobs
                .values()
                .flat_map(|j| j.builds.iter())
                .filter(|b| !b.finished && b.end > self.sim_now)
                .map(|b| b.end);
            match next_due.chain(next_end).min() {
                Some(t) if t <= target && t > self.sim_now => self.sim_now = t,
                _ => break,
            }
        }
        self.sim_now = target;
        self.settle();
        let now = self.sim_now;
        self.items
            .retain(|_, i| i.left.as_ref().is_none_or(|l| now < l.at + LEFT_ITEM_TTL));
    }

    /// Finishes due builds and starts due items until nothing changes at `sim_now`
    /// (zero-length builds free their executor at once).
    fn settle(&mut self) {
        for _ in 0..64 {
            let before = self.finished_count();
            self.finish_builds();
            self.start_items();
            self.finish_builds();
            if self.finished_count() == before {
                break;
            }
        }
    }

    fn finished_count(&self) -> usize {
        self.jobs
            .values()
            .flat_map(|j| j.builds.iter())
            .filter(|b| b.finished)
            .count()
    }

    fn finish_builds(&mut self) {
        let now = self.sim_now;
        for (name, job) in &mut self.jobs {
            for build in &mut job.builds {
                if !build.finished && build.end <= now {
                    build.finished = true;
                    self.transitions.push(Transition {
                        job: name.clone(),
                        number: build.number,
                        finished: true,
                    });
                }
            }
        }
    }

    fn start_items(&mut self) {
        let now = self.sim_now;
        let mut busy: usize = self
            .jobs
            .values()
            .flat_map(|j| j.builds.iter())
            .filter(|b| !b.finished)
            .count();
        let ids: Vec<u64> = self
            .items
            .values()
            .filter(|i| i.left.is_none() && i.due <= now)
            .map(|i| i.id)
            .collect();
        for id in ids {
            let Some(item) = self.items.get_mut(&id) else {
                continue;
            };
            let Some(job) = self.jobs.get_mut(&item.job) else {
                continue;
            };
            if item.buildable_since.is_none() {
                item.buildable_since = Some(item.due);
            }
            if !job.spec.concurrent && job.building() {
                item.state = ItemState::Blocked;
                continue;
            }
            if busy >= self.spec.executors {
                item.state = ItemState::Buildable;
                continue;
            }
            busy += 1;
            let number = job.next_number;
            job.next_number += 1;
            let script = job
                .scripts
                .pop_front()
                .unwrap_or_else(|| job.spec.script.clone());
            job.builds.push(Build {
                number,
                queue_id: id,
                params: item.params.clone(),
                parameterized: item.parameterized,
                causes: item.causes.clone(),
                start: now,
                end: now + script.duration,
                script,
                aborted_by: None,
                finished: false,
            });
            item.left = Some(Left {
                at: now,
                cancelled: false,
                build: Some(number),
            });
            self.transitions.push(Transition {
                job: item.job.clone(),
                number,
                finished: false,
            });
        }
    }
}
