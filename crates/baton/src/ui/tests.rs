//! The dashboard without a browser: every page renders for an empty config, a product with
//! no events and a product with 1,000 events (paged, under 200 KB); login, cookies, CSRF and
//! the outbox actions over the router.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use time::OffsetDateTime;
use tower::ServiceExt as _;

use super::{UiState, check_prefix, router};
use crate::api::AppState;
use crate::api::auth::Tokens;
use crate::clock::Clock;
use crate::outbox::Outbox;
use crate::store::Store;
use crate::store::events::{Correlation, Event};
use crate::store::outbox::{NewRecord, State as RecordState};

const TOKEN: &str = "alice-secret-token-0123";

struct Ui {
    router: Router,
    store: Store,
    _dir: tempfile::TempDir,
}

async fn ui(yaml: &str) -> Ui {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baton.yaml");
    std::fs::write(&file, yaml).unwrap();
    let loaded = crate::config::load_with_env(&file, Default::default()).unwrap();
    let db = format!("sqlite://{}", dir.path().join("b.db").display());
    let store = Store::open(&db).await.unwrap();
    let lines = vec![secrecy::SecretString::from(format!("alice:{TOKEN}"))];
    let (jobs, _rx) = tokio::sync::mpsc::channel(4);
    let app = AppState {
        config: std::sync::Arc::new(loaded),
        tokens: Tokens::new(&lines),
        outbox: Outbox::new(store.clone(), Clock::system()),
        jobs,
        metrics: Default::default(),
    };
    Ui {
        router: router(UiState::new(app, None, &lines)),
        store,
        _dir: dir,
    }
}

const PRODUCT: &str = "products:\n  - name: micro-gw\n    environments: [dev, staging, prod]\n";

async fn send(r: &Router, req: Request<Body>) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = r.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 10 << 20).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

fn post(path: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut b =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(form.to_owned())).unwrap()
}

/// Logs in; returns the `name=value` cookie pair and the Set-Cookie header.
async fn login(u: &Ui) -> (String, String) {
    let (status, headers, _) = send(
        &u.router,
        post(
            "/ui/login",
            None,
            &format!("token={TOKEN}&next=%2Fui%2Foutbox"),
        ),
    )
    .await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/ui/outbox");
    let set = headers[header::SET_COOKIE].to_str().unwrap().to_owned();
    (set.split(';').next().unwrap().to_owned(), set)
}

fn csrf_of(page: &str) -> String {
    let at = page.find("name=\"csrf\" value=\"").expect("a CSRF field") + 19;
    page[at..].split('"').next().unwrap().to_owned()
}

#[tokio::test]
async fn every_page_renders_for_an_empty_config() {
    let u = ui("ui: {open_read_only: true}\n").await;
    for path in ["/ui", "/ui/outbox", "/ui/login", "/ui/style.css"] {
        let (status, headers, body) = send(&u.router, get(path, None)).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            headers[header::CONTENT_SECURITY_POLICY]
                .to_str()
                .unwrap()
                .contains("default-src 'none'")
        );
        assert!(!body.contains(TOKEN));
    }
    let (_, _, body) = send(&u.router, get("/ui", None)).await;
    assert!(body.contains("lists no products"), "{body}");
    assert!(body.contains("Log in"), "{body}");
    let (status, _, body) = send(&u.router, get("/ui/products/nope", None)).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(
        body.contains("no product &quot;nope&quot; in the config"),
        "{body}"
    );
    // `/` and `/ui/` lead to the overview.
    for path in ["/", "/ui/"] {
        let (status, headers, _) = send(&u.router, get(path, None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], "/ui");
    }
}

#[tokio::test]
async fn a_product_without_events_renders_its_environments() {
    let u = ui(PRODUCT).await;
    let (cookie, _) = login(&u).await;
    for path in ["/ui", "/ui/products/micro-gw", "/ui/outbox"] {
        let (status, _, body) = send(&u.router, get(path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        assert!(
            body.contains("Signed in as <strong>alice</strong>"),
            "{path}: {body}"
        );
    }
    let (_, _, body) = send(&u.router, get("/ui/products/micro-gw", Some(&cookie))).await;
    for text in [
        "dev",
        "staging",
        "prod",
        "nothing delivered",
        "No events recorded",
        "Nothing waits for a judgment",
    ] {
        assert!(body.contains(text), "{text:?} missing: {body}");
    }
}

#[tokio::test]
async fn a_thousand_events_are_paged_and_each_page_stays_small() {
    let u = ui(PRODUCT).await;
    let t0 = OffsetDateTime::now_utc() - time::Duration::hours(2);
    for i in 0..1000i64 {
        let e = Event {
            id: format!("ev-{i:06}"),
            product: "micro-gw".into(),
            kind: "image".into(),
            image: Some("petstore".into()),
            created_at: t0 + time::Duration::seconds(i),
            correlation: Correlation {
                base_digest: Some(format!("sha256:{:064x}", i)),
                jenkins_queue_id: Some(i),
                build_number: Some(i),
                build_url: Some(format!("https://jenkins.example/job/x/{i}/")),
                spinnaker_event_id: Some(format!("echo-{i}")),
                execution_id: Some(format!("01EXEC{i}")),
                detail: Some("x".repeat(200)),
                ..Default::default()
            },
        };
        u.store.insert_event(&e).await.unwrap();
    }
    let (cookie, _) = login(&u).await;
    let (status, _, first) = send(&u.router, get("/ui/products/micro-gw", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(first.len() < 200 * 1024, "page 1 is {} bytes", first.len());
    assert!(first.contains("ev-000999") && first.contains("ev-000950"));
    assert!(!first.contains("ev-000949"), "page 1 holds 50 events");
    assert!(first.contains("older →"));
    assert!(
        first.contains("href=\"https://jenkins.example/job/x/999/\""),
        "the build is linked"
    );
    let (_, _, second) = send(
        &u.router,
        get("/ui/products/micro-gw?page=1", Some(&cookie)),
    )
    .await;
    assert!(second.contains("ev-000949") && !second.contains("ev-000950"));
    let (_, _, last) = send(
        &u.router,
        get("/ui/products/micro-gw?page=999", Some(&cookie)),
    )
    .await;
    assert!(last.len() < 200 * 1024);
    assert!(
        last.contains("page 20") && !last.contains("older →"),
        "paging is bounded"
    );
    let (status, _, overview) = send(&u.router, get("/ui", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK);
    assert!(overview.len() < 200 * 1024);
}

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

#[tokio::test]
async fn outbox_actions_need_the_sessions_csrf_token() {
    let u = ui(PRODUCT).await;
    let now = OffsetDateTime::now_utc();
    let new = |key: &str| NewRecord {
        kind: "spinnaker.webhook".into(),
        target: "spinnaker".into(),
        payload: serde_json::json!({"source": "chart", "body": {}}),
        key: key.into(),
        event_id: None,
    };
    let (dead, _) = u.store.enqueue(&new("k1"), now).await.unwrap();
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
    let (pending, _) = u.store.enqueue(&new("k2"), now).await.unwrap();

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

#[test]
fn prefixes_are_paths_outside_the_api() {
    for ok in ["/", "/ui", "/baton/ui", "/dash-board_1"] {
        assert!(check_prefix(ok).is_ok(), "{ok}");
    }
    for bad in [
        "ui", "/ui//x", "/v1", "/v1/ui", "/metrics", "/hooks/x", "/a b", "/../x", "/ui?x",
    ] {
        assert!(check_prefix(bad).is_err(), "{bad}");
    }
}
