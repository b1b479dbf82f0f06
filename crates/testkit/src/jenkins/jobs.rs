//! `/job/…` (trigger, job and build JSON, console, stop) and `/queue/…` handlers.
//!
//! Status codes follow `ParameterizedJobMixIn.doBuild`/`doBuildWithParameters`,
//! `ParametersDefinitionProperty.buildWithParameters`, `BuildAuthorizationToken.checkPermission`
//! and `Queue.doCancelItem` in jenkinsci/jenkins.

use std::time::Duration;

use axum::http::{HeaderValue, Method, StatusCode, header};
use axum::response::{IntoResponse, Response};

use super::Shared;
use super::json::{Render, job_rel_url};
use super::routes::{Ctx, error_page, hv};
use super::spec::ParamKind;
use super::state::{Build, Cause, Scheduled};

/// Quiet period when a job does not set one (Jenkins' global default).
const DEFAULT_QUIET: Duration = Duration::from_secs(5);

/// Dispatches `/job/a/job/b/<rest>`; the bool says whether the URL is one the stand-in models.
pub(crate) fn dispatch(shared: &Shared, ctx: &Ctx, segs: &[&str]) -> (Response, bool) {
    let mut names = Vec::new();
    let mut i = 0;
    while i + 1 < segs.len() && segs[i] == "job" {
        names.push(segs[i + 1]);
        i += 2;
    }
    if i < segs.len() && segs[i] == "job" {
        return (not_found(), true);
    }
    let full = names.join("/");
    let rest = &segs[i..];
    let get = ctx.method == Method::GET;
    let st = shared.state_now();
    let is_folder = st.folders.contains(&full);
    let Some(job) = st.jobs.get(&full) else {
        drop(st);
        if is_folder {
            return match rest {
                ["api", "json"] if get => {
                    let st = shared.state_now();
                    let r = Render {
                        root: &ctx.root,
                        clock: &shared.clock,
                        state: &st,
                    };
                    (ctx.json(r.folder(&full)), true)
                }
                [] if get => (html("folder"), true),
                _ => (not_found(), false),
            };
        }
        return (not_found(), true);
    };
    let render = Render {
        root: &ctx.root,
        clock: &shared.clock,
        state: &st,
    };
    let rsp = match rest {
        [] if get => html("job"),
        ["api", "json"] if get => ctx.json(render.job(&full, job)),
        ["buildWithParameters"] | ["build"] => {
            drop(st);
            return (trigger(shared, ctx, &full, rest[0] == "build"), true);
        }
        [number, more @ ..] => {
            let found = find_build(job, number);
            match (found, more) {
                (None, _) => not_found(),
                (Some(b), ["api", "json"]) if get => ctx.json(render.build(&full, job, b)),
                (Some(b), ["logText", "progressiveText"]) if get => {
                    progressive(ctx, &console_text(&full, b, st.sim_now), b.finished)
                }
                (Some(b), ["consoleText"]) if get => text(console_text(&full, b, st.sim_now)),
                (Some(b), ["wfapi", "describe"]) if get => ctx.json(super::wfapi::describe(
                    &shared.context_path,
                    &shared.clock,
                    &full,
                    b,
                    st.sim_now,
                )),
                (Some(b), ["stop"]) => {
                    let number = b.number;
                    drop(st);
                    return (stop(shared, ctx, &full, number), true);
                }
                (Some(_), [] | [""]) if get => html("build"),
                _ => return (not_found(), false),
            }
        }
        _ => return (not_found(), false),
    };
    (rsp, true)
}

fn find_build<'a>(job: &'a super::state::Job, id: &str) -> Option<&'a Build> {
    let rev = || job.builds.iter().rev();
    match id {
        "lastBuild" => job.builds.last(),
        "lastCompletedBuild" => rev().find(|b| b.finished),
        "lastSuccessfulBuild" => rev().find(|b| matches!(b.result(), Some("SUCCESS" | "UNSTABLE"))),
        "lastFailedBuild" => rev().find(|b| b.result() == Some("FAILURE")),
        n => {
            let n: u32 = n.parse().ok()?;
            job.builds.iter().find(|b| b.number == n)
        }
    }
}

fn not_found() -> Response {
    error_page(StatusCode::NOT_FOUND, "Not Found")
}

fn html(what: &str) -> Response {
    let mut rsp = format!("<!DOCTYPE html><html><body>fake-jenkins {what} page</body></html>")
        .into_response();
    rsp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=utf-8"),
    );
    rsp
}

fn text(body: String) -> Response {
    let mut rsp = body.into_response();
    rsp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/plain;charset=UTF-8"),
    );
    rsp
}

/// Parses `delay` as Jenkins' `TimeDuration.fromString` does for the common forms.
fn parse_delay(s: &str) -> Option<Duration> {
    let s = s.trim();
    let (num, unit) = s
        .find(|c: char| !c.is_ascii_digit())
        .map_or((s, ""), |i| s.split_at(i));
    let n: u64 = num.parse().ok()?;
    match unit.trim() {
        "" | "sec" | "secs" | "s" => Some(Duration::from_secs(n)),
        "ms" => Some(Duration::from_millis(n)),
        "min" | "mins" => Some(Duration::from_secs(n * 60)),
        _ => None,
    }
}

fn trigger(shared: &Shared, ctx: &Ctx, full: &str, plain_build: bool) -> Response {
    let mut st = shared.state_now();
    let Some(job) = st.jobs.get(full) else {
        return not_found();
    };
    let defs = job.spec.parameters.clone();
    let disabled = job.spec.disabled;
    let quiet = job.spec.quiet_period.unwrap_or(DEFAULT_QUIET);
    let not_buildable = || error_page(StatusCode::CONFLICT, &format!("{full} is not buildable"));
    if plain_build {
        // doBuild: buildable check, parameter form on GET, then permission/POST check.
        if disabled {
            return not_buildable();
        }
        if !defs.is_empty() && ctx.method != Method::POST {
            return html("build-with-parameters form");
        }
    }
    if !ctx.can_write() {
        return ctx.forbidden("hudson.model.Item.Build");
    }
    if ctx.method != Method::POST {
        let mut rsp = error_page(StatusCode::METHOD_NOT_ALLOWED, "POST is required");
        rsp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return rsp;
    }
    if disabled {
        return not_buildable();
    }
    if !plain_build && defs.is_empty() {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("{full} is not parameterized"),
        );
    }
    if plain_build && !defs.is_empty() {
        return error_page(
            StatusCode::BAD_REQUEST,
            "This page expects a form submission (use buildWithParameters)",
        );
    }
    let mut values = Vec::new();
    for d in &defs {
        let given = ctx.param(&d.name).map(str::to_owned);
        let value = match d.kind {
            ParamKind::String => given.or_else(|| d.default.clone()).unwrap_or_default(),
            ParamKind::Boolean => given
                .map(|v| v.eq_ignore_ascii_case("true") || v == "on")
                .unwrap_or(d.default.as_deref() == Some("true"))
                .to_string(),
            ParamKind::Choice => match given {
                None => d.choices.first().cloned().unwrap_or_default(),
                Some(v) if d.choices.contains(&v) => v,
                Some(v) => {
                    return error_page(
                        StatusCode::INTERNAL_SERVER_ERROR,
                        &format!(
                            "java.lang.IllegalArgumentException: Illegal choice for parameter {}: {v}",
                            d.name
                        ),
                    );
                }
            },
        };
        values.push((d.name.clone(), value));
    }
    let delay = match ctx.param("delay") {
        None => quiet,
        Some(d) => match parse_delay(d) {
            Some(d) => d,
            None => return error_page(StatusCode::BAD_REQUEST, &format!("Invalid delay: {d}")),
        },
    };
    let cause = Cause {
        user_id: ctx.caller.name().map(str::to_owned),
    };
    let (status, id) = match st.schedule(full, values, cause, delay) {
        Scheduled::Created(id) => (StatusCode::CREATED, id),
        // Unparameterized `build` still answers 201 for an existing item (JENKINS-66105 TODO).
        Scheduled::Existing(id) if plain_build => (StatusCode::CREATED, id),
        Scheduled::Existing(id) => (StatusCode::SEE_OTHER, id),
    };
    let now = shared.clock.now();
    st.advance_to(now);
    let mut rsp = status.into_response();
    rsp.headers_mut().insert(
        header::LOCATION,
        hv(&format!("{}queue/item/{id}/", ctx.root)),
    );
    rsp
}

fn stop(shared: &Shared, ctx: &Ctx, full: &str, number: u32) -> Response {
    if !ctx.can_write() {
        return ctx.forbidden("hudson.model.Item.Cancel");
    }
    if ctx.method != Method::POST {
        let mut rsp = error_page(StatusCode::METHOD_NOT_ALLOWED, "POST is required");
        rsp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return rsp;
    }
    let mut st = shared.state_now();
    st.stop(full, number, ctx.caller.shown());
    let now = shared.clock.now();
    st.advance_to(now);
    let mut rsp = StatusCode::FOUND.into_response();
    rsp.headers_mut().insert(
        header::LOCATION,
        hv(&format!("{}{}{number}/", ctx.root, job_rel_url(full))),
    );
    rsp
}

/// The console text of a build at time `now`: scripted lines appear evenly over the run.
pub(crate) fn console_text(job: &str, b: &Build, now: Duration) -> String {
    let who = b
        .causes
        .first()
        .and_then(|c| c.user_id.clone())
        .unwrap_or_else(|| "anonymous".to_owned());
    let mut out = format!(
        "Started by user {who}\nRunning as SYSTEM\nBuilding in workspace /var/jenkins_home/workspace/{}\n",
        job.replace('/', "_")
    );
    let cutoff = now.min(b.end);
    let n = b.script.console.len() as u32;
    for (i, line) in b.script.console.iter().enumerate() {
        let at = b.start + b.script.duration * (i as u32 + 1) / (n + 1);
        if at <= cutoff {
            out.push_str(line);
            out.push('\n');
        }
    }
    if b.finished {
        if let Some(by) = &b.aborted_by {
            out.push_str(&format!("Aborted by {by}\n"));
        }
        out.push_str(&format!("Finished: {}\n", b.result().unwrap_or("FAILURE")));
    }
    out
}

/// `logText/progressiveText` as stapler's `LargeText.doProgressText` answers it.
fn progressive(ctx: &Ctx, full_text: &str, finished: bool) -> Response {
    let len = full_text.len();
    let mut start: usize = ctx.param("start").and_then(|s| s.parse().ok()).unwrap_or(0);
    if start > len {
        start = 0; // "text rolled over"
    }
    let mut rsp = text(full_text[start..].to_owned());
    rsp.headers_mut()
        .insert("X-Text-Size", hv(&len.to_string()));
    if !finished {
        rsp.headers_mut()
            .insert("X-More-Data", HeaderValue::from_static("true"));
    }
    rsp
}

pub(crate) fn queue_item(shared: &Shared, ctx: &Ctx, id: &str) -> Response {
    let st = shared.state_now();
    let item = id.parse::<u64>().ok().and_then(|id| st.items.get(&id));
    match item {
        Some(item) => ctx.json(
            Render {
                root: &ctx.root,
                clock: &shared.clock,
                state: &st,
            }
            .item(item),
        ),
        None => not_found(),
    }
}

pub(crate) fn cancel_item(shared: &Shared, ctx: &Ctx) -> Response {
    if ctx.method != Method::POST {
        let mut rsp = error_page(StatusCode::METHOD_NOT_ALLOWED, "POST is required");
        rsp.headers_mut()
            .insert(header::ALLOW, HeaderValue::from_static("POST"));
        return rsp;
    }
    let id_text = ctx.param("id").unwrap_or_default().to_owned();
    let Ok(id) = id_text.parse::<u64>() else {
        return error_page(
            StatusCode::BAD_REQUEST,
            &format!("id: {id_text:?} is not a number"),
        );
    };
    let mut st = shared.state_now();
    // Queue.getItem finds live items and, for about 5 minutes, left ones (leftItems).
    let Some(item) = st.items.get(&id) else {
        return error_page(
            StatusCode::NOT_FOUND,
            &format!("Provided id ({id}) not found"),
        );
    };
    if !ctx.can_write() {
        return error_page(
            StatusCode::UNPROCESSABLE_ENTITY,
            &format!("Item for id ({id}) is not cancellable"),
        );
    }
    if item.left.is_some() {
        // LeftItem.cancel returns false.
        return error_page(
            StatusCode::INTERNAL_SERVER_ERROR,
            &format!("Could not cancel run for id {id}"),
        );
    }
    st.cancel(id);
    StatusCode::NO_CONTENT.into_response()
}
