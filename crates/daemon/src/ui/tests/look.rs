//! How the pages look to a browser without a browser: no JavaScript, a phone viewport, the
//! state of an environment in words and colour, and every link under `ui.path_prefix`.

use axum::http::{StatusCode, header};

use super::{PRODUCT, TOKEN, get, login, post, send, ui};
use baton_core::config::api::check_ui_prefix as check_prefix;

/// Works with JavaScript off and on a phone: no page carries a script or an inline handler
/// (the CSP forbids scripts anyway), every action is a plain POST form with its CSRF field,
/// and every page has the viewport meta the stylesheet's narrow-screen rules rely on.
#[tokio::test]
async fn pages_need_no_javascript_and_declare_a_phone_viewport() {
    let u = ui(PRODUCT).await;
    let (cookie, _) = login(&u).await;
    let mut forms = 0;
    for path in ["/ui", "/ui/products/micro-gw", "/ui/outbox", "/ui/login"] {
        let (status, headers, body) = send(&u.router, get(path, Some(&cookie))).await;
        assert_eq!(status, StatusCode::OK, "{path}: {body}");
        let csp = headers[header::CONTENT_SECURITY_POLICY].to_str().unwrap();
        assert!(
            csp.contains("default-src 'none'") && !csp.contains("script-src"),
            "{path}: {csp}"
        );
        let lower = body.to_lowercase();
        for banned in [
            "<script",
            "javascript:",
            " onclick=",
            " onsubmit=",
            " onload=",
        ] {
            assert!(!lower.contains(banned), "{path} has {banned:?}: {body}");
        }
        assert!(
            body.contains(
                r#"<meta name="viewport" content="width=device-width, initial-scale=1">"#
            ),
            "{path}: {body}"
        );
        for form in body.split("<form").skip(1) {
            let tag = &form[..form.find('>').unwrap()];
            let method_post = tag.contains(r#"method="post""#);
            let login_form = path == "/ui/login";
            assert!(method_post, "{path}: a form that is not a POST: {tag}");
            let closes = form.find("</form>").unwrap();
            assert!(
                login_form || form[..closes].contains(r#"name="csrf""#),
                "{path}: a form without its CSRF field: {form}"
            );
            forms += 1;
        }
    }
    assert!(
        forms >= 4,
        "every page has its log-out form, and login its own"
    );
    let (_, _, css) = send(&u.router, get("/ui/style.css", None)).await;
    assert!(css.contains("@media (max-width: 40rem)"), "{css}");
}

/// `ui.path_prefix` for an ingress sub-path: pages, links, forms and the cookie all live
/// under it, and nothing is served at the default `/ui`. With `ui.secure_cookie` the cookie
/// is `Secure` even when no proxy says the request came over TLS.
#[tokio::test]
async fn a_path_prefix_moves_every_page_link_and_the_cookie() {
    let u = ui(&format!(
        "ui: {{path_prefix: /baton/ui, secure_cookie: true}}\n{PRODUCT}"
    ))
    .await;
    let (status, headers, _) = send(&u.router, get("/baton/ui/outbox", None)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(
        headers[header::LOCATION],
        "/baton/ui/login?next=%2Fbaton%2Fui%2Foutbox"
    );
    let form = format!("token={TOKEN}&next=%2Fbaton%2Fui%2Fproducts%2Fmicro-gw");
    let (status, headers, _) = send(&u.router, post("/baton/ui/login", None, &form)).await;
    assert_eq!(status, StatusCode::SEE_OTHER);
    assert_eq!(headers[header::LOCATION], "/baton/ui/products/micro-gw");
    let set = headers[header::SET_COOKIE].to_str().unwrap();
    assert!(
        set.contains("Path=/baton/ui") && set.contains("Secure"),
        "{set}"
    );
    let cookie = set.split(';').next().unwrap();
    let (status, _, page) = send(&u.router, get("/baton/ui/products/micro-gw", Some(cookie))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    for link in [
        r#"href="/baton/ui/style.css""#,
        r#"href="/baton/ui""#,
        r#"href="/baton/ui/outbox""#,
        r#"action="/baton/ui/logout""#,
    ] {
        assert!(page.contains(link), "{link} missing: {page}");
    }
    assert!(
        !page.contains(r#""/ui"#),
        "a link outside the prefix: {page}"
    );
    for path in ["/", "/baton/ui/"] {
        let (status, headers, _) = send(&u.router, get(path, None)).await;
        assert_eq!(status, StatusCode::SEE_OTHER, "{path}");
        assert_eq!(headers[header::LOCATION], "/baton/ui", "{path}");
    }
    let (status, _, _) = send(&u.router, get("/ui", Some(cookie))).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
}

/// Status by text as well as colour: every state shows its words and a symbol, and the four
/// the overview distinguishes (deployed, running, waiting, failed) each have a colour of their
/// own in the stylesheet.
#[tokio::test]
async fn every_state_reads_in_words_and_has_its_own_colour() {
    use crate::ui::data::EnvState as S;
    let u = ui(PRODUCT).await;
    let (_, _, css) = send(&u.router, get("/ui/style.css", None)).await;
    let all = [
        S::Deployed,
        S::Running,
        S::Waiting,
        S::Failed,
        S::Sent,
        S::Nothing,
        S::Unknown,
    ];
    for s in all {
        let html = crate::ui::pages::state(s).into_string();
        for part in [
            s.label(),
            s.symbol(),
            &format!("class=\"state {}\"", s.class()),
        ] {
            assert!(html.contains(part), "{s:?}: {part:?} missing in {html}");
        }
        assert!(css.contains(&format!(".state.{} {{", s.class())), "{s:?}");
    }
    let colours: std::collections::HashSet<&str> = [S::Deployed, S::Running, S::Waiting, S::Failed]
        .map(S::class)
        .into();
    assert_eq!(colours.len(), 4, "{colours:?}");
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
