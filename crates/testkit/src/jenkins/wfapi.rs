//! `/job/…/N/wfapi/describe`: the Pipeline stage view (pipeline-stage-view plugin, `RunExt`).
//!
//! Facts from jenkinsci/pipeline-stage-view-plugin `rest-api/…/external/`: statuses are
//! `StatusExt` (FAILED, not FAILURE; IN_PROGRESS; NOT_EXECUTED for NOT_BUILT); only stages
//! reached so far are listed; the last listed stage takes the run's status; while a run is in
//! progress `endTimeMillis` is the time of the answer; `durationMillis` of the run is end minus
//! start minus `queueDurationMillis` (start of the first stage minus start of the run).

use std::time::Duration;

use serde_json::{Value, json};

use super::clock::Clock;
use super::json::job_rel_url;
use super::spec::StageScript;
use super::state::Build;

fn ms(d: Duration) -> u64 {
    u64::try_from(d.as_millis()).unwrap_or(u64::MAX)
}

/// The run's `StatusExt` from a build result.
fn run_status(b: &Build) -> &'static str {
    match b.result() {
        None => "IN_PROGRESS",
        Some("SUCCESS") => "SUCCESS",
        Some("UNSTABLE") => "UNSTABLE",
        Some("ABORTED") => "ABORTED",
        Some("NOT_BUILT") => "NOT_EXECUTED",
        Some(_) => "FAILED",
    }
}

/// The describe document of build `b` of job `full` at stand-in time `now`.
pub(crate) fn describe(
    context_path: &str,
    clock: &Clock,
    full: &str,
    b: &Build,
    now: Duration,
) -> Value {
    let base = format!("{context_path}/{}{}/", job_rel_url(full), b.number);
    let upto = if b.finished { b.end } else { now.max(b.start) };
    let status = run_status(b);
    let whole = [StageScript {
        name: "Build".to_owned(),
        duration: b.end.saturating_sub(b.start),
    }];
    let scripted = if b.script.stages.is_empty() {
        &whole[..]
    } else {
        &b.script.stages[..]
    };
    let mut stages = Vec::new();
    let mut t = b.start;
    for (i, s) in scripted.iter().enumerate() {
        if i > 0 && t >= upto {
            break; // not reached (yet)
        }
        let end = (t + s.duration).min(upto);
        let id = (6 + 4 * i).to_string();
        stages.push(json!({
            "_links": {"self": {"href": format!("{base}execution/node/{id}/wfapi/describe")}},
            "id": id,
            "name": s.name,
            "execNode": "",
            "status": "SUCCESS",
            "startTimeMillis": clock.epoch_ms(t),
            "durationMillis": ms(end - t),
            "pauseDurationMillis": 0,
        }));
        t += s.duration;
    }
    if let Some(last) = stages.last_mut() {
        last["status"] = json!(status);
    }
    json!({
        "_links": {"self": {"href": format!("{base}wfapi/describe")}},
        "id": b.number.to_string(),
        "name": format!("#{}", b.number),
        "status": status,
        "startTimeMillis": clock.epoch_ms(b.start),
        "endTimeMillis": clock.epoch_ms(upto),
        "durationMillis": ms(upto - b.start),
        "queueDurationMillis": 0,
        "pauseDurationMillis": 0,
        "stages": stages,
    })
}
