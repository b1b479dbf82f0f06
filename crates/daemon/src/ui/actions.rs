//! The dashboard's actions: promote or stop a waiting judgment, retry or drop an outbox
//! record. Each needs a valid session and the session's CSRF token, and goes through the same
//! function as the API's handler ([`crate::api::promote::judge`],
//! [`crate::api::ops::retry_record`], [`crate::api::ops::drop_record`]), so it is checked and
//! recorded the same way, with the logged-in caller as "by".

use std::collections::BTreeMap;

use axum::Form;
use axum::extract::{FromRequest, Path, Request, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::html;
use serde::Deserialize;
use utoipa::openapi::{ContentBuilder, RefOr, ResponseBuilder, ResponsesBuilder};

use super::UiState;
use super::auth::{self, Viewer};
use super::pages::{self, layout};
use crate::api::ops;
use crate::promote::PromoteRequest;
use baton_core::config::api::Right;

/// The fields every action form carries.
#[derive(Debug, Default, Deserialize, utoipa::ToSchema)]
#[serde(default)]
pub struct ActionForm {
    /// The session's CSRF token.
    pub csrf: String,
    /// `continue` or `stop` (judgments).
    pub decision: String,
    /// Recorded as the judgment input (judgments).
    pub input: String,
}

/// What every action answers, for the OpenAPI document.
pub struct ActionAnswers;

impl utoipa::IntoResponses for ActionAnswers {
    fn responses() -> BTreeMap<String, RefOr<utoipa::openapi::Response>> {
        let page = |what: &str| {
            ResponseBuilder::new()
                .description(format!("{what} (HTML)"))
                .content("text/html", ContentBuilder::new().build())
        };
        ResponsesBuilder::new()
            .response(
                "303",
                ResponseBuilder::new().description("Done: back to the page"),
            )
            .response("401", page("Not logged in"))
            .response(
                "403",
                page("The CSRF token is wrong, or the caller lacks the right"),
            )
            .response("422", page("Refused, with the reason"))
            .build()
            .into()
    }
}

/// 403: the CSRF token is missing or wrong.
pub fn csrf_refused(s: &UiState) -> Response {
    pages::error_page(
        s,
        None,
        StatusCode::FORBIDDEN,
        "refused: the form's CSRF token is missing or does not belong to your session; reload the page and try again",
    )
}

/// An action's caller and form: the request has a session, and the form's CSRF token belongs
/// to it. Without a session the answer is a 401 page, with a wrong token a 403 page.
pub struct Authorized {
    /// The logged-in caller.
    pub viewer: Viewer,
    /// The form it posted.
    pub form: ActionForm,
}

impl FromRequest<UiState> for Authorized {
    type Rejection = Response;

    async fn from_request(req: Request, s: &UiState) -> Result<Self, Response> {
        let headers = req.headers().clone();
        let Form(form) = Form::<ActionForm>::from_request(req, s)
            .await
            .map_err(IntoResponse::into_response)?;
        let Some(session) = auth::session(s, &headers) else {
            return Err(pages::error_page(
                s,
                None,
                StatusCode::UNAUTHORIZED,
                "log in first: actions need a session (your API token exchanged at the login form)",
            ));
        };
        if !s.key.check_csrf(&session, &form.csrf) {
            tracing::warn!(caller = %session.caller, "dashboard action refused: bad CSRF token");
            return Err(csrf_refused(s));
        }
        let viewer = Viewer {
            csrf: Some(s.key.csrf(&session)),
            session: Some(session),
        };
        Ok(Self { viewer, form })
    }
}

fn done(s: &UiState, v: &Viewer, title: &str, message: String, back: (&str, String)) -> Response {
    let body = html! {
        h1 { (title) }
        p class="notice" role="status" { (message) }
        p { a href=(back.1) { "Back to " (back.0) } }
    };
    pages::html(layout::page(s, Some(v), title, body))
}

/// `POST /products/{product}/environments/{env}/judgment` (`decision` = continue or stop).
#[utoipa::path(post, path = "/products/{product}/environments/{env}/judgment", tag = "dashboard",
    summary = "Continue or stop the judgment waiting in an environment",
    params(("product" = String, Path, description = "Product name"), ("env" = String, Path, description = "Environment")),
    request_body(content = ActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(ActionAnswers))]
pub async fn judgment(
    State(s): State<UiState>,
    Path((product, environment)): Path<(String, String)>,
    Authorized { viewer: v, form }: Authorized,
) -> Response {
    let stop = match form.decision.as_str() {
        "continue" => false,
        "stop" => true,
        other => {
            let msg = format!("decision: {other:?} is neither continue nor stop");
            return pages::error_page(&s, Some(&v), StatusCode::UNPROCESSABLE_ENTITY, &msg);
        }
    };
    let req = PromoteRequest {
        product,
        environment,
        stop,
        input: Some(form.input.trim().to_owned()).filter(|i| !i.is_empty()),
        force: false,
        by: v.caller().unwrap_or("unknown").to_owned(),
    };
    match crate::api::promote::judge(&s.app, s.promoter.as_ref(), &req).await {
        Ok(done_) => {
            let verb = if stop { "Stopped" } else { "Promoted" };
            let message = format!(
                "{verb} {} {}: judgment {} by {} (execution {}, recorded as event {})",
                req.product,
                req.environment,
                if stop { "stop" } else { "continue" },
                req.by,
                done_.execution_id,
                done_.event_id
            );
            let back = s.paths.at(&format!("/products/{}", req.product));
            done(&s, &v, verb, message, (&req.product, back))
        }
        Err(e) => pages::api_error(&s, Some(&v), e),
    }
}

/// What an outbox button asks for.
#[derive(Debug, Clone, Copy, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum OutboxOp {
    /// Make the record due again now.
    Retry,
    /// Forget the record.
    Drop,
}

/// `POST /outbox/{id}/retry` and `POST /outbox/{id}/drop`.
#[utoipa::path(post, path = "/outbox/{id}/{op}", tag = "dashboard", summary = "Retry or drop an outbox record",
    params(("id" = i64, Path, description = "Outbox record id"), ("op" = OutboxOp, Path, description = "retry or drop")),
    request_body(content = ActionForm, content_type = "application/x-www-form-urlencoded"),
    responses(ActionAnswers))]
pub async fn outbox(
    State(s): State<UiState>,
    Path((id, op)): Path<(i64, OutboxOp)>,
    Authorized { viewer: v, .. }: Authorized,
) -> Response {
    let by = v.caller().unwrap_or("unknown");
    let right = match op {
        OutboxOp::Retry => Right::Retry,
        OutboxOp::Drop => Right::Drop,
    };
    if let Err(e) = crate::api::rights::require(&s.app, by, right) {
        return pages::api_error(&s, Some(&v), e);
    }
    let result = match op {
        OutboxOp::Retry => ops::retry_record(&s.app, id, by).await.map(|r| {
            (
                "Retried",
                format!("outbox record {} ({}) is due again now", r.id, r.kind),
            )
        }),
        OutboxOp::Drop => ops::drop_record(&s.app, id, by).await.map(|r| {
            (
                "Dropped",
                format!("outbox record {} ({}) is forgotten", r.id, r.kind),
            )
        }),
    };
    match result {
        Ok((title, message)) => done(
            &s,
            &v,
            title,
            message,
            ("the outbox", s.paths.at("/outbox")),
        ),
        Err(e) => pages::api_error(&s, Some(&v), e),
    }
}
