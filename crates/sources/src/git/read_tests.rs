//! Reading at a named commit (file:// upstreams) and the `cat-file --batch` parsing.

use super::*;
use crate::git::FileState;
use crate::git::snapshot::commit_meta;
use crate::git::tests::{Upstream, git};

#[test]
fn batch_output_is_split_by_object() {
    let out = b"aaa commit 5\nhello\nbbb missing\nccc blob 3\nx\ny\n";
    let objects = parse_batch(out);
    assert_eq!(objects.get("aaa").map(Vec::as_slice), Some(&b"hello"[..]));
    assert_eq!(objects.get("ccc").map(Vec::as_slice), Some(&b"x\ny"[..]));
    assert!(!objects.contains_key("bbb"));
}

#[test]
fn commit_meta_reads_author_and_subject() {
    let raw = b"tree abc\nparent def\nauthor Ada Lovelace <ada@example.com> 1700000000 +0100\ncommitter C <c@x> 1 +0000\n\nraise dev replicas\n\nbody\n";
    assert_eq!(
        commit_meta(raw),
        (
            "Ada Lovelace <ada@example.com>".into(),
            "raise dev replicas".into()
        )
    );
}

fn watch_of(up: &Upstream, cache: &Path) -> GitWatch {
    GitWatch::for_values(&up.url, "main", "chart", &["dev", "prod"], cache).expect("watch")
}

fn pushed(commit: &str, changed: Option<&[&str]>) -> AtCommit {
    AtCommit {
        commit: commit.to_owned(),
        check: OnBranch::Pushed,
        changed: changed.map(|c| c.iter().map(|p| p.to_string()).collect()),
    }
}

fn content(obs: &GitObservation, path: &str) -> Vec<u8> {
    match &obs.files[path] {
        FileState::Present { content, .. } => content.clone(),
        other => panic!("{path}: {other:?}"),
    }
}

#[tokio::test]
async fn a_pushed_commit_is_read_and_only_the_changed_files() {
    let up = Upstream::new();
    let c1 = up.commit(
        &[
            ("chart/values-dev.yaml", Some("replicas: 1\n")),
            ("chart/values-prod.yaml", Some("replicas: 3\n")),
        ],
        "initial",
    );
    let cache = tempfile::tempdir().expect("cache");
    let (watch, g) = (watch_of(&up, cache.path()), Git::new());
    let first = watch
        .observe_at(&g, None, &pushed(&c1, None))
        .await
        .expect("first");
    assert_eq!(first.commit.as_deref(), Some(c1.as_str()));
    assert_eq!(first.author.as_deref(), Some("Ada <ada@example.com>"));
    assert_eq!(first.subject.as_deref(), Some("initial"));
    assert_eq!(content(&first, "chart/values-prod.yaml"), b"replicas: 3\n");

    // Both files change, but the push lists only dev: prod is taken from the last
    // observation, unread (the caller passes `changed` only when the push covers every
    // commit since that observation).
    let c2 = up.commit(
        &[
            ("chart/values-dev.yaml", Some("replicas: 2\n")),
            ("chart/values-prod.yaml", Some("replicas: 4\n")),
        ],
        "scale",
    );
    let at = pushed(&c2, Some(&["chart/values-dev.yaml", "README.md"][..]));
    let second = watch
        .observe_at(&g, Some(&first), &at)
        .await
        .expect("second");
    assert_eq!(second.commit.as_deref(), Some(c2.as_str()));
    assert_eq!(second.history, Some(History::FastForward));
    assert_eq!(content(&second, "chart/values-dev.yaml"), b"replicas: 2\n");
    assert_eq!(content(&second, "chart/values-prod.yaml"), b"replicas: 3\n");
    // Without a list, every watched file is read.
    let all = watch
        .observe_at(&g, Some(&first), &pushed(&c2, None))
        .await
        .expect("all");
    assert_eq!(content(&all, "chart/values-prod.yaml"), b"replicas: 4\n");

    // A late delivery naming the older commit is reported as behind, not as a change.
    let late = watch
        .observe_at(&g, Some(&all), &pushed(&c1, None))
        .await
        .expect("late");
    assert_eq!(late.history, Some(History::Behind));
    // The same commit again costs nothing and returns the last observation.
    let again = watch
        .observe_at(&g, Some(&all), &pushed(&c2, None))
        .await
        .expect("again");
    assert_eq!(again, all);
}

#[tokio::test]
async fn a_commit_that_is_not_on_the_branch_is_refused() {
    let up = Upstream::new();
    let c1 = up.commit(&[("chart/values-dev.yaml", Some("a: 1\n"))], "initial");
    git(&up.work, &["checkout", "--quiet", "-b", "feature"]);
    let side = up.commit(&[("chart/values-dev.yaml", Some("a: 2\n"))], "side");
    git(&up.work, &["checkout", "--quiet", "main"]);
    let cache = tempfile::tempdir().expect("cache");
    let (watch, g) = (watch_of(&up, cache.path()), Git::new());

    let unknown = "0123456789abcdef0123456789abcdef01234567";
    for at in [
        pushed(unknown, None),
        AtCommit {
            commit: side.clone(),
            check: OnBranch::Reachable,
            changed: None,
        },
        AtCommit {
            commit: "zz12345".into(),
            check: OnBranch::Reachable,
            changed: None,
        },
    ] {
        let err = watch.observe_at(&g, None, &at).await.expect_err("refused");
        let text = err.to_string();
        assert!(matches!(err, Error::NotOnBranch { .. }), "{text}");
        assert!(
            text.contains(&at.commit) && text.contains("branch main"),
            "{text}"
        );
    }

    // An operator may name an ancestor of the head by an abbreviation.
    let c2 = up.commit(&[("chart/values-dev.yaml", Some("a: 3\n"))], "next");
    let head = watch
        .observe_at(&g, None, &pushed(&c2, None))
        .await
        .expect("head");
    let at = AtCommit {
        commit: c1[..10].to_owned(),
        check: OnBranch::Reachable,
        changed: None,
    };
    let pinned = watch
        .observe_at(&g, Some(&head), &at)
        .await
        .expect("pinned");
    assert_eq!(pinned.commit.as_deref(), Some(c1.as_str()));
    assert_eq!(pinned.history, Some(History::Behind));
    assert_eq!(content(&pinned, "chart/values-dev.yaml"), b"a: 1\n");
}

#[tokio::test]
async fn two_watched_files_with_the_same_content_are_both_read() {
    let up = Upstream::new();
    let same = Some("replicas: 2\n");
    let c1 = up.commit(
        &[
            ("chart/values-dev.yaml", same),
            ("chart/values-prod.yaml", same),
        ],
        "same values",
    );
    let cache = tempfile::tempdir().expect("cache");
    let obs = watch_of(&up, cache.path())
        .observe_at(&Git::new(), None, &pushed(&c1, None))
        .await
        .expect("read");
    for path in ["chart/values-dev.yaml", "chart/values-prod.yaml"] {
        assert_eq!(content(&obs, path), b"replicas: 2\n");
    }
}
