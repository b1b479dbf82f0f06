//! Gate endpoints baton uses, answered from the stand-in's state.

use std::collections::HashMap;

use axum::Json;
use axum::extract::{Path, Query, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::{get, patch, post, put};
use axum::{Router, middleware};
use bytes::Bytes;
use secrecy::ExposeSecret;
use serde_json::{Map, Value, json};
use spinnaker_client::model::execution::ExecutionTrigger;
use spinnaker_client::model::pipeline::PipelineConfig;

use super::Shared;
use super::gate::{self, kork, not_found, parse_json, user_of};
use super::kork::KArtifact;
use super::orca;
use super::queries;
use super::state::{GateAuth, PendingEvent};

pub(crate) type Q = Query<HashMap<String, String>>;

/// The router with every endpoint and the middleware.
pub(crate) fn router(shared: Shared) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/login", post(login))
        .route("/webhooks/webhook/{source}", post(webhook))
        .route("/applications", get(applications))
        .route("/applications/{app}", get(application))
        .route(
            "/applications/{app}/executions/search",
            get(queries::search),
        )
        .route(
            "/applications/{app}/pipelines",
            get(queries::app_executions),
        )
        .route("/applications/{app}/pipelineConfigs", get(pipeline_configs))
        .route("/executions", get(queries::executions_by_id))
        .route("/pipelines", post(save_pipeline))
        .route("/pipelines/{id}", get(queries::execution))
        .route("/pipelines/{id}/{name}", post(start_pipeline))
        .route("/pipelines/{id}/cancel", put(cancel))
        .route("/pipelines/{id}/stages/{stage_id}", patch(update_stage))
        .fallback(unexpected)
        .layer(middleware::from_fn_with_state(
            shared.clone(),
            gate::middleware,
        ))
        .with_state(shared)
}

async fn health() -> Json<Value> {
    Json(json!({"status": "UP"}))
}

async fn applications(AxState(shared): AxState<Shared>) -> Json<Value> {
    let state = shared.lock();
    let list: Vec<Value> = state
        .applications
        .iter()
        .map(|name| json!({"name": name}))
        .collect();
    Json(Value::Array(list))
}

async fn application(AxState(shared): AxState<Shared>, Path(app): Path<String>) -> Response {
    // gate ApplicationController.getApplication
    if shared.lock().applications.contains(&app) {
        Json(json!({"name": app, "attributes": {"name": app}, "clusters": {}})).into_response()
    } else {
        not_found(format!("Application not found (id: {app})"))
    }
}

async fn unexpected(method: axum::http::Method, uri: axum::http::Uri) -> Response {
    let mut response = not_found(format!(
        "fake-spinnaker has no route for {method} {}",
        uri.path()
    ));
    response.extensions_mut().insert(gate::Unexpected);
    response
}

async fn login(AxState(shared): AxState<Shared>, body: Bytes) -> Response {
    let form: HashMap<String, String> = url::form_urlencoded::parse(&body).into_owned().collect();
    let mut state = shared.lock();
    let ok = match &state.settings.auth {
        GateAuth::FormLogin { user, password } => {
            form.get("username") == Some(user)
                && form.get("password").map(String::as_str) == Some(password.expose_secret())
        }
        _ => false,
    };
    if !ok {
        return (StatusCode::FOUND, [(header::LOCATION, "/login?error")]).into_response();
    }
    let session = state.new_uuid();
    state.sessions.insert(session.clone());
    (
        StatusCode::FOUND,
        [
            (header::LOCATION, "/".to_owned()),
            (
                header::SET_COOKIE,
                format!("SESSION={session}; Path=/; HttpOnly"),
            ),
        ],
    )
        .into_response()
}

async fn webhook(
    AxState(shared): AxState<Shared>,
    Path(source): Path<String>,
    body: Bytes,
) -> Response {
    // Gate's `@RequestBody(required = false) Map event`: no body (or JSON null) is `{}`.
    let payload: Map<String, Value> = if body.iter().all(u8::is_ascii_whitespace) {
        Map::new()
    } else {
        match parse_json::<Option<Map<String, Value>>>(&body) {
            Ok(p) => p.unwrap_or_default(),
            Err(r) => return r.into_response(),
        }
    };
    let mut state = shared.lock();
    let event_id = state.new_uuid();
    let due_ms = state.now_ms + state.settings.match_delay.as_millis() as u64;
    state.events.push(PendingEvent {
        due_ms,
        event_id: event_id.clone(),
        source,
        payload,
    });
    Json(json!({"eventProcessed": true, "eventId": event_id})).into_response()
}

async fn pipeline_configs(
    AxState(shared): AxState<Shared>,
    Path(app): Path<String>,
) -> Json<Vec<PipelineConfig>> {
    let state = shared.lock();
    Json(
        state
            .pipelines
            .iter()
            .filter(|p| p.application == app)
            .cloned()
            .collect(),
    )
}

async fn save_pipeline(AxState(shared): AxState<Shared>, body: Bytes) -> Response {
    let value: Value = match parse_json(&body) {
        Ok(v) => v,
        Err(r) => return r.into_response(),
    };
    let config: PipelineConfig = match serde_path_to_error::deserialize(value) {
        Ok(c) => c,
        Err(e) => {
            return kork(
                StatusCode::BAD_REQUEST,
                "com.netflix.spinnaker.gate.controllers.PipelineController$PipelineException",
                format!(
                    "Pipeline save operation did not succeed: {} at {}",
                    e.inner(),
                    e.path()
                ),
            );
        }
    };
    if config.application.is_empty() || config.name.is_empty() {
        return kork(
            StatusCode::BAD_REQUEST,
            "com.netflix.spinnaker.gate.controllers.PipelineController$PipelineException",
            "Pipeline save operation did not succeed: a pipeline needs application and name",
        );
    }
    shared.lock().save_pipeline(config);
    StatusCode::OK.into_response()
}

async fn start_pipeline(
    AxState(shared): AxState<Shared>,
    headers: HeaderMap,
    Path((app, name)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let mut body: Map<String, Value> = if body.is_empty() {
        Map::new()
    } else {
        match parse_json(&body) {
            Ok(b) => b,
            Err(r) => return r.into_response(),
        }
    };
    let user = user_of(&shared, &headers);
    let mut state = shared.lock();
    let Some(config) = state
        .pipelines
        .iter()
        .find(|p| {
            p.application == app && (p.name == name || p.id.as_deref() == Some(name.as_str()))
        })
        .cloned()
    else {
        return not_found(format!(
            "Unable to trigger pipeline (application: {app}, pipelineNameOrId: {name}). Error: Pipeline not found"
        ));
    };
    body.entry("user").or_insert_with(|| user.into());
    body.entry("type").or_insert_with(|| "manual".into());
    let exec_trigger: ExecutionTrigger = match serde_json::from_value(Value::Object(body)) {
        Ok(t) => t,
        Err(e) => {
            return kork(
                StatusCode::BAD_REQUEST,
                "com.netflix.spinnaker.kork.web.exceptions.InvalidRequestException",
                format!("invalid trigger: {e}"),
            );
        }
    };
    let ids: Vec<String> = exec_trigger
        .extra
        .get("expectedArtifactIds")
        .cloned()
        .and_then(|v| serde_json::from_value(v).ok())
        .unwrap_or_default();
    let posted = serde_json::to_value(&exec_trigger.artifacts).unwrap_or(Value::Null);
    let received: Vec<Option<KArtifact>> = match posted.as_array() {
        Some(items) => match items
            .iter()
            .enumerate()
            .map(|(i, a)| KArtifact::read(a, &format!("artifacts[{i}]")).map(Some))
            .collect()
        {
            Ok(list) => list,
            Err(message) => {
                return kork(
                    StatusCode::BAD_REQUEST,
                    "com.fasterxml.jackson.databind.exc.MismatchedInputException",
                    message,
                );
            }
        },
        None => Vec::new(),
    };
    let id = orca::launch(&mut state, &config, &ids, &received, exec_trigger);
    (
        StatusCode::ACCEPTED,
        Json(json!({"ref": format!("/pipelines/{id}")})),
    )
        .into_response()
}

async fn cancel(
    AxState(shared): AxState<Shared>,
    headers: HeaderMap,
    Path(id): Path<String>,
    Query(q): Q,
) -> Response {
    let user = user_of(&shared, &headers);
    let mut state = shared.lock();
    if orca::cancel(&mut state, &id, &user, q.get("reason").cloned()) {
        StatusCode::OK.into_response()
    } else {
        not_found(format!("Pipeline not found (id: {id})"))
    }
}

async fn update_stage(
    AxState(shared): AxState<Shared>,
    headers: HeaderMap,
    Path((id, stage_id)): Path<(String, String)>,
    body: Bytes,
) -> Response {
    let context: Map<String, Value> = match parse_json(&body) {
        Ok(c) => c,
        Err(r) => return r.into_response(),
    };
    let user = user_of(&shared, &headers);
    let mut state = shared.lock();
    // TaskController.updatePipelineStage: context.putAll(body), then the stage's
    // `lastModified` {user, allowedAccounts, lastModifiedTime} and `lastModifiedBy`.
    let now = state.epoch_ms();
    let Some(run) = state.runs.iter_mut().find(|r| r.exec.id == id) else {
        return not_found(format!("Pipeline not found (id: {id})"));
    };
    let Some(stage) = run.exec.stages.iter_mut().find(|s| s.id == stage_id) else {
        return not_found(format!(
            "Stage not found (id: {stage_id}) in execution {id}"
        ));
    };
    stage.extra.insert(
        "lastModified".into(),
        json!({"user": user, "allowedAccounts": [], "lastModifiedTime": now}),
    );
    let mut merged = match serde_json::to_value(&stage.context) {
        Ok(Value::Object(m)) => m,
        _ => Map::new(),
    };
    merged.extend(context);
    merged.insert("lastModifiedBy".into(), user.into());
    match serde_json::from_value(Value::Object(merged)) {
        Ok(c) => stage.context = c,
        Err(e) => {
            return kork(
                StatusCode::BAD_REQUEST,
                "com.netflix.spinnaker.kork.web.exceptions.InvalidRequestException",
                format!("invalid stage context: {e}"),
            );
        }
    }
    Json(&run.exec).into_response()
}
