//! Branch watching against the rig's git servers: smart HTTP (nginx + git http-backend) and
//! `git daemon`. Skips when the rig is not up; fails under CI.

use baton_sources::git::{AtCommit, FileState, Git, GitObservation, GitWatch, History, OnBranch};
use baton_sources::{CheckOutcome, Error};
use testkit::rig::Rig;

fn changed(outcome: CheckOutcome<GitObservation>) -> GitObservation {
    match outcome {
        CheckOutcome::Changed { new, .. } => new,
        other => panic!("expected a change, got {other:?}"),
    }
}

async fn follow_a_branch(rig: &Rig, via_http: bool) {
    let repo = rig.new_git_repo("sources-watch").expect("repo");
    let branch = rig.git_branch.as_str();
    let c1 = repo
        .commit(
            branch,
            &[
                ("mgw/values-dev.yaml", Some(b"replicas: 1\n")),
                ("mgw/values-prod.yaml", Some(b"replicas: 3\n")),
            ],
            "initial",
        )
        .expect("commit");
    let url = if via_http {
        &repo.http_url
    } else {
        &repo.daemon_url
    };
    let cache = tempfile::tempdir().expect("cache");
    let watch =
        GitWatch::for_values(url, branch, "mgw", &["dev", "prod"], cache.path()).expect("watch");
    let git = Git::new();

    assert_eq!(
        watch.remote_head(&git).await.expect("ls-remote"),
        Some(c1.clone())
    );
    let first = changed(watch.check(&git, None).await.outcome);
    assert_eq!(first.commit.as_deref(), Some(c1.as_str()));
    assert_eq!(first.subject.as_deref(), Some("initial"));
    assert!(
        matches!(&first.files["mgw/values-prod.yaml"], FileState::Present { content, .. } if content == b"replicas: 3\n")
    );

    let same = watch.check(&git, Some(&first)).await;
    assert!(
        matches!(same.outcome, CheckOutcome::Unchanged { .. }),
        "{:?}",
        same.outcome
    );

    repo.commit(branch, &[("README.md", Some(b"docs"))], "docs only")
        .expect("commit");
    let docs = changed(watch.check(&git, Some(&first)).await.outcome);
    assert_eq!(docs.history, Some(History::FastForward));
    assert!(docs.changed_files(&first).is_empty(), "moved, no change");

    repo.commit(
        branch,
        &[("mgw/values-dev.yaml", Some(b"replicas: 2\n"))],
        "scale dev",
    )
    .expect("commit");
    let dev = changed(watch.check(&git, Some(&docs)).await.outcome);
    assert_eq!(
        dev.changed_files(&docs),
        vec!["mgw/values-dev.yaml".to_string()]
    );

    repo.commit(
        branch,
        &[("mgw/values-prod.yaml", Some(b"replicas: [3\n"))],
        "break prod",
    )
    .expect("commit");
    let broken = changed(watch.check(&git, Some(&dev)).await.outcome);
    assert!(
        matches!(
            broken.files["mgw/values-prod.yaml"],
            FileState::Invalid {
                line: 1..,
                column: 1..,
                ..
            }
        ),
        "{:?}",
        broken.files
    );

    repo.set_branch(branch, Some(&c1)).expect("force-push");
    let rewound = changed(watch.check(&git, Some(&broken)).await.outcome);
    assert_eq!(
        rewound.history,
        Some(History::Behind),
        "reset to an ancestor"
    );
    assert_eq!(rewound.commit.as_deref(), Some(c1.as_str()));

    repo.set_branch(branch, None).expect("delete");
    let gone = changed(watch.check(&git, Some(&rewound)).await.outcome);
    assert_eq!(gone.commit, None);
    // Every read went over the wire in-process: no cache clone, no `git` process.
    assert!(!watch.cache_dir.exists(), "a git CLI read made a cache");
}

fn pushed(commit: &str) -> AtCommit {
    AtCommit {
        commit: commit.to_owned(),
        check: OnBranch::Pushed,
        changed: None,
    }
}

/// The push path over a real server, with a password in the URL: a push of two commits,
/// a late delivery, a rewrite, and a commit the remote does not hold.
async fn read_pushed_commits(rig: &Rig, via_http: bool) {
    let repo = rig.new_git_repo("sources-pushed").expect("repo");
    let branch = rig.git_branch.as_str();
    let files = |dev: &'static [u8]| {
        vec![
            ("mgw/values-dev.yaml", Some(dev)),
            ("mgw/values-prod.yaml", Some(&b"p: 1\n"[..])),
        ]
    };
    let c1 = repo
        .commit(branch, &files(b"a: 1\n"), "one")
        .expect("commit");
    let (url, shown) = if via_http {
        let u = repo.http_url.replacen("http://", "http://bot:s3cret@", 1);
        (u, repo.http_url.clone())
    } else {
        (repo.daemon_url.clone(), repo.daemon_url.clone())
    };
    let cache = tempfile::tempdir().expect("cache");
    let watch =
        GitWatch::for_values(&url, branch, "mgw", &["dev", "prod"], cache.path()).expect("watch");
    let git = Git::new();
    let first = watch
        .observe_at(&git, None, &pushed(&c1))
        .await
        .expect("first");
    assert!(
        matches!(&first.files["mgw/values-dev.yaml"], FileState::Present { content, .. } if content == b"a: 1\n")
    );

    repo.commit(branch, &files(b"a: 2\n"), "two")
        .expect("commit");
    let c3 = repo
        .commit(branch, &[("README.md", Some(&b"docs"[..]))], "three")
        .expect("commit");
    let third = watch
        .observe_at(&git, Some(&first), &pushed(&c3))
        .await
        .expect("two commits");
    assert_eq!(
        third.history,
        Some(History::FastForward),
        "c1 is a grandparent"
    );
    assert_eq!(third.subject.as_deref(), Some("three"));
    assert_eq!(
        third.changed_files(&first),
        vec!["mgw/values-dev.yaml".to_string()]
    );

    let late = watch
        .observe_at(&git, Some(&third), &pushed(&c1))
        .await
        .expect("late");
    assert_eq!(late.history, Some(History::Behind));

    // A rewrite: a commit on c1 that is not on c3's line.
    repo.set_branch(branch, Some(&c1)).expect("reset");
    let c4 = repo
        .commit(branch, &files(b"a: 4\n"), "rewritten")
        .expect("commit");
    let rewritten = watch
        .observe_at(&git, Some(&third), &pushed(&c4))
        .await
        .expect("rewrite");
    assert_eq!(rewritten.history, Some(History::ForcePush));

    // Two watched files with the same content: one blob, read once, both present.
    let same = &b"a: 4\n"[..];
    let c5 = repo
        .commit(
            branch,
            &[("mgw/values-prod.yaml", Some(same))],
            "prod as dev",
        )
        .expect("commit");
    let both = watch
        .observe_at(&git, None, &pushed(&c5))
        .await
        .expect("same blob");
    for path in ["mgw/values-dev.yaml", "mgw/values-prod.yaml"] {
        assert!(
            matches!(&both.files[path], FileState::Present { content, .. } if content == same),
            "{path}"
        );
    }

    let bogus = "0123456789abcdef0123456789abcdef01234567";
    let err = watch
        .observe_at(&git, Some(&rewritten), &pushed(bogus))
        .await
        .expect_err("not held");
    let text = err.to_string();
    assert!(matches!(err, Error::NotOnBranch { .. }), "{text}");
    assert!(
        text.contains(bogus) && text.contains(&shown) && !text.contains("s3cret"),
        "{text}"
    );
    assert!(!watch.cache_dir.exists(), "a git CLI read made a cache");
}

#[tokio::test]
async fn pushed_commits_over_smart_http() {
    let Some(rig) = Rig::for_test() else { return };
    read_pushed_commits(&rig, true).await;
}

#[tokio::test]
async fn pushed_commits_over_git_daemon() {
    let Some(rig) = Rig::for_test() else { return };
    read_pushed_commits(&rig, false).await;
}

#[tokio::test]
async fn smart_http() {
    let Some(rig) = Rig::for_test() else { return };
    follow_a_branch(&rig, true).await;
}

#[tokio::test]
async fn git_daemon() {
    let Some(rig) = Rig::for_test() else { return };
    follow_a_branch(&rig, false).await;
}

#[tokio::test]
async fn seeded_chart_source_has_values_for_each_environment() {
    let Some(rig) = Rig::for_test() else { return };
    let cache = tempfile::tempdir().expect("cache");
    let url = format!("{}/{}", rig.git_http_base, rig.chart_source_repo);
    let watch = GitWatch::for_values(
        &url,
        &rig.git_branch,
        &rig.chart_source_dir,
        &["dev", "staging", "prod"],
        cache.path(),
    )
    .expect("watch");
    let obs = watch.observe(&Git::new(), None).await.expect("observe");
    for (path, state) in &obs.files {
        assert!(
            matches!(state, FileState::Present { .. }),
            "{path}: {state:?}"
        );
    }
    assert_eq!(obs.files.len(), 3);
}
