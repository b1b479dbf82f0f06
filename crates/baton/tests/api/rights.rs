//! `api.rights` over a real socket: each action needs its right once `api.rights` is set, a
//! refusal is a 403 naming the caller, the right and the fix, and without `api.rights` (the
//! default) every token may do everything.

use baton_harness::common;

use common::api::{Api, D, TOKEN, assert_error};
use reqwest::{Method, StatusCode};

/// Every action the API offers: method, path, body and the right it needs.
fn actions() -> Vec<(Method, &'static str, Option<String>, &'static str)> {
    let built = format!(r#"{{"reference":"registry.internal:5000/acme/petstore@{D}"}}"#);
    let judgment = "/v1/products/micro-gw/environments/staging/promote";
    vec![
        (
            Method::POST,
            "/v1/products/micro-gw/sync",
            Some(r#"{"force":true}"#.into()),
            "sync",
        ),
        (
            Method::POST,
            "/v1/products/micro-gw/images/petstore/rebuild",
            None,
            "rebuild",
        ),
        (
            Method::POST,
            "/v1/products/micro-gw/images/petstore/built",
            Some(built),
            "built",
        ),
        (Method::POST, judgment, Some("{}".into()), "promote"),
        (
            Method::POST,
            judgment,
            Some(r#"{"stop":true}"#.into()),
            "stop",
        ),
        (Method::POST, "/v1/outbox/999/retry", None, "retry"),
        (Method::DELETE, "/v1/outbox/999", None, "drop"),
    ]
}

const RIGHTS: &str = "api: {rights: {ops: ['*'], ci: [sync, rebuild, built], alice: [promote], \
                      bob: [stop, retry, drop]}}";

#[tokio::test]
async fn with_api_rights_each_action_needs_its_right() {
    let tokens = [
        "ops:tok-ops",
        "ci:tok-ci",
        "alice:tok-alice",
        "bob:tok-bob",
        "tok-unlisted",
    ];
    let mut api = Api::start_with(RIGHTS, &tokens).await;
    let callers: [(&str, &str, &[&str]); 5] = [
        (
            "tok-ops",
            "ops",
            &[
                "sync", "rebuild", "built", "promote", "stop", "retry", "drop",
            ],
        ),
        ("tok-ci", "ci", &["sync", "rebuild", "built"]),
        ("tok-alice", "alice", &["promote"]),
        ("tok-bob", "bob", &["stop", "retry", "drop"]),
        ("tok-unlisted", "token-", &[]),
    ];
    for (method, path, body, right) in actions() {
        for (token, caller, granted) in callers {
            let got = api
                .call(method.clone(), path, Some(token), body.as_deref())
                .await;
            if granted.contains(&right) {
                assert!(
                    !matches!(got.0, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
                    "{caller} has {right} but {method} {path} answered {}: {}",
                    got.0,
                    got.1
                );
            } else {
                assert_error(&got, StatusCode::FORBIDDEN, "forbidden", caller);
                let detail = got.1["detail"].as_str().unwrap();
                assert!(
                    detail.contains(&format!("lacks the right \"{right}\""))
                        && detail.contains("api.rights."),
                    "{caller} {method} {path} needs {right}: {detail}"
                );
                assert!(!detail.contains(token), "the token leaked: {detail}");
            }
        }
    }
    // Sync and rebuild were queued only for ops and ci.
    let mut queued = 0;
    while api.jobs.try_recv().is_ok() {
        queued += 1;
    }
    assert_eq!(queued, 4);
    // Everyone reads.
    for (token, ..) in callers {
        let (s, v) = api.call(Method::GET, "/v1/status", Some(token), None).await;
        assert_eq!(s, StatusCode::OK, "{token}: {v}");
    }
    api.shutdown.cancel();
}

#[tokio::test]
async fn without_api_rights_any_token_may_take_every_action() {
    let mut api = Api::start().await;
    for (method, path, body, right) in actions() {
        let (s, v) = api
            .call(method.clone(), path, Some(TOKEN), body.as_deref())
            .await;
        assert!(
            !matches!(s, StatusCode::FORBIDDEN | StatusCode::UNAUTHORIZED),
            "{right}: {method} {path} answered {s}: {v}"
        );
        while api.jobs.try_recv().is_ok() {}
    }
    api.shutdown.cancel();
}
