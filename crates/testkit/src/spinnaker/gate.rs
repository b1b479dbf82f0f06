//! Gate's HTTP surface: middleware (recording, faults, auth, media types) and kork errors.

use axum::body::Body;
use axum::extract::{Request, State as AxState};
use axum::http::{HeaderMap, StatusCode, header};
use axum::middleware::Next;
use axum::response::{IntoResponse, Response};
use bytes::Bytes;
use secrecy::ExposeSecret;
use serde_json::json;

use super::Shared;
use super::state::{FaultKind, GateAuth, RecordedRequest};

/// A kork-shaped error response (`GenericExceptionHandlers`).
pub(crate) fn kork(status: StatusCode, exception: &str, message: impl Into<String>) -> Response {
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_millis() as i64)
        .unwrap_or(0);
    let body = json!({
        "timestamp": now,
        "status": status.as_u16(),
        "error": status.canonical_reason().unwrap_or("Error"),
        "exception": exception,
        "message": message.into(),
    });
    (status, axum::Json(body)).into_response()
}

/// Marks the catch-all's answer so the request is listed as unexpected.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Unexpected;

/// 404 with Spring's exception class.
pub(crate) fn not_found(message: impl Into<String>) -> Response {
    kork(
        StatusCode::NOT_FOUND,
        "com.netflix.spinnaker.kork.web.exceptions.NotFoundException",
        message,
    )
}

/// A body that is not the JSON expected; answers 400 like Spring's Jackson converter.
#[derive(Debug)]
pub(crate) struct BadJson(String);

impl IntoResponse for BadJson {
    fn into_response(self) -> Response {
        kork(
            StatusCode::BAD_REQUEST,
            "org.springframework.http.converter.HttpMessageNotReadableException",
            format!("JSON parse error: {}", self.0),
        )
    }
}

/// Parses a JSON body the way Spring does.
pub(crate) fn parse_json<T: serde::de::DeserializeOwned>(body: &Bytes) -> Result<T, BadJson> {
    serde_json::from_slice(body).map_err(|e| BadJson(e.to_string()))
}

/// The user a request authenticated as (`anonymous` without auth).
pub(crate) fn user_of(shared: &Shared, headers: &HeaderMap) -> String {
    let state = shared.lock();
    match &state.settings.auth {
        GateAuth::Basic { user, .. } | GateAuth::FormLogin { user, .. } => {
            if authorized(&state.settings.auth, &state.sessions, headers) {
                user.clone()
            } else {
                "anonymous".into()
            }
        }
        _ => "anonymous".into(),
    }
}

fn session_of(headers: &HeaderMap) -> Option<String> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(';'))
        .filter_map(|kv| kv.trim().strip_prefix("SESSION="))
        .map(str::to_owned)
        .next()
}

fn authorized(
    auth: &GateAuth,
    sessions: &std::collections::BTreeSet<String>,
    headers: &HeaderMap,
) -> bool {
    let authz = headers
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    match auth {
        GateAuth::None => true,
        GateAuth::Basic { user, password } => {
            use base64::Engine as _;
            let want = base64::engine::general_purpose::STANDARD
                .encode(format!("{user}:{}", password.expose_secret()));
            authz.strip_prefix("Basic ") == Some(want.as_str())
        }
        GateAuth::Bearer { token } => authz.strip_prefix("Bearer ") == Some(token.expose_secret()),
        GateAuth::FormLogin { .. } => session_of(headers).is_some_and(|s| sessions.contains(&s)),
    }
}

/// Records the request, applies faults, enforces auth and media types, then routes.
pub(crate) async fn middleware(
    AxState(shared): AxState<Shared>,
    req: Request,
    next: Next,
) -> Response {
    let (parts, body) = req.into_parts();
    let body = axum::body::to_bytes(body, 256 * 1024 * 1024)
        .await
        .unwrap_or_default();
    let header = |name: header::HeaderName| {
        parts
            .headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .map(str::to_owned)
    };
    let mut record = RecordedRequest {
        method: parts.method.to_string(),
        path: parts.uri.path().to_owned(),
        query: parts.uri.query().map(str::to_owned),
        content_type: header(header::CONTENT_TYPE),
        auth_scheme: header(header::AUTHORIZATION)
            .and_then(|a| a.split_whitespace().next().map(str::to_owned)),
        had_session: session_of(&parts.headers).is_some(),
        body: body.clone(),
        status: 0,
        unexpected: false,
        received_at: std::time::SystemTime::now(),
    };
    let fault = shared.lock().take_fault(&record.method, &record.path);
    let mut slow_answer = None;
    let response = match fault {
        Some(FaultKind::SlowAnswer(d)) => {
            slow_answer = Some(d);
            None
        }
        Some(FaultKind::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            Some(kork(status, "java.lang.RuntimeException", "injected fault"))
        }
        Some(FaultKind::Unavailable { retry_after_secs }) => {
            let mut r = kork(
                StatusCode::SERVICE_UNAVAILABLE,
                "java.lang.RuntimeException",
                "injected fault",
            );
            if let Ok(v) = header::HeaderValue::from_str(&retry_after_secs.to_string()) {
                r.headers_mut().insert(header::RETRY_AFTER, v);
            }
            Some(r)
        }
        Some(FaultKind::Respond(code, body)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::OK);
            Some((status, axum::Json(body)).into_response())
        }
        Some(FaultKind::Redirect(location)) => {
            Some((StatusCode::FOUND, [(header::LOCATION, location)]).into_response())
        }
        Some(FaultKind::Reset) => {
            let stream = futures::stream::iter([
                Ok::<_, std::io::Error>(Bytes::from_static(b"{\"partial\":")),
                Err(std::io::Error::new(
                    std::io::ErrorKind::ConnectionReset,
                    "injected reset",
                )),
            ]);
            shared.lock().requests.push(record);
            return Response::builder()
                .status(StatusCode::OK)
                .header(header::CONTENT_TYPE, "application/json")
                .body(Body::from_stream(stream))
                .unwrap_or_default();
        }
        Some(FaultKind::Delay(d)) => {
            tokio::time::sleep(d).await;
            None
        }
        None => None,
    };
    let response = match response {
        Some(r) => r,
        None => guarded(&shared, &parts, body, next).await,
    };
    record.status = response.status().as_u16();
    record.unexpected = response.extensions().get::<Unexpected>().is_some();
    shared.lock().requests.push(record);
    if let Some(d) = slow_answer {
        tokio::time::sleep(d).await;
    }
    response
}

/// Media types Spring's Jackson converter reads: `application/json` and `application/*+json`.
fn is_json_type(content_type: &str) -> bool {
    let essence = content_type
        .split(';')
        .next()
        .unwrap_or("")
        .trim()
        .to_ascii_lowercase();
    essence == "application/json"
        || (essence.starts_with("application/") && essence.ends_with("+json"))
}

async fn guarded(
    shared: &Shared,
    parts: &axum::http::request::Parts,
    body: Bytes,
    next: Next,
) -> Response {
    let path = parts.uri.path();
    let open = path == "/health" || path == "/login";
    if !open {
        let state = shared.lock();
        // AuthConfig: POST /webhooks/** is permitAll unless
        // security.webhooks.default-auth-enabled; Spring's Basic filter still rejects wrong
        // Basic credentials that are sent.
        let webhook = parts.method == axum::http::Method::POST
            && path.starts_with("/webhooks/")
            && !state.settings.webhook_auth;
        let sent_basic = parts
            .headers
            .get(header::AUTHORIZATION)
            .and_then(|v| v.to_str().ok())
            .is_some_and(|a| a.starts_with("Basic "));
        let checked =
            !webhook || (sent_basic && matches!(state.settings.auth, GateAuth::Basic { .. }));
        if checked && !authorized(&state.settings.auth, &state.sessions, &parts.headers) {
            return kork(
                StatusCode::UNAUTHORIZED,
                "org.springframework.security.authentication.InsufficientAuthenticationException",
                "Full authentication is required to access this resource",
            );
        }
    }
    let has_body = !body.is_empty();
    let content_type = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    if has_body && path != "/login" && !is_json_type(content_type) {
        return kork(
            StatusCode::UNSUPPORTED_MEDIA_TYPE,
            "org.springframework.web.HttpMediaTypeNotSupportedException",
            format!("Content type '{content_type}' not supported"),
        );
    }
    let req = Request::from_parts(parts.clone(), Body::from(body));
    next.run(req).await
}
