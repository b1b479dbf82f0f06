//! Request handling: faults, authentication, crumbs, then dispatch on the Jenkins URL space.

use std::sync::Arc;

use axum::body::{Body, to_bytes};
use axum::http::{HeaderMap, HeaderValue, Method, Request, StatusCode, header};
use axum::response::{IntoResponse, Response};
use serde_json::Value;
use tokio_util::sync::CancellationToken;

use super::Shared;
use super::auth::{self, Caller};
use super::json::{Render, who_am_i};
use super::record::{FaultKind, RecordedRequest};
use super::{jobs, tree};

/// Everything a handler needs about one request.
pub(crate) struct Ctx {
    pub method: Method,
    pub root: String,
    pub caller: Caller,
    pub query: Vec<(String, String)>,
    pub form: Vec<(String, String)>,
    pub headers: HeaderMap,
}

impl Ctx {
    /// A request parameter from the query or the form.
    pub fn param(&self, name: &str) -> Option<&str> {
        super::record::param(&self.query, &self.form, name)
    }

    /// Renders JSON, honouring `tree=` (or, without it, `depth=` for item lists).
    pub fn json(&self, doc: Value) -> Response {
        let doc = match self.param("tree") {
            Some(spec) => match tree::parse(spec) {
                Ok(t) => tree::apply(&t, &doc),
                Err(e) => return error_page(StatusCode::BAD_REQUEST, &e),
            },
            None => {
                let mut doc = doc;
                let depth = self
                    .param("depth")
                    .and_then(|d| d.parse().ok())
                    .unwrap_or(0);
                tree::prune_depth(&mut doc, depth);
                doc
            }
        };
        let mut rsp = axum::Json(doc).into_response();
        rsp.headers_mut().insert(
            header::CONTENT_TYPE,
            HeaderValue::from_static("application/json;charset=utf-8"),
        );
        rsp
    }

    /// 403 for a missing permission, with Jenkins' diagnostic headers.
    pub fn forbidden(&self, permission: &str) -> Response {
        let who = self.caller.shown().to_owned();
        let mut rsp = error_page(
            StatusCode::FORBIDDEN,
            &format!("{who} is missing the {permission} permission"),
        );
        let h = rsp.headers_mut();
        h.insert("X-You-Are-Authenticated-As", hv(&who));
        h.insert(
            "X-You-Are-In-Group-Disabled",
            HeaderValue::from_static("JENKINS-39402: use -Dhudson.security.AccessDeniedException2.REPORT_GROUP_HEADERS=true or use /whoAmI to diagnose"),
        );
        h.insert("X-Required-Permission", hv(permission));
        rsp
    }

    /// Whether the caller may start, stop or cancel builds.
    pub fn can_write(&self) -> bool {
        matches!(
            self.caller,
            Caller::User {
                read_only: false,
                ..
            }
        )
    }
}

/// A header value from text (invalid characters replaced).
pub(crate) fn hv(s: &str) -> HeaderValue {
    HeaderValue::from_str(s).unwrap_or_else(|_| HeaderValue::from_static("invalid"))
}

/// An HTML error page like the one Jetty/Jenkins sends for `sendError(code, message)`.
pub(crate) fn error_page(status: StatusCode, message: &str) -> Response {
    let esc = message.replace('&', "&amp;").replace('<', "&lt;");
    let body = format!(
        "<html>\n<head>\n<meta http-equiv=\"Content-Type\" content=\"text/html;charset=utf-8\"/>\n\
         <title>Error {code} {esc}</title>\n</head>\n<body><h2>HTTP ERROR {code} {esc}</h2>\n\
         <table>\n<tr><th>URI:</th><td>/</td></tr>\n<tr><th>STATUS:</th><td>{code}</td></tr>\n\
         <tr><th>MESSAGE:</th><td>{esc}</td></tr>\n</table>\n</body>\n</html>\n",
        code = status.as_u16()
    );
    let mut rsp = (status, body).into_response();
    rsp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=iso-8859-1"),
    );
    rsp
}

fn decode_pairs(text: &str) -> Vec<(String, String)> {
    url::form_urlencoded::parse(text.as_bytes())
        .map(|(k, v)| (k.into_owned(), v.into_owned()))
        .collect()
}

/// Handles one request end to end and records it.
pub(crate) async fn handle(
    shared: Arc<Shared>,
    kill: CancellationToken,
    req: Request<Body>,
) -> Response {
    let (parts, body) = req.into_parts();
    let method = parts.method.clone();
    let context = shared.context_path.clone();
    let full_path = parts.uri.path().to_owned();
    let path = full_path
        .strip_prefix(&context)
        .filter(|p| p.is_empty() || p.starts_with('/'))
        .map(|p| if p.is_empty() { "/" } else { p }.to_owned());
    let query = decode_pairs(parts.uri.query().unwrap_or_default());
    let is_form = parts
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .is_some_and(|v| v.starts_with("application/x-www-form-urlencoded"));
    let bytes = to_bytes(body, 1 << 20).await.unwrap_or_default();
    let form = if is_form {
        decode_pairs(&String::from_utf8_lossy(&bytes))
    } else {
        Vec::new()
    };
    let record_path = path.clone().unwrap_or_else(|| full_path.clone());
    let mut record = RecordedRequest {
        method: method.to_string(),
        path: record_path.clone(),
        query: query.clone(),
        form: form.clone(),
        user: None,
        sent_crumb: false,
        status: 0,
        modelled: true,
    };

    // Faults first: they model the network and proxies in front of Jenkins.
    let fault = shared.take_fault(method.as_str(), &record_path);
    match fault {
        Some(FaultKind::Reset) => {
            shared.record(record);
            kill.cancel();
            std::future::pending::<()>().await;
            unreachable!("pending never resolves");
        }
        Some(FaultKind::Delay(d)) => tokio::time::sleep(d).await,
        Some(FaultKind::Status(code)) => {
            let status = StatusCode::from_u16(code).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
            record.status = status.as_u16();
            shared.record(record);
            return error_page(status, "injected fault");
        }
        Some(FaultKind::Unavailable { retry_after_secs }) => {
            record.status = 503;
            shared.record(record);
            let mut rsp = error_page(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
            rsp.headers_mut()
                .insert(header::RETRY_AFTER, hv(&retry_after_secs.to_string()));
            return rsp;
        }
        None => {}
    }

    let host = parts
        .headers
        .get(header::HOST)
        .and_then(|v| v.to_str().ok())
        .map_or_else(|| shared.addr.to_string(), str::to_owned);
    let root = format!("http://{host}{context}/");
    let mut rsp = match path {
        None => {
            record.modelled = false;
            error_page(StatusCode::NOT_FOUND, "Not Found")
        }
        Some(path) => {
            let (users, generated) = {
                let st = shared.lock();
                (st.spec.users.clone(), st.generated_tokens.clone())
            };
            match auth::authenticate(&parts.headers, &users, &generated) {
                Err(user) => {
                    record.user = Some(user.clone()).filter(|u| !u.is_empty());
                    let mut rsp = error_page(
                        StatusCode::UNAUTHORIZED,
                        &format!("Invalid password/token for user: {user}"),
                    );
                    rsp.headers_mut().insert(
                        header::WWW_AUTHENTICATE,
                        HeaderValue::from_static("Basic realm=\"Jenkins\""),
                    );
                    rsp
                }
                Ok(caller) => {
                    record.user = caller.name().map(str::to_owned);
                    let ctx = Ctx {
                        method: method.clone(),
                        root,
                        caller,
                        query,
                        form,
                        headers: parts.headers.clone(),
                    };
                    record.sent_crumb = crumb_sent(&ctx, &shared).is_some();
                    let (rsp, modelled) = authorized(&shared, &ctx, &path);
                    record.modelled = modelled;
                    rsp
                }
            }
        }
    };
    advertise(&shared, rsp.headers_mut());
    record.status = rsp.status().as_u16();
    shared.record(record);
    rsp
}

/// `X-Jenkins` and friends (`Functions.advertiseHeaders`); the stand-in sends them on every answer.
fn advertise(shared: &Shared, h: &mut HeaderMap) {
    h.insert("X-Hudson", HeaderValue::from_static("1.395"));
    h.insert("X-Jenkins", hv(&shared.version));
    h.insert("X-Jenkins-Session", hv(&shared.session_hash));
}

fn crumb_sent<'a>(ctx: &'a Ctx, shared: &Shared) -> Option<&'a str> {
    ctx.headers
        .get(&shared.crumb_field)
        .and_then(|v| v.to_str().ok())
        .or_else(|| ctx.param(&shared.crumb_field))
}

fn authorized(shared: &Shared, ctx: &Ctx, path: &str) -> (Response, bool) {
    let csrf = shared.lock().spec.csrf;
    let exempt = matches!(
        ctx.caller,
        Caller::User {
            via_token: true,
            ..
        }
    );
    if ctx.method == Method::POST && csrf && !exempt {
        let expected =
            auth::session(&ctx.headers).map(|s| auth::crumb(&shared.salt, ctx.caller.shown(), &s));
        let sent = crumb_sent(ctx, shared);
        if expected.is_none() || sent != expected.as_deref() {
            let rsp = error_page(
                StatusCode::FORBIDDEN,
                "No valid crumb was included in the request",
            );
            return (rsp, true);
        }
    }
    let anonymous_read = shared.lock().spec.anonymous_read;
    if matches!(ctx.caller, Caller::Anonymous) && !anonymous_read {
        return (ctx.forbidden("hudson.model.Hudson.Read"), true);
    }
    let segments: Vec<String> = path
        .split('/')
        .filter(|s| !s.is_empty())
        .map(|s| {
            percent_encoding::percent_decode_str(s)
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect();
    let segs: Vec<&str> = segments.iter().map(String::as_str).collect();
    let get = ctx.method == Method::GET;
    let rsp = match segs.as_slice() {
        [] if get => root_page(),
        ["api", "json"] if get => {
            let st = shared.state_now();
            let doc = Render {
                root: &ctx.root,
                clock: &shared.clock,
                state: &st,
            }
            .root();
            ctx.json(doc)
        }
        ["whoAmI", "api", "json"] if get => ctx.json(who_am_i(ctx.caller.name())),
        ["me", "api", "json"] if get => {
            let st = shared.state_now();
            let doc = Render {
                root: &ctx.root,
                clock: &shared.clock,
                state: &st,
            }
            .user(ctx.caller.shown());
            ctx.json(doc)
        }
        ["crumbIssuer", "api", "json"] if get => crumb_issuer(shared, ctx, csrf),
        ["queue", "api", "json"] if get => {
            let st = shared.state_now();
            ctx.json(
                Render {
                    root: &ctx.root,
                    clock: &shared.clock,
                    state: &st,
                }
                .queue(),
            )
        }
        ["queue", "item", id, "api", "json"] if get => jobs::queue_item(shared, ctx, id),
        ["queue", "cancelItem"] => jobs::cancel_item(shared, ctx),
        [
            "me",
            "descriptorByName",
            "jenkins.security.ApiTokenProperty",
            "generateNewToken",
        ] => super::tokens::generate(shared, ctx),
        ["job", ..] => return jobs::dispatch(shared, ctx, &segs),
        _ => return (error_page(StatusCode::NOT_FOUND, "Not Found"), false),
    };
    (rsp, true)
}

fn root_page() -> Response {
    let mut rsp = "<!DOCTYPE html><html><head><title>Dashboard [Jenkins]</title></head>\
                   <body>fake-jenkins</body></html>"
        .into_response();
    rsp.headers_mut().insert(
        header::CONTENT_TYPE,
        HeaderValue::from_static("text/html;charset=utf-8"),
    );
    rsp
}

fn crumb_issuer(shared: &Shared, ctx: &Ctx, csrf: bool) -> Response {
    if !csrf {
        return error_page(StatusCode::NOT_FOUND, "Not Found");
    }
    let (session, new) = match auth::session(&ctx.headers) {
        Some(s) => (s, false),
        None => (shared.new_session(), true),
    };
    let crumb = auth::crumb(&shared.salt, ctx.caller.shown(), &session);
    let mut rsp = ctx.json(serde_json::json!({
        "_class": "hudson.security.csrf.DefaultCrumbIssuer",
        "crumb": crumb,
        "crumbRequestField": shared.crumb_field,
    }));
    if new {
        let cookie = format!(
            "JSESSIONID.{}={session}; Path={}/; HttpOnly",
            &shared.session_hash[..8],
            shared.context_path
        );
        rsp.headers_mut().insert(header::SET_COOKIE, hv(&cookie));
    }
    rsp
}
