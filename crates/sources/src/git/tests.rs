//! Branch watching against local repositories over `file://` (the rig tests cover smart HTTP
//! and `git://`).

use std::path::Path;
use std::process::Command;

use super::*;
use crate::CheckOutcome;

/// A throwaway upstream repository driven through the git CLI.
pub(super) struct Upstream {
    _dir: tempfile::TempDir,
    pub(super) work: std::path::PathBuf,
    pub(super) url: String,
}

pub(super) fn git(dir: &Path, args: &[&str]) -> String {
    let out = Command::new("git")
        .args(args)
        .current_dir(dir)
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_AUTHOR_NAME", "Ada")
        .env("GIT_AUTHOR_EMAIL", "ada@example.com")
        .env("GIT_COMMITTER_NAME", "Ada")
        .env("GIT_COMMITTER_EMAIL", "ada@example.com")
        .output()
        .expect("git runs");
    assert!(
        out.status.success(),
        "git {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).trim().to_string()
}

impl Upstream {
    /// `git pack-objects --stdout ARGS` in the work tree, fed `input` (object names or revs).
    pub(super) fn pack_objects(&self, args: &[&str], input: &str) -> Vec<u8> {
        use std::io::Write as _;
        let mut child = Command::new("git")
            .args(["pack-objects", "--stdout"])
            .args(args)
            .current_dir(&self.work)
            .stdin(std::process::Stdio::piped())
            .stdout(std::process::Stdio::piped())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("pack-objects");
        let mut stdin = child.stdin.take().expect("stdin");
        stdin.write_all(input.as_bytes()).expect("write");
        drop(stdin);
        let out = child.wait_with_output().expect("pack");
        assert!(out.status.success(), "pack-objects {args:?}");
        out.stdout
    }

    pub(super) fn new() -> Self {
        let dir = tempfile::tempdir().expect("tempdir");
        let work = dir.path().join("work");
        std::fs::create_dir_all(&work).expect("mkdir");
        git(&work, &["init", "--quiet", "-b", "main"]);
        let url = format!("file://{}", work.display());
        Upstream {
            _dir: dir,
            work,
            url,
        }
    }

    pub(super) fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> String {
        for (path, content) in files {
            let p = self.work.join(path);
            match content {
                Some(c) => {
                    std::fs::create_dir_all(p.parent().expect("parent")).expect("mkdir");
                    std::fs::write(&p, c).expect("write");
                }
                None => std::fs::remove_file(&p).expect("rm"),
            }
        }
        git(&self.work, &["add", "-A"]);
        git(
            &self.work,
            &["commit", "--quiet", "--allow-empty", "-m", message],
        );
        git(&self.work, &["rev-parse", "HEAD"])
    }
}

fn changed(outcome: &CheckOutcome<GitObservation>) -> (&GitObservation, &GitObservation) {
    match outcome {
        CheckOutcome::Changed {
            old: Some(old),
            new,
        } => (old, new),
        other => panic!("expected a change from a previous observation, got {other:?}"),
    }
}

#[tokio::test]
async fn detects_moves_content_changes_force_pushes_and_deletion() {
    let up = Upstream::new();
    let c1 = up.commit(
        &[
            ("chart/values-dev.yaml", Some("replicas: 1\n")),
            ("chart/values-prod.yaml", Some("replicas: 3\n")),
        ],
        "initial values",
    );
    let cache = tempfile::tempdir().expect("cache");
    let watch = GitWatch::for_values(&up.url, "main", "chart", &["dev", "prod"], cache.path())
        .expect("watch");
    let g = Git::new();

    // First observation.
    let r = watch.check(&g, None).await;
    let first = r.outcome.expect_first();
    assert_eq!(first.commit.as_deref(), Some(c1.as_str()));
    assert_eq!(first.author.as_deref(), Some("Ada <ada@example.com>"));
    assert_eq!(first.subject.as_deref(), Some("initial values"));
    let FileState::Present {
        content, sha256, ..
    } = &first.files["chart/values-dev.yaml"]
    else {
        panic!("{first:?}")
    };
    assert_eq!(content, b"replicas: 1\n");
    assert_eq!(sha256, &crate::http::sha256_digest(b"replicas: 1\n"));

    // Nothing moved.
    watch
        .check(&g, Some(first))
        .await
        .outcome
        .assert_unchanged();

    // A commit that touches nothing watched: moved, no change.
    let c2 = up.commit(
        &[
            ("README.md", Some("docs\n")),
            ("chart/values-dev.yaml", Some("replicas: 1\n")),
        ],
        "docs only",
    );
    let r = watch.check(&g, Some(first)).await;
    let (old, docs) = changed(&r.outcome);
    assert_eq!(docs.commit.as_deref(), Some(c2.as_str()));
    assert_eq!(docs.history, Some(History::FastForward));
    assert!(docs.changed_files(old).is_empty());

    // Content change in one file; the same bytes written back elsewhere count as no change.
    up.commit(
        &[("chart/values-prod.yaml", Some("replicas: 5\n"))],
        "scale prod",
    );
    let r = watch.check(&g, Some(docs)).await;
    let (old, prod) = changed(&r.outcome);
    assert_eq!(
        prod.changed_files(old),
        vec!["chart/values-prod.yaml".to_string()]
    );
    assert_eq!(prod.subject.as_deref(), Some("scale prod"));

    // Malformed YAML is reported with its position, not delivered.
    up.commit(
        &[("chart/values-dev.yaml", Some("a: 1\nb: [1, 2\n"))],
        "break dev",
    );
    let r = watch.check(&g, Some(prod)).await;
    let (_, broken) = changed(&r.outcome);
    let FileState::Invalid { line, column, .. } = &broken.files["chart/values-dev.yaml"] else {
        panic!("{broken:?}")
    };
    assert!(*line >= 2 && *column > 0, "{line}:{column}");

    // A deleted file is Absent.
    up.commit(&[("chart/values-dev.yaml", None)], "drop dev");
    let r = watch.check(&g, Some(broken)).await;
    let (old, dropped) = changed(&r.outcome);
    assert_eq!(dropped.files["chart/values-dev.yaml"], FileState::Absent);
    assert_eq!(
        dropped.changed_files(old),
        vec!["chart/values-dev.yaml".to_string()]
    );

    // Force-push: the branch is rewritten to a commit that does not contain the last one.
    git(&up.work, &["reset", "--quiet", "--hard", &c1]);
    up.commit(
        &[("chart/values-prod.yaml", Some("replicas: 7\n"))],
        "rewritten",
    );
    let r = watch.check(&g, Some(dropped)).await;
    let (_, rewritten) = changed(&r.outcome);
    assert_eq!(rewritten.history, Some(History::ForcePush));

    // Branch deletion is an observation, not a crash.
    git(&up.work, &["checkout", "--quiet", "-b", "other"]);
    git(&up.work, &["branch", "--quiet", "-D", "main"]);
    let r = watch.check(&g, Some(rewritten)).await;
    let (_, gone) = changed(&r.outcome);
    assert_eq!(gone.commit, None);
    assert!(gone.files.is_empty());
}

#[tokio::test]
async fn unreachable_remotes_and_bad_config_are_errors() {
    let cache = tempfile::tempdir().expect("cache");
    let missing = cache.path().join("nope");
    let watch = GitWatch::for_values(
        &format!("file://{}", missing.display()),
        "main",
        ".",
        &["dev"],
        cache.path(),
    )
    .expect("watch");
    let r = watch.check(&Git::new(), None).await;
    assert!(
        matches!(r.outcome, CheckOutcome::Error { .. }),
        "{:?}",
        r.outcome
    );
    assert!(GitWatch::for_values("file:///x", "bad..branch", ".", &["dev"], cache.path()).is_err());
    assert!(GitWatch::for_values("file:///x", "main", "../up", &["dev"], cache.path()).is_err());
    let root = GitWatch::for_values("file:///x", "main", ".", &["dev", "prod"], cache.path())
        .expect("root");
    assert_eq!(
        root.files,
        vec![
            "values-dev.yaml".to_string(),
            "values-prod.yaml".to_string()
        ]
    );
}

/// With a server that allows filters, the cache holds commits and trees but only the watched
/// blobs: an unrelated large file is never downloaded.
#[tokio::test]
async fn fetches_only_the_watched_blobs_when_the_server_allows_filters() {
    let up = Upstream::new();
    git(&up.work, &["config", "uploadpack.allowFilter", "true"]);
    let big = "x".repeat(1 << 20);
    up.commit(
        &[
            ("values-dev.yaml", Some("a: 1\n")),
            ("assets/big.bin", Some(big.as_str())),
        ],
        "with a big file",
    );
    let big_oid = git(&up.work, &["rev-parse", "HEAD:assets/big.bin"]);
    let cache = tempfile::tempdir().expect("cache");
    let watch = GitWatch::for_values(&up.url, "main", ".", &["dev"], cache.path()).expect("watch");
    let obs = watch.observe(&Git::new(), None).await.expect("observe");
    assert!(matches!(
        obs.files["values-dev.yaml"],
        FileState::Present { .. }
    ));
    // `--missing=print` lists promised-but-absent objects without fetching them.
    let listed = git(
        &watch.cache_dir,
        &["rev-list", "--objects", "--missing=print", "--all"],
    );
    assert!(
        listed.lines().any(|l| l == format!("?{big_oid}")),
        "the unrelated blob was fetched:\n{listed}"
    );
    let values_oid = git(&up.work, &["rev-parse", "HEAD:values-dev.yaml"]);
    assert!(
        !listed.lines().any(|l| l == format!("?{values_oid}")),
        "the watched blob is missing"
    );
}

#[tokio::test]
async fn an_interrupted_cache_is_rebuilt_and_new_paths_are_read() {
    let up = Upstream::new();
    up.commit(
        &[
            ("values-dev.yaml", Some("a: 1\n")),
            ("values-prod.yaml", Some("b: 2\n")),
        ],
        "values",
    );
    let cache = tempfile::tempdir().expect("cache");
    let dev = GitWatch::for_values(&up.url, "main", ".", &["dev"], cache.path()).expect("watch");
    // A half-made cache folder (no marker) from an earlier crash.
    std::fs::create_dir_all(&dev.cache_dir).expect("mkdir");
    std::fs::write(dev.cache_dir.join("HEAD"), "garbage").expect("write");
    let first = dev
        .observe(&Git::new(), None)
        .await
        .expect("observe after crash");
    assert_eq!(first.files.len(), 1);
    // Same commit, one more environment configured: the new file is read, not skipped.
    let both = GitWatch {
        files: vec!["values-dev.yaml".into(), "values-prod.yaml".into()],
        ..dev.clone()
    };
    let second = both
        .observe(&Git::new(), Some(&first))
        .await
        .expect("observe");
    assert!(
        matches!(second.files["values-prod.yaml"], FileState::Present { .. }),
        "{second:?}"
    );
}

#[test]
fn observations_round_trip_through_json() {
    let obs = GitObservation {
        url: "https://git.example.com/a.git".into(),
        branch: "main".into(),
        commit: Some("a".repeat(40)),
        author: Some("Ada <ada@example.com>".into()),
        subject: Some("s".into()),
        history: Some(History::ForcePush),
        files: [
            (
                "values-dev.yaml".to_string(),
                FileState::Present {
                    sha256: "sha256:x".into(),
                    blob: "b".into(),
                    content: b"a: 1\n".to_vec(),
                },
            ),
            (
                "values-prod.yaml".to_string(),
                FileState::Invalid {
                    sha256: "sha256:y".into(),
                    blob: "c".into(),
                    line: 2,
                    column: 3,
                    message: "m".into(),
                },
            ),
            ("values-qa.yaml".to_string(), FileState::Absent),
        ]
        .into(),
    };
    let json = serde_json::to_value(&obs).expect("serialize");
    assert_eq!(json["files"]["values-dev.yaml"]["content"], "YTogMQo=");
    assert_eq!(json["files"]["values-prod.yaml"]["state"], "invalid");
    assert_eq!(
        serde_json::from_value::<GitObservation>(json).expect("deserialize"),
        obs
    );
}
