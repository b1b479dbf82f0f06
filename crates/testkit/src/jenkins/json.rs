//! JSON documents in the shapes Jenkins' `@Exported` getters produce (`/api/json`).

use std::time::Duration;

use percent_encoding::{AsciiSet, NON_ALPHANUMERIC, utf8_percent_encode};
use serde_json::{Value, json};

use super::clock::Clock;
use super::spec::{ParamKind, ParamSpec};
use super::state::{Build, Cause, Job, State};

/// What `hudson.Util.rawEncode` leaves as is: `A-Za-z0-9` and `!$&'()*+,-.=@_`.
const RAW_ENCODE: &AsciiSet = &keep(NON_ALPHANUMERIC.remove(b'_'), b"!$&'()*+,-.=@");

/// `set` without `bytes` (a `const` loop: `AsciiSet::remove` takes one byte).
const fn keep(mut set: AsciiSet, bytes: &[u8]) -> AsciiSet {
    let mut i = 0;
    while i < bytes.len() {
        set = set.remove(bytes[i]);
        i += 1;
    }
    set
}

/// Encodes one path segment as Jenkins' `Util.rawEncode` does; not jenkins-client's encoder,
/// so a mistake in either shows in the tests.
pub fn raw_encode(segment: &str) -> String {
    utf8_percent_encode(segment, RAW_ENCODE).to_string()
}

/// `job/a/job/b/` for full name `a/b`.
pub fn job_rel_url(full_name: &str) -> String {
    full_name
        .split('/')
        .map(|s| format!("job/{}/", raw_encode(s)))
        .collect()
}

/// Renders documents against one root URL (ends with `/`).
pub(crate) struct Render<'a> {
    pub root: &'a str,
    pub clock: &'a Clock,
    pub state: &'a State,
}

fn short_name(full: &str) -> &str {
    full.rsplit('/').next().unwrap_or(full)
}

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

impl Render<'_> {
    pub(super) fn epoch(&self, d: Duration) -> u64 {
        self.clock.epoch_ms(d)
    }

    pub(super) fn job_url(&self, full: &str) -> String {
        format!("{}{}", self.root, job_rel_url(full))
    }

    fn build_ref(&self, full: &str, b: Option<&Build>) -> Value {
        match b {
            Some(b) => json!({"_class": "hudson.model.FreeStyleBuild", "number": b.number,
                              "url": format!("{}{}/", self.job_url(full), b.number)}),
            None => Value::Null,
        }
    }

    pub(super) fn actions(
        params: &[(String, String)],
        parameterized: bool,
        job: Option<&Job>,
        causes: &[Cause],
    ) -> Value {
        let mut actions = Vec::new();
        if parameterized {
            let values: Vec<Value> = params
                .iter()
                .map(|(name, value)| {
                    let boolean = job
                        .and_then(|j| j.spec.parameters.iter().find(|p| &p.name == name))
                        .is_some_and(|p| p.kind == ParamKind::Boolean);
                    if boolean {
                        json!({"_class": "hudson.model.BooleanParameterValue", "name": name, "value": value == "true"})
                    } else {
                        json!({"_class": "hudson.model.StringParameterValue", "name": name, "value": value})
                    }
                })
                .collect();
            actions.push(json!({"_class": "hudson.model.ParametersAction", "parameters": values}));
        }
        let causes: Vec<Value> = causes
            .iter()
            .map(|c| {
                let name = c.user_id.clone().unwrap_or_else(|| "anonymous".to_owned());
                json!({"_class": "hudson.model.Cause$UserIdCause",
                       "shortDescription": format!("Started by user {name}"),
                       "userId": c.user_id, "userName": name})
            })
            .collect();
        actions.push(json!({"_class": "hudson.model.CauseAction", "causes": causes}));
        Value::Array(actions)
    }

    /// `/job/X/N/api/json`.
    pub fn build(&self, full: &str, job: &Job, b: &Build) -> Value {
        let estimated = job
            .builds
            .iter()
            .rev()
            .find(|o| o.finished && o.number != b.number)
            .map_or(-1, |o| {
                i64::try_from(ms(o.end - o.start)).unwrap_or(i64::MAX)
            });
        let display = full.split('/').collect::<Vec<_>>().join(" » ");
        json!({
            "_class": "hudson.model.FreeStyleBuild",
            "actions": Self::actions(&b.params, b.parameterized, Some(job), &b.causes),
            "artifacts": [],
            "building": !b.finished,
            "description": null,
            "displayName": format!("#{}", b.number),
            "duration": if b.finished { ms(b.end - b.start) } else { 0 },
            "estimatedDuration": estimated,
            "executor": if b.finished { Value::Null } else { json!({"_class": "hudson.model.Executor"}) },
            "fullDisplayName": format!("{display} #{}", b.number),
            "id": b.number.to_string(),
            "inProgress": !b.finished,
            "keepLog": false,
            "number": b.number,
            "queueId": b.queue_id,
            "result": b.result(),
            "timestamp": self.epoch(b.start),
            "url": format!("{}{}/", self.job_url(full), b.number),
            "builtOn": "",
            "changeSet": {"_class": "hudson.scm.EmptyChangeLogSet", "items": [], "kind": null},
            "culprits": [],
        })
    }

    fn color(job: &Job) -> String {
        if job.spec.disabled {
            return "disabled".to_owned();
        }
        let last_done = job.builds.iter().rev().find(|b| b.finished);
        let base = match last_done.and_then(|b| b.result()) {
            None => "notbuilt",
            Some("SUCCESS") => "blue",
            Some("UNSTABLE") => "yellow",
            Some("FAILURE") => "red",
            Some("ABORTED") => "aborted",
            Some(_) => "notbuilt",
        };
        if job.building() {
            format!("{base}_anime")
        } else {
            base.to_owned()
        }
    }

    pub(super) fn task(&self, full: &str) -> Value {
        let color = self.state.jobs.get(full).map(Self::color);
        json!({"_class": "hudson.model.FreeStyleProject", "name": short_name(full),
               "url": self.job_url(full), "color": color})
    }

    fn param_def(p: &ParamSpec) -> Value {
        let (class, value_class, default) = match p.kind {
            ParamKind::String => (
                "hudson.model.StringParameterDefinition",
                "hudson.model.StringParameterValue",
                json!(p.default.clone().unwrap_or_default()),
            ),
            ParamKind::Choice => (
                "hudson.model.ChoiceParameterDefinition",
                "hudson.model.StringParameterValue",
                json!(p.choices.first()),
            ),
            ParamKind::Boolean => (
                "hudson.model.BooleanParameterDefinition",
                "hudson.model.BooleanParameterValue",
                json!(p.default.as_deref() == Some("true")),
            ),
        };
        let mut v = json!({
            "_class": class,
            "defaultParameterValue": {"_class": value_class, "name": p.name, "value": default},
            "description": p.description,
            "name": p.name,
            "type": class.rsplit('.').next(),
        });
        if p.kind == ParamKind::Choice {
            v["choices"] = json!(p.choices);
        }
        v
    }

    /// `/job/X/api/json`.
    pub fn job(&self, full: &str, job: &Job) -> Value {
        let builds: Vec<Value> = job
            .builds
            .iter()
            .rev()
            .map(|b| self.build_ref(full, Some(b)))
            .collect();
        let last = |f: &dyn Fn(&Build) -> bool| {
            self.build_ref(full, job.builds.iter().rev().find(|b| f(b)))
        };
        let queued = self
            .state
            .items
            .values()
            .find(|i| i.left.is_none() && i.job == full);
        let mut property = Vec::new();
        if !job.spec.parameters.is_empty() {
            let defs: Vec<Value> = job.spec.parameters.iter().map(Self::param_def).collect();
            property.push(
                json!({"_class": "hudson.model.ParametersDefinitionProperty",
                                 "parameterDefinitions": defs}),
            );
        }
        let display = full.split('/').collect::<Vec<_>>().join(" » ");
        json!({
            "_class": "hudson.model.FreeStyleProject",
            "actions": property.clone(),
            "description": "",
            "displayName": short_name(full),
            "displayNameOrNull": null,
            "fullDisplayName": display,
            "fullName": full,
            "name": short_name(full),
            "url": self.job_url(full),
            "buildable": !job.spec.disabled,
            "builds": builds,
            "color": Self::color(job),
            "firstBuild": self.build_ref(full, job.builds.first()),
            "healthReport": [],
            "inQueue": queued.is_some(),
            "keepDependencies": false,
            "lastBuild": self.build_ref(full, job.builds.last()),
            "lastCompletedBuild": last(&|b| b.finished),
            "lastFailedBuild": last(&|b| b.result() == Some("FAILURE")),
            "lastStableBuild": last(&|b| b.result() == Some("SUCCESS")),
            "lastSuccessfulBuild": last(&|b| matches!(b.result(), Some("SUCCESS" | "UNSTABLE"))),
            "lastUnstableBuild": last(&|b| b.result() == Some("UNSTABLE")),
            "lastUnsuccessfulBuild": last(&|b| b.finished && b.result() != Some("SUCCESS")),
            "nextBuildNumber": job.next_number,
            "property": property,
            "queueItem": queued.map(|i| self.item(i)),
            "concurrentBuild": job.spec.concurrent,
            "disabled": job.spec.disabled,
            "downstreamProjects": [],
            "labelExpression": null,
            "scm": {"_class": "hudson.scm.NullSCM"},
            "upstreamProjects": [],
        })
    }

    /// The items of `folder` (or of the root) as full documents, folders with their own items;
    /// the tree or the depth of the request cuts them down ([`super::tree`]).
    fn children(&self, folder: Option<&str>) -> Vec<Value> {
        let prefix = folder.map(|f| format!("{f}/")).unwrap_or_default();
        let direct = |name: &&String| {
            name.strip_prefix(&prefix)
                .is_some_and(|rest| !rest.is_empty() && !rest.contains('/'))
        };
        let mut out: Vec<Value> = self
            .state
            .folders
            .iter()
            .filter(direct)
            .map(|f| self.folder(f))
            .collect();
        out.extend(
            self.state
                .jobs
                .iter()
                .filter(|(n, _)| direct(n))
                .map(|(n, j)| self.job(n, j)),
        );
        out
    }

    /// `/job/F/api/json` for a folder.
    pub fn folder(&self, full: &str) -> Value {
        json!({
            "_class": "com.cloudbees.hudson.plugins.folder.Folder",
            "actions": [{}],
            "description": null,
            "displayName": short_name(full),
            "displayNameOrNull": null,
            "fullDisplayName": full.split('/').collect::<Vec<_>>().join(" » "),
            "fullName": full,
            "name": short_name(full),
            "url": self.job_url(full),
            "healthReport": [],
            "jobs": self.children(Some(full)),
            "primaryView": {"_class": "hudson.model.AllView", "name": "All", "url": self.job_url(full)},
            "views": [{"_class": "hudson.model.AllView", "name": "All", "url": self.job_url(full)}],
        })
    }

    /// `/api/json`.
    pub fn root(&self) -> Value {
        json!({
            "_class": "hudson.model.Hudson",
            "assignedLabels": [{"name": "built-in"}],
            "mode": "NORMAL",
            "nodeDescription": "the Jenkins controller's built-in node",
            "nodeName": "",
            "numExecutors": self.state.spec.executors,
            "description": null,
            "jobs": self.children(None),
            "overallLoad": {},
            "primaryView": {"_class": "hudson.model.AllView", "name": "all", "url": self.root},
            "quietDownReason": null,
            "quietingDown": false,
            "slaveAgentPort": -1,
            "unlabeledLoad": {"_class": "jenkins.model.UnlabeledLoadStatistics"},
            "url": self.root,
            "useCrumbs": self.state.spec.csrf,
            "useSecurity": true,
            "views": [{"_class": "hudson.model.AllView", "name": "all", "url": self.root}],
        })
    }

    /// `/me/api/json` (a `hudson.model.User`).
    pub fn user(&self, id: &str) -> Value {
        json!({
            "_class": "hudson.model.User",
            "absoluteUrl": format!("{}user/{}", self.root, raw_encode(id)),
            "description": null,
            "fullName": id,
            "id": id,
            "property": [{"_class": "jenkins.security.ApiTokenProperty"}],
        })
    }
}

/// `/whoAmI/api/json`.
pub fn who_am_i(user: Option<&str>) -> Value {
    match user {
        Some(name) => json!({"_class": "hudson.security.WhoAmI", "anonymous": false,
                             "authenticated": true, "authorities": ["authenticated"], "name": name}),
        None => json!({"_class": "hudson.security.WhoAmI", "anonymous": true,
                       "authenticated": true, "authorities": ["anonymous"], "name": "anonymous"}),
    }
}
