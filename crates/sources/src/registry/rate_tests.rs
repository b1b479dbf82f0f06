//! Rate limits, budgets, retries and timeouts against wiremock stand-ins.

use std::time::Duration;

use wiremock::matchers::method;
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::manifest::{DOCKER_LIST, OCI_MANIFEST};
use super::tests::{
    D1, base_watch, digest_head, heads_answer, registries, registries_with, serves_manifest,
};
use super::*;
use crate::{Error, ErrorKind};

/// The `retry_after` of a [`Error::RateLimited`] result; panics on anything else.
fn rate_limited_for(result: Result<RegistryObservation, Error>) -> Duration {
    match result {
        Err(Error::RateLimited {
            retry_after: Some(d),
            ..
        }) => d,
        other => panic!("expected RateLimited with a retry-after, got {other:?}"),
    }
}

#[tokio::test]
async fn a_long_retry_after_fails_fast_and_closes_the_window() {
    let server = MockServer::start().await;
    heads_answer(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", "120"),
        1,
    )
    .await;
    let (regs, host) = registries(&server, None);
    let watch = base_watch(&host, "1.0");
    for _ in 0..3 {
        let d = rate_limited_for(watch.observe(&regs, None).await);
        assert!(d > Duration::from_secs(100), "{d:?}");
    }
}

#[tokio::test]
async fn a_far_future_retry_after_pauses_the_registry_for_at_most_the_cap() {
    let server = MockServer::start().await;
    let next_year =
        httpdate::fmt_http_date(std::time::SystemTime::now() + Duration::from_secs(365 * 86_400));
    heads_answer(
        &server,
        ResponseTemplate::new(429).insert_header("Retry-After", next_year.as_str()),
        1,
    )
    .await;
    let (regs, host) = registries(&server, None);
    // Every tag of the registry shares the pause: one request for all of them.
    for tag in ["1.0", "1.1", "2.0"] {
        let d = rate_limited_for(base_watch(&host, tag).observe(&regs, None).await);
        assert!(
            d <= retry::MAX_RETRY_AFTER && d > retry::MAX_RETRY_AFTER - Duration::from_secs(60),
            "{d:?}"
        );
    }
    assert_eq!(retry::MAX_RETRY_AFTER, Duration::from_secs(600));
}

#[tokio::test]
async fn a_short_retry_after_is_waited_out_then_succeeds() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(429).insert_header("Retry-After", "0"))
        .up_to_n_times(1)
        .expect(1)
        .mount(&server)
        .await;
    heads_answer(&server, digest_head(D1, DOCKER_LIST), 1).await;
    serves_manifest(&server, None, 1).await;
    let (regs, host) = registries(&server, None);
    let obs = base_watch(&host, "1.0")
        .observe(&regs, None)
        .await
        .expect("digest");
    assert_eq!(obs.digest, D1);
}

#[tokio::test]
async fn server_errors_are_retried_a_bounded_number_of_times() {
    let server = MockServer::start().await;
    heads_answer(&server, ResponseTemplate::new(503), 3).await;
    let (regs, host) = registries(&server, None);
    let err = base_watch(&host, "1.0")
        .observe(&regs, None)
        .await
        .expect_err("503");
    assert!(matches!(err, Error::Api { status: 503, .. }), "{err:?}");
}

#[tokio::test]
async fn the_budget_stops_requests_before_they_are_sent() {
    let server = MockServer::start().await;
    heads_answer(&server, digest_head(D1, OCI_MANIFEST), 2).await;
    let (regs, host) = registries_with(&server, |cfg| {
        cfg.budget = Some(RequestBudget {
            requests: 3,
            per: Duration::from_secs(3600),
        });
    });
    serves_manifest(&server, None, 1).await;
    let watch = base_watch(&host, "1.0");
    // A new digest: HEAD + the GET that verifies it; the same digest again: HEAD only.
    let first = watch.observe(&regs, None).await.expect("1");
    watch.observe(&regs, Some(&first)).await.expect("2");
    let err = watch
        .observe(&regs, Some(&first))
        .await
        .expect_err("budget");
    assert_eq!(err.kind(), ErrorKind::RateLimited);
    assert!(err.to_string().contains("request budget of 3"), "{err}");
}

#[tokio::test]
async fn a_slow_registry_times_out_as_a_typed_error() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .respond_with(ResponseTemplate::new(200).set_delay(Duration::from_secs(5)))
        .mount(&server)
        .await;
    let (regs, host) = registries_with(&server, |cfg| {
        cfg.timeout = Duration::from_millis(200);
        cfg.max_retries = 0;
    });
    let r = base_watch(&host, "1").check(&regs, None).await;
    assert_eq!(
        r.outcome.error().map(|e| e.0),
        Some(ErrorKind::Timeout),
        "{r:?}"
    );
    assert!(r.took < Duration::from_secs(3), "{:?}", r.took);
}
