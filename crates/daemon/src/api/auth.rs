//! Bearer-token checks for `/v1/*`, against the tokens of [`baton_core::tokens`] (constant
//! time, SHA-256 digests; the caller identity rules are documented there).

use axum::extract::{Request, State};
use axum::http::header;
use axum::middleware::Next;
use axum::response::Response;

pub use baton_core::tokens::{Caller, Tokens};

use super::AppState;
use super::error::ApiError;

/// Middleware: lets the request through only with a valid `Authorization: Bearer` header.
pub async fn require_token(
    State(state): State<AppState>,
    request: Request,
    next: Next,
) -> Result<Response, ApiError> {
    if state.config.config.api.auth == baton_core::config::api::ApiAuth::None {
        let mut request = request;
        request.extensions_mut().insert(Caller("anonymous".into()));
        return Ok(next.run(request).await);
    }
    if state.tokens.is_empty() {
        return Err(ApiError::Unauthorized(
            "this daemon accepts no API tokens: set api_tokens_file in its config".into(),
        ));
    }
    let presented = request
        .headers()
        .get(header::AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            let (scheme, token) = v.split_once(' ')?;
            scheme
                .eq_ignore_ascii_case("bearer")
                .then_some(token.trim())
        });
    match presented {
        None => Err(ApiError::Unauthorized(
            "send Authorization: Bearer <token> (a line of the daemon's api_tokens_file)".into(),
        )),
        Some(t) => match state.tokens.identify(t) {
            Some(caller) => {
                super::rights::check_route(&state, &caller.0, &request)?;
                let mut request = request;
                request.extensions_mut().insert(caller);
                Ok(next.run(request).await)
            }
            None => Err(ApiError::Unauthorized(
                "the bearer token is not accepted".into(),
            )),
        },
    }
}
