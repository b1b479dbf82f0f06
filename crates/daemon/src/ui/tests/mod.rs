//! The dashboard without a browser: every page renders for an empty config, a product with
//! no events and a product with 1,000 events (paged, under 200 KB). [`actions`]: login,
//! cookies, CSRF and the actions, over the router; [`look`]: no JavaScript, a phone viewport,
//! states in words and colour, the path prefix.

use axum::Router;
use axum::body::Body;
use axum::http::{Request, StatusCode, header};
use time::OffsetDateTime;
use tower::ServiceExt as _;

use super::{UiState, router};
use crate::api::AppState;
use crate::api::auth::Tokens;
use crate::clock::Clock;
use crate::outbox::Outbox;
use crate::store::Store;
use crate::store::events::{Correlation, Event};

mod actions;
mod look;
mod rights;

pub(super) const TOKEN: &str = "alice-secret-token-0123";

pub(super) struct Ui {
    pub(super) router: Router,
    pub(super) state: UiState,
    pub(super) store: Store,
    _dir: tempfile::TempDir,
}

pub(super) async fn ui(yaml: &str) -> Ui {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("baton.yaml");
    std::fs::write(&file, yaml).unwrap();
    let loaded = match baton_core::config::load_with_env(&file, Default::default()) {
        Ok(loaded) => loaded,
        // `serve` refuses a config without products, but the pages must still render one
        // (e.g. while an operator edits it): load it with a placeholder product, then drop it.
        Err(_) if !yaml.contains("products:") => {
            std::fs::write(&file, format!("{yaml}{PRODUCT}")).unwrap();
            let mut loaded = baton_core::config::load_with_env(&file, Default::default()).unwrap();
            loaded.config.products.clear();
            loaded
        }
        Err(e) => panic!("{e}"),
    };
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
    let state = UiState::new(app, None, &lines);
    Ui {
        router: router(state.clone()),
        state,
        store,
        _dir: dir,
    }
}

pub(super) const PRODUCT: &str =
    "products:\n  - name: micro-gw\n    environments: [dev, staging, prod]\n";

pub(super) async fn send(
    r: &Router,
    req: Request<Body>,
) -> (StatusCode, axum::http::HeaderMap, String) {
    let resp = r.clone().oneshot(req).await.unwrap();
    let (parts, body) = resp.into_parts();
    let bytes = axum::body::to_bytes(body, 10 << 20).await.unwrap();
    (
        parts.status,
        parts.headers,
        String::from_utf8(bytes.to_vec()).unwrap(),
    )
}

pub(super) fn get(path: &str, cookie: Option<&str>) -> Request<Body> {
    let mut b = Request::get(path);
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::empty()).unwrap()
}

pub(super) fn post(path: &str, cookie: Option<&str>, form: &str) -> Request<Body> {
    let mut b =
        Request::post(path).header(header::CONTENT_TYPE, "application/x-www-form-urlencoded");
    if let Some(c) = cookie {
        b = b.header(header::COOKIE, c);
    }
    b.body(Body::from(form.to_owned())).unwrap()
}

/// Logs in; returns the `name=value` cookie pair and the Set-Cookie header.
pub(super) async fn login(u: &Ui) -> (String, String) {
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

pub(super) fn csrf_of(page: &str) -> String {
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
        "<dt>verification</dt><dd><span class=\"muted\">no execution</span>",
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
