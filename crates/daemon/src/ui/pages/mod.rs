//! The dashboard's HTML: one module per page, [`layout`] for the shell and the stylesheet,
//! and here the small pieces every page uses (times, digests, states, links, error pages).

pub mod layout;
pub mod login;
pub mod outbox;
pub mod overview;
pub mod product;

use axum::http::StatusCode;
use axum::response::{IntoResponse, Response};
use maud::{Markup, html};
use time::OffsetDateTime;

use super::UiState;
use super::auth::Viewer;
use super::data::EnvState;
use crate::api::error::ApiError;

/// A rendered page as an answer (`text/html; charset=utf-8`).
pub fn html(m: Markup) -> Response {
    m.into_response()
}

/// `sha256:` + the first 12 hex digits; other values unchanged.
pub fn short(digest: &str) -> String {
    match digest.strip_prefix("sha256:") {
        Some(hex) if hex.len() > 12 => format!("sha256:{}", &hex[..12]),
        _ => digest.to_owned(),
    }
}

/// How long ago `t` was, in rough words.
pub fn ago(now: OffsetDateTime, t: OffsetDateTime) -> String {
    let s = (now - t).whole_seconds();
    match s {
        i64::MIN..=59 => "just now".to_owned(),
        60..=3599 => format!("{} min ago", s / 60),
        3600..=172_799 => format!("{} h ago", s / 3600),
        _ => format!("{} days ago", s / 86_400),
    }
}

/// A time as `YYYY-MM-DD HH:MM UTC (N min ago)`, machine-readable in `<time>`.
pub fn when(t: OffsetDateTime) -> Markup {
    let now = OffsetDateTime::now_utc();
    let iso = t
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    let shown = format!(
        "{:04}-{:02}-{:02} {:02}:{:02} UTC",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute()
    );
    html! { time datetime=(iso) title=(iso) { (shown) } " (" (ago(now, t)) ")" }
}

/// [`when`] of Unix milliseconds.
pub fn when_ms(ms: i64) -> Markup {
    when(crate::store::from_millis(ms))
}

/// An environment state: symbol and words, coloured by class.
pub fn state(s: EnvState) -> Markup {
    html! {
        span class={ "state " (s.class()) } {
            span aria-hidden="true" { (s.symbol()) } " " (s.label())
        }
    }
}

/// Where a browser can see execution `id` of application `app`: Deck when
/// `ui.spinnaker_ui_url` is set, else Gate's JSON (without any credentials in its URL).
pub fn execution_url(s: &UiState, app: &str, id: &str) -> Option<String> {
    let c = &s.app.config.config;
    let enc = |v: &str| {
        percent_encoding::utf8_percent_encode(v, percent_encoding::NON_ALPHANUMERIC).to_string()
    };
    if let Some(deck) = &c.ui.spinnaker_ui_url {
        return Some(format!(
            "{}/#/applications/{}/executions/details/{}",
            deck.as_str().trim_end_matches('/'),
            enc(app),
            enc(id)
        ));
    }
    let mut gate = c.spinnaker.as_ref()?.gate_url.url().clone();
    let _ = gate.set_username("");
    let _ = gate.set_password(None);
    Some(format!(
        "{}/pipelines/{}",
        gate.as_str().trim_end_matches('/'),
        enc(id)
    ))
}

/// A link when the URL is an http(s) URL, else the text alone.
pub fn link(url: Option<&str>, text: &str) -> Markup {
    match url.filter(|u| u.starts_with("http://") || u.starts_with("https://")) {
        Some(u) => html! { a href=(u) rel="noreferrer" { (text) } },
        None => html! { (text) },
    }
}

/// A page saying what went wrong, with `status`.
pub fn error_page(s: &UiState, v: Option<&Viewer>, status: StatusCode, message: &str) -> Response {
    let title = status.canonical_reason().unwrap_or("Error");
    let body = html! {
        h1 { (title) }
        p class="error" role="alert" { (message) }
        p { a href=(s.paths.home()) { "Back to the overview" } }
    };
    (status, layout::page(s, v, title, body)).into_response()
}

/// An [`ApiError`] as a page: the same status and words the API would answer.
pub fn api_error(s: &UiState, v: Option<&Viewer>, e: ApiError) -> Response {
    let status = match &e {
        ApiError::BadRequest(_) => StatusCode::BAD_REQUEST,
        ApiError::Unauthorized(_) => StatusCode::UNAUTHORIZED,
        ApiError::Forbidden(_) => StatusCode::FORBIDDEN,
        ApiError::NotFound(_) => StatusCode::NOT_FOUND,
        ApiError::MethodNotAllowed(_) => StatusCode::METHOD_NOT_ALLOWED,
        ApiError::Conflict(_) => StatusCode::CONFLICT,
        ApiError::TooLarge(_) => StatusCode::PAYLOAD_TOO_LARGE,
        ApiError::Unprocessable(_) => StatusCode::UNPROCESSABLE_ENTITY,
        ApiError::Unavailable(_) => StatusCode::SERVICE_UNAVAILABLE,
        ApiError::Internal(inner) => {
            tracing::error!(error = format!("{inner:#}"), "dashboard request failed");
            return error_page(
                s,
                v,
                StatusCode::INTERNAL_SERVER_ERROR,
                "the daemon could not complete the request; see its log",
            );
        }
    };
    error_page(s, v, status, &e.to_string())
}
