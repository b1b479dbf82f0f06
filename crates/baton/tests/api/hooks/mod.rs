//! The webhook router over HTTP (in process, `tower::ServiceExt::oneshot`): what a git host
//! sees as answers, and what the daemon sees on the check channel.

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use baton_daemon::hooks::{
    CheckRequest, HookCounters, HooksState, Outcome, Provider, SharedWatchTable, SourceId,
    WatchTable, WebhookSecret, router, sign_sha256,
};
use http::{Request, StatusCode};
use secrecy::SecretString;
use serde_json::Value;
use tokio::sync::mpsc;
use tower::ServiceExt;

mod edges;
mod replay;
mod signatures;
mod socket;

const SECRET: &str = "correct horse battery staple";
const GITHUB: &str = include_str!("../../fixtures/github_push.json");
const GITEA: &str = include_str!("../../fixtures/gitea_push.json");
const GITLAB: &str = include_str!("../../fixtures/gitlab_push.json");
const BITBUCKET: &str = include_str!("../../fixtures/bitbucket_refs_changed.json");
const BITBUCKET_CLOUD: &str = include_str!("../../fixtures/bitbucket_cloud_push.json");

struct Harness {
    app: Router,
    checks: mpsc::Receiver<CheckRequest>,
    counters: Arc<HookCounters>,
}

fn secret() -> WebhookSecret {
    WebhookSecret::new(SecretString::from(SECRET.to_owned())).unwrap()
}

/// Watches the fixture repositories, each in another URL form than its payload's first one.
fn table() -> WatchTable {
    WatchTable::new([
        ("waffle", "git@github.com:jervi/expert-waffle.git", "main"),
        (
            "gitea-hooks",
            "http://localhost:3000/gitea/webhooks",
            "develop",
        ),
        (
            "diaspora",
            "https://example.com/mike/diaspora.git",
            "master",
        ),
        (
            "bb-repo",
            "https://bitbucket.example.com/scm/proj/repository.git",
            "master",
        ),
        (
            "bb-old",
            "https://bitbucket.example.com/scm/proj/repository.git",
            "old",
        ),
        ("bb-cloud", "git@bitbucket.org:acme/charts.git", "main"),
    ])
}

fn harness_with(capacity: usize, tune: impl FnOnce(HooksState) -> HooksState) -> Harness {
    let (tx, rx) = mpsc::channel(capacity);
    let counters = Arc::new(HookCounters::default());
    let state = HooksState::new(secret(), SharedWatchTable::new(table()), tx)
        .with_counters(counters.clone());
    Harness {
        app: router(tune(state)),
        checks: rx,
        counters,
    }
}

fn harness() -> Harness {
    harness_with(16, |s| s)
}

/// The headers each provider sends with a push of `body`, correctly signed.
fn signed(provider: Provider, body: &str, delivery: &str) -> Vec<(&'static str, String)> {
    let sig = sign_sha256(&secret(), body.as_bytes());
    match provider {
        Provider::GitHub => vec![
            ("x-github-event", "push".into()),
            ("x-github-delivery", delivery.into()),
            ("x-hub-signature-256", sig),
        ],
        Provider::Gitea => vec![
            ("x-gitea-event", "push".into()),
            ("x-gitea-delivery", delivery.into()),
            ("x-gitea-signature", sig["sha256=".len()..].into()),
        ],
        Provider::GitLab => vec![
            ("x-gitlab-event", "Push Hook".into()),
            ("x-gitlab-event-uuid", delivery.into()),
            ("x-gitlab-token", SECRET.into()),
        ],
        Provider::Bitbucket => vec![
            ("x-event-key", "repo:refs_changed".into()),
            ("x-request-id", delivery.into()),
            ("x-hub-signature", sig),
        ],
    }
}

fn fixture(provider: Provider) -> &'static str {
    match provider {
        Provider::GitHub => GITHUB,
        Provider::Gitea => GITEA,
        Provider::GitLab => GITLAB,
        Provider::Bitbucket => BITBUCKET,
    }
}

async fn post(
    app: &Router,
    path: &str,
    headers: &[(&str, String)],
    body: &str,
) -> (StatusCode, Value) {
    let mut req = Request::post(path).header("content-type", "application/json");
    for (k, v) in headers {
        req = req.header(*k, v.as_str());
    }
    let resp = app
        .clone()
        .oneshot(req.body(Body::from(body.to_owned())).unwrap())
        .await
        .unwrap();
    let status = resp.status();
    let bytes = axum::body::to_bytes(resp.into_body(), usize::MAX)
        .await
        .unwrap();
    let json = serde_json::from_slice(&bytes)
        .unwrap_or_else(|e| panic!("{status}: body is not JSON ({e}): {bytes:?}"));
    (status, json)
}

fn path(provider: Provider) -> String {
    format!("/hooks/{provider}")
}

/// Posts `body` to `app` as `provider` sends a push with delivery id `delivery`, correctly
/// signed.
async fn push(app: &Router, provider: Provider, body: &str, delivery: &str) -> (StatusCode, Value) {
    post(
        app,
        &path(provider),
        &signed(provider, body, delivery),
        body,
    )
    .await
}

impl Harness {
    /// Posts `body` as `provider` sends a push with delivery id `delivery`, correctly signed.
    async fn push(&self, provider: Provider, body: &str, delivery: &str) -> (StatusCode, Value) {
        push(&self.app, provider, body, delivery).await
    }

    /// Posts `body` as GitHub sends an `event` with delivery id `delivery`, correctly signed.
    async fn github(&self, event: &str, delivery: &str, body: &str) -> (StatusCode, Value) {
        post(
            &self.app,
            "/hooks/github",
            &edges::github_headers(event, delivery, body),
            body,
        )
        .await
    }
}

/// The check requests waiting on the channel right now, without waiting for more.
fn drain(rx: &mut mpsc::Receiver<CheckRequest>) -> Vec<CheckRequest> {
    std::iter::from_fn(|| rx.try_recv().ok()).collect()
}

#[tokio::test]
async fn a_push_to_a_watched_branch_requests_exactly_one_check_at_once() {
    let expected = [
        (
            Provider::GitHub,
            "waffle",
            "refs/heads/main",
            "da68b0f38d58d68196651e808317bfae708fa9f0",
        ),
        (
            Provider::Gitea,
            "gitea-hooks",
            "refs/heads/develop",
            "bffeb74224043ba2feb48d137756c8a9331c449a",
        ),
        (
            Provider::GitLab,
            "diaspora",
            "refs/heads/master",
            "da1560886d4f094c3e6c9ef40349f7d38b5d27d7",
        ),
        (
            Provider::Bitbucket,
            "bb-repo",
            "refs/heads/master",
            "178864a7d521b6f5e720b386b2c2b0ef8563e0dc",
        ),
    ];
    for (provider, source, git_ref, after) in expected {
        let mut h = harness();
        let body = fixture(provider);
        let (status, json) = h.push(provider, body, "d-1").await;
        assert_eq!(status, StatusCode::ACCEPTED, "{provider}: {json}");
        assert_eq!(json["status"], "triggered", "{provider}: {json}");
        assert_eq!(json["sources"], serde_json::json!([source]), "{provider}");
        // Already on the channel when the answer comes back: no poll interval involved.
        let got = drain(&mut h.checks);
        assert_eq!(
            got,
            vec![CheckRequest {
                source: SourceId::from(source),
                provider,
                delivery_id: "d-1".into(),
                git_ref: git_ref.into(),
                after: after.into(),
                before: got[0].before.clone(),
                changed: got[0].changed.clone(),
            }],
            "{provider}"
        );
        assert_eq!(h.counters.get(provider, Outcome::Triggered), 1);
    }
}

#[tokio::test]
async fn a_redelivered_hook_does_nothing_twice() {
    for provider in Provider::ALL {
        let mut h = harness();
        let body = fixture(provider);
        let headers = signed(provider, body, "same-delivery");
        let (first, _) = post(&h.app, &path(provider), &headers, body).await;
        assert_eq!(first, StatusCode::ACCEPTED);
        let (again, json) = post(&h.app, &path(provider), &headers, body).await;
        assert_eq!(again, StatusCode::OK, "{provider}: {json}");
        assert_eq!(json["status"], "duplicate");
        assert_eq!(drain(&mut h.checks).len(), 1, "{provider}");
        assert_eq!(h.counters.get(provider, Outcome::Duplicate), 1);
        // The same body under another delivery id is a replay too (the id is not signed).
        let (replay, json) = h.push(provider, body, "next").await;
        assert_eq!(replay, StatusCode::OK, "{provider}: {json}");
        assert_eq!(json["status"], "duplicate");
        // Another push (another body) is a new request.
        let next = format!("{body} ");
        let (other, _) = h.push(provider, &next, "next-push").await;
        assert_eq!(other, StatusCode::ACCEPTED);
        assert_eq!(drain(&mut h.checks).len(), 1, "{provider}");
    }
}

#[tokio::test]
async fn pushes_to_unwatched_repos_or_branches_are_ignored() {
    let mut h = harness();
    let other_repo = GITHUB.replace("jervi/expert-waffle", "jervi/other-repo");
    let (status, json) = h.push(Provider::GitHub, &other_repo, "a").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(json["status"], "ignored");
    assert_eq!(json["reason"], "repository is not watched");

    let other_branch = GITHUB.replace("refs/heads/main", "refs/heads/feature");
    let (status, json) = h.push(Provider::GitHub, &other_branch, "b").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        json["reason"],
        "branch refs/heads/feature of this repository is not watched"
    );

    let tag = GITHUB.replace("refs/heads/main", "refs/tags/v1");
    let (_, json) = h.push(Provider::GitHub, &tag, "c").await;
    assert_eq!(json["reason"], "refs/tags/v1 is not a branch");

    assert!(drain(&mut h.checks).is_empty());
    assert_eq!(h.counters.get(Provider::GitHub, Outcome::Ignored), 3);
}

#[tokio::test]
async fn a_deleted_branch_is_ignored_but_other_refs_of_the_push_are_checked() {
    let mut h = harness();
    let (status, json) = h.push(Provider::Bitbucket, BITBUCKET, "d").await;
    assert_eq!(status, StatusCode::ACCEPTED);
    assert_eq!(
        json["sources"],
        serde_json::json!(["bb-repo"]),
        "bb-old watches the deleted branch"
    );
    let got = drain(&mut h.checks);
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].source, SourceId::from("bb-repo"));
}
