//! Login, the session cookie's attributes, CSRF refusals and the actions, over the router.

use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use time::OffsetDateTime;

use super::{PRODUCT, TOKEN, csrf_of, get, login, post, send, ui};
use crate::store::outbox::{NewRecord, State as RecordState};

#[tokio::test]
async fn pages_need_a_session_unless_open_and_the_cookie_is_strict() {
    let u = ui(PRODUCT).await;
    let (status, headers, _) = send(&u.router, get("/ui/products/micro-gw", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/ui/login?next=%2Fui%2Fproducts%2Fmicro%2Dgw"
    );
    let (status, _, body) = send(&u.router, post("/ui/login", None, "token=wrong&next=")).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert!(body.contains("not accepted"), "{body}");
    let (_, set) = login(&u).await;
    for attr in ["HttpOnly", "SameSite=Strict", "Path=/ui", "Max-Age=43200"] {
        assert!(set.contains(attr), "{attr} missing: {set}");
    }
    assert!(!set.contains("Secure") && !set.contains(TOKEN), "{set}");
    let req = Request::post("/ui/login")
        .header(header::CONTENT_TYPE, "application/x-www-form-urlencoded")
        .header("x-forwarded-proto", "https")
        .body(Body::from(format!(
            "token={TOKEN}&next=https://evil.example/"
        )))
        .unwrap();
    let (_, headers, _) = send(&u.router, req).await;
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Secure")
    );
    assert_eq!(headers[header::LOCATION], "/ui", "no open redirect");
    // A forged or foreign cookie is no session.
    let (status, _, _) = send(
        &u.router,
        get("/ui", Some("baton_session=YWxpY2U.9999999999.AAAA")),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
}

/// A webhook record for the outbox page.
pub(super) fn record(key: &str) -> NewRecord {
    NewRecord {
        kind: "spinnaker.webhook".into(),
        target: "spinnaker".into(),
        payload: serde_json::json!({"source": "chart", "body": {}}),
        key: key.into(),
        event_id: None,
        supersede: None,
    }
}

/// Collects what the log subscriber writes.
#[derive(Clone, Default)]
pub(super) struct Sink(pub(super) std::sync::Arc<std::sync::Mutex<Vec<u8>>>);

impl std::io::Write for Sink {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0.lock().unwrap().extend_from_slice(buf);
        Ok(buf.len())
    }

    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

/// What this thread logs until the guard drops.
pub(super) fn capture_logs() -> (Sink, tracing::subscriber::DefaultGuard) {
    let logs = Sink::default();
    let guard = tracing::subscriber::set_default(
        tracing_subscriber::fmt()
            .with_ansi(false)
            .with_writer({
                let logs = logs.clone();
                move || logs.clone()
            })
            .finish(),
    );
    (logs, guard)
}

#[tokio::test]
async fn outbox_actions_need_the_sessions_csrf_token() {
    // The daemon's log, as the API's retry and drop write it (with the caller).
    let (logs, _log) = capture_logs();
    let u = ui(PRODUCT).await;
    let now = OffsetDateTime::now_utc();
    let (dead, _) = u.store.enqueue(&record("k1"), now).await.unwrap();
    assert!(
        u.store
            .claim(dead.id, "w", now, now + time::Duration::minutes(1))
            .await
            .unwrap()
    );
    assert!(
        u.store
            .mark_failed(dead.id, "w", "Echo answered 500", None)
            .await
            .unwrap()
    );
    let (pending, _) = u.store.enqueue(&record("k2"), now).await.unwrap();

    let (cookie, _) = login(&u).await;
    let (_, _, page) = send(&u.router, get("/ui/outbox", Some(&cookie))).await;
    assert!(
        page.contains("Echo answered 500") && page.contains(&format!("Retry {}", dead.id)),
        "{page}"
    );
    let csrf = csrf_of(&page);
    let retry = format!("/ui/outbox/{}/retry", dead.id);
    for (form, who) in [
        (String::new(), Some(cookie.as_str())),
        ("csrf=AAAA".into(), Some(&cookie)),
        (format!("csrf={csrf}"), None),
    ] {
        let (status, _, body) = send(&u.router, post(&retry, who, &form)).await;
        assert!(
            matches!(status, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
            "{form}: {status} {body}"
        );
    }
    assert_eq!(
        u.store.record(dead.id).await.unwrap().unwrap().state,
        RecordState::Dead
    );
    let csrf_form = format!(
        "csrf={}",
        percent_encoding::utf8_percent_encode(&csrf, percent_encoding::NON_ALPHANUMERIC)
    );
    let (status, _, body) = send(&u.router, post(&retry, Some(&cookie), &csrf_form)).await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert!(body.contains("is due again now"), "{body}");
    assert_eq!(
        u.store.record(dead.id).await.unwrap().unwrap().state,
        RecordState::Pending
    );
    let drop = format!("/ui/outbox/{}/drop", pending.id);
    let (status, _, _) = send(&u.router, post(&drop, Some(&cookie), &csrf_form)).await;
    assert_eq!(status, StatusCode::OK);
    assert!(u.store.record(pending.id).await.unwrap().is_none());
    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for (what, id) in [("retried", dead.id), ("dropped", pending.id)] {
        assert!(
            logged
                .lines()
                .any(|l| l.contains(&format!("outbox record {what}"))
                    && l.contains(&format!("record={id}"))
                    && l.contains("alice")),
            "the {what} record is not logged with its caller:\n{logged}"
        );
    }
    // Logging out needs the token too, and ends with an expired cookie.
    let (status, _, _) = send(&u.router, post("/ui/logout", Some(&cookie), "csrf=AAAA")).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    let (status, headers, _) = send(&u.router, post("/ui/logout", Some(&cookie), &csrf_form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert!(
        headers[header::SET_COOKIE]
            .to_str()
            .unwrap()
            .contains("Max-Age=0")
    );
}

#[tokio::test]
async fn a_judgment_without_spinnaker_says_so() {
    let u = ui(PRODUCT).await;
    let (cookie, _) = login(&u).await;
    let (_, _, page) = send(&u.router, get("/ui/outbox", Some(&cookie))).await;
    let csrf =
        percent_encoding::utf8_percent_encode(&csrf_of(&page), percent_encoding::NON_ALPHANUMERIC)
            .to_string();
    let path = "/ui/products/micro-gw/environments/staging/judgment";
    let (status, _, body) = send(
        &u.router,
        post(
            path,
            Some(&cookie),
            &format!("csrf={csrf}&decision=continue"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::CONFLICT, "{body}");
    assert!(body.contains("no spinnaker: section"), "{body}");
    let (status, _, _) = send(
        &u.router,
        post(path, Some(&cookie), &format!("csrf={csrf}&decision=maybe")),
    )
    .await;
    assert_eq!(status, StatusCode::UNPROCESSABLE_ENTITY);
}

/// `ui.open_read_only`: anyone may look without logging in, but no page offers an action
/// and every action (and a forged one with any CSRF value) still needs a session.
#[tokio::test]
async fn open_read_only_shows_the_pages_but_every_action_needs_a_login() {
    let u = ui(&format!("ui: {{open_read_only: true}}\n{PRODUCT}")).await;
    let now = OffsetDateTime::now_utc();
    let (pending, _) = u.store.enqueue(&record("open"), now).await.unwrap();
    for path in ["/ui", "/ui/products/micro-gw", "/ui/outbox"] {
        let (status, _, body) = send(&u.router, get(path, None)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(body.contains("Read-only view"), "{path}: {body}");
        assert!(
            !body.contains("name=\"csrf\""),
            "{path} offers an action without a session: {body}"
        );
    }
    let actions = [
        format!("/ui/outbox/{}/retry", pending.id),
        format!("/ui/outbox/{}/drop", pending.id),
        "/ui/products/micro-gw/environments/staging/judgment".to_owned(),
    ];
    for path in &actions {
        let (status, _, body) =
            send(&u.router, post(path, None, "csrf=AAAA&decision=continue")).await;
        assert_eq!(status, StatusCode::UNAUTHORIZED, "{path}: {body}");
        assert!(body.contains("log in first"), "{path}: {body}");
    }
    assert!(u.store.record(pending.id).await.unwrap().is_some());
}
