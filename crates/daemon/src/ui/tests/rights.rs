//! `api.rights` on the dashboard: a button shows only for a right the session's caller has,
//! and a forged POST for a missing right is refused with 403 and logged with caller and action.

use axum::http::StatusCode;
use percent_encoding::{NON_ALPHANUMERIC, utf8_percent_encode};
use time::OffsetDateTime;

use super::actions::{capture_logs, record};
use super::{PRODUCT, csrf_of, get, login, post, send, ui};
use crate::ui::auth::Viewer;
use crate::ui::pages::product::judgment_form;

#[tokio::test]
async fn buttons_follow_the_callers_rights_and_a_forged_post_is_refused() {
    let (logs, _log) = capture_logs();
    let u = ui(&format!(
        "api: {{rights: {{alice: [retry, stop]}}}}\n{PRODUCT}"
    ))
    .await;
    let (r, _) = u
        .store
        .enqueue(&record("r1"), OffsetDateTime::now_utc())
        .await
        .unwrap();
    let (cookie, _) = login(&u).await;
    let (status, _, page) = send(&u.router, get("/ui/outbox", Some(&cookie))).await;
    assert_eq!(status, StatusCode::OK, "{page}");
    assert!(page.contains(&format!("Retry {}", r.id)), "{page}");
    assert!(!page.contains(&format!("Drop {}", r.id)), "{page}");
    assert!(!page.contains("/drop\""), "a drop form is offered: {page}");

    let csrf = utf8_percent_encode(&csrf_of(&page), NON_ALPHANUMERIC).to_string();
    let drop = format!("/ui/outbox/{}/drop", r.id);
    let (status, _, body) = send(
        &u.router,
        post(&drop, Some(&cookie), &format!("csrf={csrf}")),
    )
    .await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(
        body.contains("lacks the right") && body.contains("api.rights.alice"),
        "{body}"
    );
    assert!(
        u.store.record(r.id).await.unwrap().is_some(),
        "dropped anyway"
    );

    let judgment = "/ui/products/micro-gw/environments/staging/judgment";
    let form = format!("csrf={csrf}&decision=continue");
    let (status, _, body) = send(&u.router, post(judgment, Some(&cookie), &form)).await;
    assert_eq!(status, StatusCode::FORBIDDEN, "{body}");
    assert!(body.contains("promote"), "{body}");

    let logged = String::from_utf8(logs.0.lock().unwrap().clone()).unwrap();
    for action in ["drop", "promote"] {
        assert!(
            logged.lines().any(|l| l.contains("refused")
                && l.contains("caller=\"alice\"")
                && l.contains(&format!("action={action}"))),
            "the {action} refusal is not logged with its caller:\n{logged}"
        );
    }

    // The judgment form offers Stop (granted) and not Promote.
    let session = u.state.key.verify(
        cookie.split_once('=').unwrap().1,
        OffsetDateTime::now_utc().unix_timestamp(),
    );
    let viewer = Viewer {
        csrf: session.as_ref().map(|s| u.state.key.csrf(s)),
        session,
    };
    let form = judgment_form(&u.state, &viewer, "micro-gw", "staging").into_string();
    assert!(form.contains("value=\"stop\""), "{form}");
    assert!(!form.contains("value=\"continue\""), "{form}");
}
