//! Who is looking: a valid session cookie, or nobody (allowed for the read-only pages with
//! `ui.open_read_only`). Login exchanges an API token for a session ([`super::session`]);
//! logout clears the cookie.

use axum::extract::{FromRequestParts, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Redirect, Response};
use axum::{Form, RequestPartsExt as _};
use cookie::{Cookie, SameSite};
use serde::Deserialize;

use super::UiState;
use super::pages::{self, login};
use super::session::{COOKIE, Session, TTL};

/// The viewer of a read-only page: a session, or none when `ui.open_read_only` lets anyone
/// look. Without either, the request is redirected to the login form.
#[derive(Debug, Clone)]
pub struct Viewer {
    /// The session, when logged in.
    pub session: Option<Session>,
    /// Its CSRF token, for the forms on the page.
    pub csrf: Option<String>,
}

impl Viewer {
    /// The caller's name, when logged in.
    pub fn caller(&self) -> Option<&str> {
        self.session.as_ref().map(|s| s.caller.as_str())
    }

    /// Whether the viewer is logged in with `right` (`api.rights`), so the page offers the
    /// action; the action itself checks again ([`crate::api::rights::require`]).
    pub fn may(&self, state: &UiState, right: baton_core::config::api::Right) -> bool {
        self.caller()
            .is_some_and(|c| crate::api::rights::allowed(&state.app.config.config.api, c, right))
    }
}

fn now_s() -> i64 {
    time::OffsetDateTime::now_utc().unix_timestamp()
}

/// The valid session the request's cookie carries, if any.
pub fn session(state: &UiState, headers: &HeaderMap) -> Option<Session> {
    headers
        .get_all(header::COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(Cookie::split_parse)
        .filter_map(Result::ok)
        .filter(|c| c.name() == COOKIE)
        .find_map(|c| state.key.verify(c.value(), now_s()))
}

impl FromRequestParts<UiState> for Viewer {
    type Rejection = Response;

    async fn from_request_parts(parts: &mut Parts, state: &UiState) -> Result<Self, Response> {
        let session = session(state, &parts.headers);
        if session.is_none() && !state.app.config.config.ui.open_read_only {
            // The path as the browser sent it (a nested router strips the prefix).
            let axum::extract::OriginalUri(uri) =
                parts.extract().await.map_err(IntoResponse::into_response)?;
            let next = uri.path_and_query().map_or("", |p| p.as_str());
            let to = format!(
                "{}?next={}",
                state.paths.at("/login"),
                percent_encoding::utf8_percent_encode(next, percent_encoding::NON_ALPHANUMERIC)
            );
            return Err(Redirect::to(&to).into_response());
        }
        let csrf = session.as_ref().map(|s| state.key.csrf(s));
        Ok(Self { session, csrf })
    }
}

/// Query of the login form.
#[derive(Debug, Default, Deserialize, utoipa::IntoParams)]
#[into_params(parameter_in = Query)]
pub struct LoginQuery {
    /// Where to go after logging in (a path under the dashboard).
    pub next: Option<String>,
}

/// `GET /login`.
#[utoipa::path(get, path = "/login", tag = "dashboard", summary = "The login form", params(LoginQuery),
    responses((status = 200, description = "The form (HTML)", content_type = "text/html")))]
pub async fn login_form(
    State(state): State<UiState>,
    q: axum::extract::Query<LoginQuery>,
) -> Response {
    let next = safe_next(&state, q.0.next.as_deref());
    pages::html(login::page(&state, &next, None)).into_response()
}

/// The login form's fields.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LoginForm {
    /// A line of `api_tokens_file` (the token part of `NAME:TOKEN`).
    #[schema(value_type = String)]
    pub token: secrecy::SecretString,
    /// Where to go afterwards.
    #[serde(default)]
    pub next: String,
}

/// `POST /login`: a known token gets a session cookie and a redirect to `next`.
#[utoipa::path(post, path = "/login", tag = "dashboard", summary = "Log in with an API token",
    request_body(content = LoginForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "Logged in: a session cookie, and on to `next`"),
        (status = 401, description = "The token is not accepted: the form again (HTML)", content_type = "text/html"),
    ))]
pub async fn login(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<LoginForm>,
) -> Response {
    use secrecy::ExposeSecret as _;
    let next = safe_next(&state, Some(&form.next));
    let refuse = |why: &str| {
        let page = login::page(&state, &next, Some(why));
        (StatusCode::UNAUTHORIZED, pages::html(page)).into_response()
    };
    if state.app.tokens.is_empty() {
        return refuse("this daemon accepts no API tokens: set api_tokens_file in its config");
    }
    let Some(caller) = state.app.tokens.identify(form.token.expose_secret().trim()) else {
        tracing::info!("dashboard login refused: unknown token");
        return refuse(
            "that token is not accepted; paste a line of the daemon's api_tokens_file (the part after NAME:)",
        );
    };
    let Some(value) = state.key.issue(&caller.0, now_s()) else {
        return refuse("this daemon accepts no API tokens: set api_tokens_file in its config");
    };
    tracing::info!(caller = %caller.0, "dashboard login");
    let cookie = session_cookie(&state, &headers, value, TTL.as_secs() as i64);
    with_cookie(Redirect::to(&next).into_response(), &cookie)
}

/// The logout form's fields.
#[derive(Deserialize, utoipa::ToSchema)]
pub struct LogoutForm {
    /// The session's CSRF token.
    #[serde(default)]
    pub csrf: String,
}

/// `POST /logout`: clears the cookie (with a valid CSRF token) and goes to the login form.
#[utoipa::path(post, path = "/logout", tag = "dashboard", summary = "Log out",
    request_body(content = LogoutForm, content_type = "application/x-www-form-urlencoded"),
    responses(
        (status = 303, description = "The cookie cleared; to the login form"),
        (status = 403, description = "The CSRF token is missing or wrong (HTML)", content_type = "text/html"),
    ))]
pub async fn logout(
    State(state): State<UiState>,
    headers: HeaderMap,
    Form(form): Form<LogoutForm>,
) -> Response {
    if let Some(s) = session(&state, &headers)
        && !state.key.check_csrf(&s, &form.csrf)
    {
        return super::actions::csrf_refused(&state);
    }
    let cookie = session_cookie(&state, &headers, String::new(), 0);
    with_cookie(
        Redirect::to(&state.paths.at("/login")).into_response(),
        &cookie,
    )
}

/// The session cookie with `value` for `max_age_s` seconds (0 clears it): HttpOnly,
/// SameSite=Strict, scoped to the dashboard's path, Secure when [`secure`].
fn session_cookie(
    state: &UiState,
    headers: &HeaderMap,
    value: String,
    max_age_s: i64,
) -> Cookie<'static> {
    Cookie::build((COOKIE, value))
        .path(state.paths.cookie_path())
        .http_only(true)
        .same_site(SameSite::Strict)
        .secure(secure(state, headers))
        .max_age(cookie::time::Duration::seconds(max_age_s))
        .build()
}

fn with_cookie(mut response: Response, cookie: &Cookie<'_>) -> Response {
    if let Ok(v) = HeaderValue::from_str(&cookie.to_string()) {
        response.headers_mut().append(header::SET_COOKIE, v);
    }
    response
}

/// Whether the cookie must be `Secure`: `ui.secure_cookie`, or the request came over TLS as
/// a proxy or ingress reports it (`X-Forwarded-Proto: https`).
pub fn secure(state: &UiState, headers: &HeaderMap) -> bool {
    state.app.config.config.ui.secure_cookie
        || headers
            .get("x-forwarded-proto")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.split(',').next())
            .is_some_and(|v| v.trim().eq_ignore_ascii_case("https"))
}

/// `next` when it is a path inside the dashboard, else the overview (no open redirects).
fn safe_next(state: &UiState, next: Option<&str>) -> String {
    let home = state.paths.home();
    match next {
        Some(n)
            if n.starts_with(&home)
                && !n.contains("//")
                && !n.contains('\\')
                && !n.starts_with(&state.paths.at("/login")) =>
        {
            n.to_owned()
        }
        _ => home,
    }
}
