use bytes::Bytes;
use http::HeaderMap;
use secrecy::SecretString;

use super::*;
use crate::hooks::verify::{Unverified, WebhookSecret, sign_sha256};

const GITHUB: &str = include_str!("../../../baton/tests/fixtures/github_push.json");
const GITEA: &str = include_str!("../../../baton/tests/fixtures/gitea_push.json");
const GITLAB: &str = include_str!("../../../baton/tests/fixtures/gitlab_push.json");
const BITBUCKET: &str = include_str!("../../../baton/tests/fixtures/bitbucket_refs_changed.json");
const BITBUCKET_CLOUD: &str =
    include_str!("../../../baton/tests/fixtures/bitbucket_cloud_push.json");

/// Signs `body` as `provider` would and verifies it, as the router does.
fn verified(provider: Provider, event: &str, body: &str) -> Verified {
    let secret = WebhookSecret::new(SecretString::from("test-secret".to_owned())).unwrap();
    let sig = sign_sha256(&secret, body.as_bytes());
    let mut h = HeaderMap::new();
    match provider {
        Provider::GitHub => h.insert("x-hub-signature-256", sig.parse().unwrap()),
        Provider::Bitbucket => h.insert("x-hub-signature", sig.parse().unwrap()),
        Provider::Gitea => h.insert("x-gitea-signature", sig[7..].parse().unwrap()),
        Provider::GitLab => h.insert("x-gitlab-token", "test-secret".parse().unwrap()),
    };
    h.insert(provider.event_header(), event.parse().unwrap());
    Unverified::new(provider, h, Bytes::from(body.to_owned()))
        .verify(&secret)
        .unwrap()
}

/// Asserts that `push` gives each of `urls` among the repository's URLs.
fn assert_names_repo(push: &PushEvent, urls: &[&str]) {
    for url in urls {
        assert!(
            push.repo_urls.iter().any(|u| u == url),
            "{url} is not among {:?}",
            push.repo_urls
        );
    }
}

fn pushes(provider: Provider, event: &str, body: &str) -> Vec<PushEvent> {
    match parse(&verified(provider, event, body), "d-1").unwrap() {
        HookEvent::Push(p) => p,
        other => panic!("expected a push, got {other:?}"),
    }
}

#[test]
fn github_recorded_push() {
    let [p] = pushes(Provider::GitHub, "push", GITHUB).try_into().unwrap();
    assert_eq!(p.provider, Provider::GitHub);
    assert_eq!(p.delivery_id, "d-1");
    assert_eq!(p.branch.as_deref(), Some("main"));
    assert_eq!(p.after, "da68b0f38d58d68196651e808317bfae708fa9f0");
    assert_eq!(
        p.before.as_deref(),
        Some("2db7f3420a69bf04b399549e8059e03003114196")
    );
    assert_eq!(p.changed, Some(vec!["README.md".to_owned()]));
    assert!(!p.deleted);
    assert_names_repo(
        &p,
        &[
            "https://github.com/jervi/expert-waffle.git",
            "git@github.com:jervi/expert-waffle.git",
        ],
    );
}

#[test]
fn gitea_push() {
    let [p] = pushes(Provider::Gitea, "push", GITEA).try_into().unwrap();
    assert_eq!(p.branch.as_deref(), Some("develop"));
    assert_eq!(p.after, "bffeb74224043ba2feb48d137756c8a9331c449a");
    assert_eq!(p.changed, None, "this Gitea lists no files per commit");
    assert_names_repo(
        &p,
        &[
            "http://localhost:3000/gitea/webhooks.git",
            "ssh://gitea@localhost:2222/gitea/webhooks.git",
        ],
    );
}

#[test]
fn gitlab_push_and_tag_push() {
    let [p] = pushes(Provider::GitLab, "Push Hook", GITLAB)
        .try_into()
        .unwrap();
    assert_eq!(p.branch.as_deref(), Some("master"));
    assert_eq!(p.after, "da1560886d4f094c3e6c9ef40349f7d38b5d27d7");
    assert_names_repo(
        &p,
        &[
            "git@example.com:mike/diaspora.git",
            "http://example.com/mike/diaspora.git",
        ],
    );

    let tag = GITLAB
        .replace("refs/heads/master", "refs/tags/v1.0.0")
        .replace("\"object_kind\": \"push\"", "\"object_kind\": \"tag_push\"");
    let [t] = pushes(Provider::GitLab, "Tag Push Hook", &tag)
        .try_into()
        .unwrap();
    assert_eq!(t.git_ref, "refs/tags/v1.0.0");
    assert_eq!(t.branch, None);
}

#[test]
fn bitbucket_reports_each_changed_ref() {
    let [update, delete] = pushes(Provider::Bitbucket, "repo:refs_changed", BITBUCKET)
        .try_into()
        .unwrap();
    assert_eq!(update.branch.as_deref(), Some("master"));
    assert_eq!(update.after, "178864a7d521b6f5e720b386b2c2b0ef8563e0dc");
    assert!(!update.deleted);
    assert_eq!(delete.branch.as_deref(), Some("old"));
    assert!(delete.deleted);
    assert_names_repo(
        &update,
        &[
            "https://bitbucket.example.com/scm/proj/repository",
            "ssh://git@bitbucket.example.com:7999/proj/repository.git",
        ],
    );
}

#[test]
fn bitbucket_cloud_push_reports_branches_deletions_and_tags() {
    let [main, gone, tag] = pushes(Provider::Bitbucket, "repo:push", BITBUCKET_CLOUD)
        .try_into()
        .unwrap();
    assert_eq!(main.git_ref, "refs/heads/main");
    assert_eq!(main.after, "4f2b1c0d9e8a7b6c5d4e3f2a1b0c9d8e7f6a5b4c");
    assert!(!main.deleted);
    assert_eq!(
        main.repo_urls,
        [
            "https://bitbucket.org/acme/charts",
            "https://bitbucket.org/acme/charts"
        ]
    );
    assert_eq!((gone.branch.as_deref(), gone.deleted), (Some("gone"), true));
    assert_eq!(
        (tag.git_ref.as_str(), tag.branch.as_deref()),
        ("refs/tags/v1.2.0", None)
    );
}

#[test]
fn a_branch_deletion_is_marked_deleted() {
    let deleted = GITHUB
        .replace("\"deleted\": false", "\"deleted\": true")
        .replace(
            "\"after\": \"da68b0f38d58d68196651e808317bfae708fa9f0\"",
            "\"after\": \"0000000000000000000000000000000000000000\"",
        );
    let [p] = pushes(Provider::GitHub, "push", &deleted)
        .try_into()
        .unwrap();
    assert!(p.deleted);
    let gitea_deleted = GITEA.replace(
        "\"after\": \"bffeb74224043ba2feb48d137756c8a9331c449a\"",
        "\"after\": \"0000000000000000000000000000000000000000\"",
    );
    let [g] = pushes(Provider::Gitea, "push", &gitea_deleted)
        .try_into()
        .unwrap();
    assert!(
        g.deleted,
        "Gitea has no `deleted` field; all-zero `after` means deleted"
    );
}

#[test]
fn ping_and_other_events() {
    let ping = verified(Provider::GitHub, "ping", r#"{"zen":"Design for failure."}"#);
    assert_eq!(parse(&ping, "d").unwrap(), HookEvent::Ping);
    let bb_ping = verified(Provider::Bitbucket, "diagnostics:ping", r#"{"test":true}"#);
    assert_eq!(parse(&bb_ping, "d").unwrap(), HookEvent::Ping);
    let issue = verified(Provider::GitHub, "issues", "{}");
    assert_eq!(
        parse(&issue, "d").unwrap(),
        HookEvent::Other("issues".into())
    );
    let mr = verified(Provider::GitLab, "Merge Request Hook", "{}");
    assert_eq!(
        parse(&mr, "d").unwrap(),
        HookEvent::Other("Merge Request Hook".into())
    );
}

#[test]
fn a_bad_payload_names_the_json_path() {
    let bad = r#"{"ref":"refs/heads/main","after":"abc","repository":{"clone_url":42}}"#;
    let err = parse(&verified(Provider::GitHub, "push", bad), "d").unwrap_err();
    let text = err.to_string();
    assert!(text.contains("github"), "{text}");
    assert!(text.contains("repository.clone_url"), "{text}");
    // The decoder's words once, in the text the sender gets; nothing repeats them in a chain.
    assert_eq!(text.matches("expected a string").count(), 1, "{text}");
    assert!(std::error::Error::source(&err).is_none(), "{text}");
    let missing = parse(
        &verified(
            Provider::Bitbucket,
            "repo:refs_changed",
            "{\"repository\":{}}",
        ),
        "d",
    )
    .unwrap_err()
    .to_string();
    assert!(missing.contains("changes"), "{missing}");
}

/// The changed files are taken only from a complete, unforced list of commits.
#[test]
fn changed_files_only_from_complete_lists() {
    let hub = |extra: &str| {
        format!(
            r#"{{"ref": "refs/heads/main", "after": "{a}", "before": "{b}", {extra}
            "repository": {{"clone_url": "https://h/o/r.git"}}}}"#,
            a = "1".repeat(40),
            b = "2".repeat(40),
        )
    };
    let commits = r#""commits": [
        {"added": ["a.yaml"], "modified": ["values-dev.yaml"], "removed": []},
        {"added": [], "modified": ["values-dev.yaml"], "removed": ["old.yaml"]}],"#;
    let [p] = pushes(Provider::GitHub, "push", &hub(commits))
        .try_into()
        .unwrap();
    assert_eq!(p.before.as_deref(), Some("2".repeat(40).as_str()));
    assert_eq!(
        p.changed,
        Some(vec![
            "a.yaml".into(),
            "old.yaml".into(),
            "values-dev.yaml".into()
        ])
    );
    let forced = format!("{commits} \"forced\": true,");
    let [p] = pushes(Provider::GitHub, "push", &hub(&forced))
        .try_into()
        .unwrap();
    assert_eq!(p.changed, None, "a forced push rewrote history");
    let truncated = format!("{commits} \"total_commits\": 30,");
    let [p] = pushes(Provider::Gitea, "push", &hub(&truncated))
        .try_into()
        .unwrap();
    assert_eq!(p.changed, None, "28 commits were left out");
    let gitlab = format!(
        r#"{{"ref": "refs/heads/main", "after": "{a}", "before": "{b}", {commits}
        "total_commits_count": 21, "project": {{"git_http_url": "https://h/o/r.git"}}}}"#,
        a = "1".repeat(40),
        b = "2".repeat(40),
    );
    let [p] = pushes(Provider::GitLab, "Push Hook", &gitlab)
        .try_into()
        .unwrap();
    assert_eq!(p.changed, None, "GitLab lists 20 of 21");
}
