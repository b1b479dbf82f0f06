//! Gate's execution queries: search by trigger, per-application lists, by id.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State as AxState};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use serde_json::Map;
use spinnaker_client::model::execution::Execution;

use super::Shared;
use super::gate::{kork, not_found};
use super::routes::Q;

fn bad_number(message: String) -> Response {
    kork(
        StatusCode::BAD_REQUEST,
        "org.springframework.web.method.annotation.MethodArgumentTypeMismatchException",
        message,
    )
}

pub(crate) fn list(q: &HashMap<String, String>, key: &str) -> Vec<String> {
    q.get(key)
        .map(|v| {
            v.split(',')
                .filter(|s| !s.is_empty())
                .map(str::to_owned)
                .collect()
        })
        .unwrap_or_default()
}

pub(crate) async fn search(
    AxState(shared): AxState<Shared>,
    Path(app): Path<String>,
    Query(q): Q,
) -> Response {
    // Gate ExecutionsController / orca TaskController.searchForPipelinesByTrigger: newest
    // build first, `startIndex`/`size` (default 10) paging, unexpanded unless `expand=true`.
    let types = list(&q, "triggerTypes");
    let statuses = list(&q, "statuses");
    let number = |key: &str, default: usize| match q.get(key) {
        None => Ok(default),
        Some(v) => v
            .parse::<usize>()
            .map_err(|_| format!("{key} must be a non-negative number, got {v:?}")),
    };
    let (start, size) = match (number("startIndex", 0), number("size", 10)) {
        (Ok(a), Ok(b)) => (a, b),
        (Err(message), _) | (_, Err(message)) => return bad_number(message),
    };
    let flag = |key: &str| q.get(key).map(String::as_str) == Some("true");
    let state = shared.lock();
    let mut found: Vec<Execution> = state
        .runs
        .iter()
        .map(|r| &r.exec)
        .filter(|e| app == "*" || e.application == app)
        .filter(|e| types.is_empty() || types.contains(&e.trigger.trigger_type))
        .filter(|e| {
            q.get("eventId")
                .is_none_or(|id| e.event_id() == Some(id.as_str()))
        })
        .filter(|e| {
            q.get("pipelineName")
                .is_none_or(|n| e.name.as_ref() == Some(n))
        })
        .filter(|e| statuses.is_empty() || statuses.iter().any(|s| s == e.status.as_str()))
        .cloned()
        .collect();
    if !flag("reverse") {
        found.reverse();
    }
    let mut page: Vec<Execution> = found.into_iter().skip(start).take(size).collect();
    if !flag("expand") {
        for stage in page.iter_mut().flat_map(|e| e.stages.iter_mut()) {
            stage.context = Default::default();
            stage.outputs = Some(Map::new());
            stage.tasks = Some(Vec::new());
        }
    }
    Json(page).into_response()
}

pub(crate) async fn app_executions(
    AxState(shared): AxState<Shared>,
    Path(app): Path<String>,
    Query(q): Q,
) -> Response {
    let limit: usize = match q.get("limit").map(|l| l.parse()) {
        None => 5,
        Some(Ok(l)) => l,
        Some(Err(_)) => return bad_number("limit must be a number".into()),
    };
    let statuses = list(&q, "statuses");
    let state = shared.lock();
    let mut per_config: HashMap<Option<String>, usize> = HashMap::new();
    let mut out = Vec::new();
    for e in state.runs.iter().rev().map(|r| &r.exec) {
        if e.application != app
            || !(statuses.is_empty() || statuses.iter().any(|s| s == e.status.as_str()))
        {
            continue;
        }
        let n = per_config.entry(e.pipeline_config_id.clone()).or_default();
        if *n < limit {
            *n += 1;
            out.push(e.clone());
        }
    }
    Json(out).into_response()
}

pub(crate) async fn executions_by_id(
    AxState(shared): AxState<Shared>,
    Query(q): Q,
) -> Json<Vec<Execution>> {
    let ids = list(&q, "executionIds");
    let state = shared.lock();
    Json(
        ids.iter()
            .filter_map(|id| state.runs.iter().find(|r| &r.exec.id == id))
            .map(|r| r.exec.clone())
            .collect(),
    )
}

pub(crate) async fn execution(
    AxState(shared): AxState<Shared>,
    Path(id): Path<String>,
) -> Response {
    let state = shared.lock();
    match state.runs.iter().find(|r| r.exec.id == id) {
        Some(r) => Json(&r.exec).into_response(),
        None => not_found(format!("Pipeline not found (id: {id})")),
    }
}
