//! Pings, limits, other events, bad payloads and a daemon that cannot take the request.

use super::*;

pub(super) fn github_headers(
    event: &str,
    delivery: &str,
    body: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("x-github-event", event.to_owned()),
        ("x-github-delivery", delivery.to_owned()),
        (
            "x-hub-signature-256",
            sign_sha256(&secret(), body.as_bytes()),
        ),
    ]
}

#[tokio::test]
async fn github_ping_is_answered_without_effect_but_must_be_signed() {
    let mut h = harness();
    let body = r#"{"zen":"Keep it logically awesome.","hook_id":1}"#;
    let headers = github_headers("ping", "p-1", body);
    let (status, json) = post(&h.app, "/hooks/github", &headers, body).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(json["status"], "pong");
    // A ping is not remembered: answering it again is harmless.
    let (status, json) = post(&h.app, "/hooks/github", &headers, body).await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("pong"))
    );
    assert_eq!(h.counters.get(Provider::GitHub, Outcome::Ping), 2);

    let unsigned = vec![("x-github-event", "ping".to_owned())];
    let (status, json) = post(&h.app, "/hooks/github", &unsigned, body).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(json["detail"], "signature missing");
    assert!(drain(&mut h.checks).is_empty());
}

#[tokio::test]
async fn bitbucket_test_connection_is_a_ping() {
    let h = harness();
    let body = r#"{"test":true}"#;
    let headers = vec![
        ("x-event-key", "diagnostics:ping".to_owned()),
        ("x-request-id", "r-1".to_owned()),
        ("x-hub-signature", sign_sha256(&secret(), body.as_bytes())),
    ];
    let (status, json) = post(&h.app, "/hooks/bitbucket", &headers, body).await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("pong"))
    );
}

#[tokio::test]
async fn a_body_over_the_limit_is_413_with_the_error_shape() {
    let mut h = harness_with(4, |s| s.with_body_limit(1024));
    let body = format!(r#"{{"pad":"{}"}}"#, "x".repeat(2048));
    let (status, json) = h.github("push", "big", &body).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);
    assert_eq!(json["error"], "payload_too_large");
    assert_eq!(
        json["detail"],
        "request body is larger than the limit of 1024 bytes"
    );
    assert_eq!(h.counters.get(Provider::GitHub, Outcome::TooLarge), 1);
    assert!(drain(&mut h.checks).is_empty());
    // The recorded push (8 KiB) fits the default limit.
    let mut ok = harness();
    let (status, _) = ok.push(Provider::GitHub, GITHUB, "d").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(drain(&mut ok.checks).len(), 1);
}

#[tokio::test]
async fn an_unknown_provider_is_404_naming_the_choices() {
    let h = harness();
    let (status, json) = post(&h.app, "/hooks/svn", &[], "{}").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json["error"], "not_found");
    let detail = json["detail"].as_str().unwrap();
    assert!(
        detail.contains("\"svn\"") && detail.contains("bitbucket"),
        "{detail}"
    );
}

#[tokio::test]
async fn other_events_are_ignored_and_say_so() {
    let mut h = harness();
    let body = r#"{"action":"opened"}"#;
    let (status, json) = h.github("issues", "i-1", body).await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(json["status"], "ignored");
    assert_eq!(json["reason"], "event \"issues\" is not a push");
    assert!(drain(&mut h.checks).is_empty());
}

#[tokio::test]
async fn a_verified_but_malformed_push_is_400_and_may_be_redelivered() {
    let mut h = harness();
    let bad = r#"{"ref":"refs/heads/main","after":"abc","repository":{"clone_url":7}}"#;
    let (status, json) = h.github("push", "m-1", bad).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(json["error"], "bad_request");
    let detail = json["detail"].as_str().unwrap();
    assert!(detail.contains("repository.clone_url"), "{detail}");
    assert_eq!(h.counters.get(Provider::GitHub, Outcome::BadRequest), 1);
    // Nothing was done for m-1, so a (fixed) redelivery is acted on, not called a duplicate.
    let (status, _) = h.push(Provider::GitHub, GITHUB, "m-1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(drain(&mut h.checks).len(), 1);
}

#[tokio::test]
async fn without_a_delivery_id_the_same_bytes_are_a_replay() {
    let mut h = harness();
    let headers: Vec<(&str, String)> = signed(Provider::GitLab, GITLAB, "unused")
        .into_iter()
        .filter(|(k, _)| *k != "x-gitlab-event-uuid")
        .collect();
    let (first, _) = post(&h.app, "/hooks/gitlab", &headers, GITLAB).await;
    let (second, json) = post(&h.app, "/hooks/gitlab", &headers, GITLAB).await;
    assert_eq!((first, second), (StatusCode::ACCEPTED, StatusCode::OK));
    assert_eq!(json["status"], "duplicate");
    assert!(
        json["delivery"].as_str().unwrap().starts_with("sha256:"),
        "{json}"
    );
    assert_eq!(drain(&mut h.checks).len(), 1);
}

#[tokio::test]
async fn a_daemon_that_stopped_taking_checks_gets_503_and_the_hook_can_be_redelivered() {
    let (tx, rx) = mpsc::channel(4);
    drop(rx);
    let state = HooksState::new(secret(), SharedWatchTable::new(table()), tx);
    let seen = Arc::new(baton_daemon::hooks::RecentDeliveries::default());
    let app = router(state.with_seen_deliveries(seen.clone()));
    let headers = signed(Provider::GitHub, GITHUB, "s-1");
    let (status, json) = post(&app, "/hooks/github", &headers, GITHUB).await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json["error"], "unavailable");
    assert!(
        seen.is_empty(),
        "a delivery that did nothing is not remembered"
    );
}

#[tokio::test(start_paused = true)]
async fn a_full_check_queue_times_out_into_503() {
    let mut h = harness_with(1, |s| s.with_send_timeout(Duration::from_secs(2)));
    let (status, _) = h.push(Provider::GitHub, GITHUB, "q-1").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    // The queue (capacity 1) is still full: the next push waits 2 s (paused clock), then 503.
    let next = format!("{GITHUB} ");
    let started = tokio::time::Instant::now();
    let (status, json) = h.push(Provider::GitHub, &next, "q-2").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE, "{json}");
    assert_eq!(started.elapsed(), Duration::from_secs(2));
    assert_eq!(h.counters.get(Provider::GitHub, Outcome::Unavailable), 1);
    assert_eq!(drain(&mut h.checks).len(), 1);
    // With room again, the redelivery of q-2 goes through.
    let (status, _) = h.push(Provider::GitHub, &next, "q-2").await;
    assert_eq!(status, StatusCode::ACCEPTED);
}

#[tokio::test]
async fn a_replaced_watch_table_takes_effect_for_the_next_hook() {
    let (tx, mut rx) = mpsc::channel(4);
    let shared = SharedWatchTable::new(WatchTable::default());
    let app = router(HooksState::new(secret(), shared.clone(), tx));
    let (_, json) = push(&app, Provider::GitHub, GITHUB, "w-1").await;
    assert_eq!(json["status"], "ignored");
    shared.replace(WatchTable::new([(
        "late",
        "https://github.com/jervi/expert-waffle",
        "main",
    )]));
    // The next push (another body: the same one again would be a replay).
    let next = format!("{GITHUB} ");
    let (_, json) = push(&app, Provider::GitHub, &next, "w-2").await;
    assert_eq!(json["sources"], serde_json::json!(["late"]));
    assert_eq!(drain(&mut rx)[0].source, SourceId::from("late"));
}

#[tokio::test]
async fn bitbucket_cloud_push_triggers_and_its_request_uuid_dedupes() {
    let mut h = harness();
    let headers = vec![
        ("x-event-key", "repo:push".to_owned()),
        ("x-request-uuid", "c-1".to_owned()),
        (
            "x-hub-signature",
            sign_sha256(&secret(), BITBUCKET_CLOUD.as_bytes()),
        ),
    ];
    let (status, json) = post(&h.app, "/hooks/bitbucket", &headers, BITBUCKET_CLOUD).await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    assert_eq!(json["sources"], serde_json::json!(["bb-cloud"]), "{json}");
    let got = drain(&mut h.checks);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].after, "4f2b1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c");
    let (status, json) = post(&h.app, "/hooks/bitbucket", &headers, BITBUCKET_CLOUD).await;
    assert_eq!(
        (status, json["status"].as_str()),
        (StatusCode::OK, Some("duplicate"))
    );
    assert!(drain(&mut h.checks).is_empty());
}

#[tokio::test]
async fn merged_into_an_api_with_a_smaller_body_limit_the_hook_limit_holds() {
    let (tx, mut rx) = mpsc::channel(4);
    let hooks = router(HooksState::new(
        secret(),
        SharedWatchTable::new(table()),
        tx,
    ));
    // The daemon API limits its own bodies to 64 KiB; here 1 KiB, below the 8 KiB push.
    let api: Router = Router::new()
        .route("/v1/ok", axum::routing::post(|| async { "ok" }))
        .merge(hooks)
        .layer(axum::extract::DefaultBodyLimit::max(1024));
    let (status, json) = push(&api, Provider::GitHub, GITHUB, "m").await;
    assert_eq!(status, StatusCode::ACCEPTED, "{json}");
    assert_eq!(drain(&mut rx).len(), 1);
}

/// A delivery log whose backing store is down.
struct BrokenStore;

impl baton_daemon::hooks::SeenDeliveries for BrokenStore {
    fn first_sighting<'a>(
        &'a self,
        _: baton_daemon::hooks::Delivery<'a>,
    ) -> baton_daemon::hooks::DedupeFuture<'a, bool> {
        Box::pin(async { Err("database is locked".into()) })
    }

    fn forget<'a>(
        &'a self,
        _: baton_daemon::hooks::Delivery<'a>,
    ) -> baton_daemon::hooks::DedupeFuture<'a, ()> {
        Box::pin(async { Err("database is locked".into()) })
    }
}

#[tokio::test]
async fn a_failing_delivery_log_is_503_without_internals_and_without_a_check() {
    let mut h = harness_with(4, |s| s.with_seen_deliveries(Arc::new(BrokenStore)));
    let (status, json) = h.push(Provider::GitHub, GITHUB, "b").await;
    assert_eq!(status, StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(json["error"], "unavailable");
    assert!(!json.to_string().contains("database"), "{json}");
    assert!(drain(&mut h.checks).is_empty());
    assert_eq!(h.counters.get(Provider::GitHub, Outcome::Unavailable), 1);
}
