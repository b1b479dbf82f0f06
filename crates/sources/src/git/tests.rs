//! Branch watching against local repositories over `file://` (the rig tests cover smart HTTP
//! and `git://`).

use std::path::Path;
use std::process::Command;

use super::*;
use crate::CheckOutcome;

/// A throwaway upstream repository driven through the git CLI.
struct Upstream {
    _dir: tempfile::TempDir,
    work: std::path::PathBuf,
    url: String,
}

fn git(dir: &Path, args: &[&str]) -> String {
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
    fn new() -> Self {
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

    fn commit(&self, files: &[(&str, Option<&str>)], message: &str) -> String {
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
    let CheckOutcome::Changed {
        old: None,
        new: first,
    } = r.outcome
    else {
        panic!("{:?}", r.outcome)
    };
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
    let r = watch.check(&g, Some(&first)).await;
    assert!(
        matches!(r.outcome, CheckOutcome::Unchanged { .. }),
        "{:?}",
        r.outcome
    );

    // A commit that touches nothing watched: moved, no change.
    let c2 = up.commit(
        &[
            ("README.md", Some("docs\n")),
            ("chart/values-dev.yaml", Some("replicas: 1\n")),
        ],
        "docs only",
    );
    let r = watch.check(&g, Some(&first)).await;
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

/// pkt-line framing for the fake smart-HTTP advertisement below.
fn pkt(line: &str) -> String {
    format!("{:04x}{line}", line.len() + 4)
}

/// A smart-HTTP server that answers the ref advertisement only with the right Basic
/// credentials: proves `ls-remote` gets them from the credential helper (the env), not a prompt.
#[tokio::test]
async fn http_credentials_come_from_config_files() {
    use wiremock::matchers::{header, method, path, query_param};
    use wiremock::{Mock, MockServer, ResponseTemplate};

    let server = MockServer::start().await;
    let sha = "0123456789abcdef0123456789abcdef01234567";
    let body = format!(
        "{}0000{}0000",
        pkt("# service=git-upload-pack\n"),
        pkt(&format!(
            "{sha} refs/heads/main\0multi_ack ofs-delta agent=fake\n"
        ))
    );
    // "ci:s3cret" in Basic.
    Mock::given(method("GET"))
        .and(path("/acme/repo.git/info/refs"))
        .and(query_param("service", "git-upload-pack"))
        .and(header("authorization", "Basic Y2k6czNjcmV0"))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_raw(body, "application/x-git-upload-pack-advertisement"),
        )
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", "Basic realm=\"git\""),
        )
        .mount(&server)
        .await;
    let dir = tempfile::tempdir().expect("dir");
    let write = |name: &str, pw: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{pw}\n")).expect("write");
        p
    };
    let url = format!("{}/acme/repo.git", server.uri());
    let configs = vec![
        GitCredentialConfig {
            url_prefix: format!("{}/", server.uri()),
            username: Some("other".into()),
            password_file: Some(write("short", "nope")),
            ssh_key_file: None,
            known_hosts_file: None,
        },
        GitCredentialConfig {
            url_prefix: format!("{}/acme/", server.uri()),
            username: Some("ci".into()),
            password_file: Some(write("long", "s3cret")),
            ssh_key_file: None,
            known_hosts_file: None,
        },
    ];
    let watch = GitWatch::for_values(&url, "main", ".", &["dev"], dir.path()).expect("watch");
    let git = git_for(&configs, &url, Git::new()).expect("load");
    assert_eq!(
        watch
            .remote_head(&git)
            .await
            .expect("ls-remote with credentials"),
        Some(sha.to_string())
    );

    let wrong = Git::new().with_credentials(credentials_for(&configs[..1], &url).expect("load"));
    let err = watch
        .remote_head(&wrong)
        .await
        .expect_err("wrong password")
        .to_string();
    assert!(!err.contains("nope"), "{err}");
    let none = watch
        .remote_head(&Git::new())
        .await
        .expect_err("no credentials, no prompt");
    assert!(matches!(none, crate::Error::Git { .. }), "{none:?}");
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
    let missing = Command::new("git")
        .args(["cat-file", "-e", &big_oid])
        .current_dir(&watch.cache_dir)
        .env("GIT_NO_LAZY_FETCH", "1")
        .output()
        .expect("git");
    assert!(!missing.status.success(), "the unrelated blob was fetched");
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

#[tokio::test]
async fn a_hanging_git_is_killed_at_its_timeout() {
    use std::os::unix::fs::PermissionsExt as _;
    let dir = tempfile::tempdir().expect("dir");
    let fake = dir.path().join("git");
    std::fs::write(&fake, "#!/bin/sh\nexec sleep 30\n").expect("write");
    std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    let git = Git {
        binary: fake,
        timeout: std::time::Duration::from_millis(300),
        ..Git::new()
    };
    let watch = GitWatch::for_values(
        "https://git.example.invalid/x.git",
        "main",
        ".",
        &["dev"],
        dir.path(),
    )
    .expect("watch");
    let started = std::time::Instant::now();
    let err = watch.remote_head(&git).await.expect_err("timeout");
    assert!(matches!(err, crate::Error::Timeout { .. }), "{err:?}");
    assert!(started.elapsed() < std::time::Duration::from_secs(5));
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

/// ssh remotes with a key file and a known-hosts file, against a private sshd on 127.0.0.1.
/// Skips (with a line saying so) where `/usr/sbin/sshd` is not installed.
#[tokio::test]
async fn ssh_remote_with_key_and_known_hosts() {
    let sshd = Path::new("/usr/sbin/sshd");
    if !sshd.exists() || std::fs::create_dir_all("/run/sshd").is_err() {
        eprintln!("SKIP (ssh): /usr/sbin/sshd is not installed");
        return;
    }
    let dir = tempfile::tempdir().expect("dir");
    let d = dir.path();
    let keygen = |name: &str| {
        let out = Command::new("ssh-keygen")
            .args(["-q", "-t", "ed25519", "-N", "", "-f"])
            .arg(d.join(name))
            .output()
            .expect("ssh-keygen");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        std::fs::read_to_string(d.join(format!("{name}.pub"))).expect("pub")
    };
    let host_pub = keygen("host");
    let client_pub = keygen("client");
    std::fs::write(d.join("authorized_keys"), client_pub).expect("authorized_keys");
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .expect("bind")
        .local_addr()
        .expect("addr")
        .port();
    let config = format!(
        "Port {port}\nListenAddress 127.0.0.1\nHostKey {h}\nAuthorizedKeysFile {a}\nPidFile none\nUsePAM no\nStrictModes no\nPasswordAuthentication no\nKbdInteractiveAuthentication no\nPermitRootLogin prohibit-password\n",
        h = d.join("host").display(),
        a = d.join("authorized_keys").display()
    );
    std::fs::write(d.join("sshd_config"), config).expect("config");
    let mut server = tokio::process::Command::new(sshd)
        .args(["-D", "-e", "-f"])
        .arg(d.join("sshd_config"))
        .stderr(std::process::Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .expect("sshd");
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(10);
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(std::time::Instant::now() < deadline, "sshd did not listen");
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let known_hosts = d.join("known_hosts");
    let host_key: Vec<&str> = host_pub.split_whitespace().take(2).collect();
    std::fs::write(
        &known_hosts,
        format!("[127.0.0.1]:{port} {}\n", host_key.join(" ")),
    )
    .expect("known_hosts");

    let up = Upstream::new();
    let c1 = up.commit(&[("values-dev.yaml", Some("a: 1\n"))], "over ssh");
    let user = String::from_utf8(Command::new("id").arg("-un").output().expect("id").stdout)
        .expect("utf8");
    let url = format!(
        "ssh://{}@127.0.0.1:{port}{}",
        user.trim(),
        up.work.display()
    );
    let creds = |kh: &Path| GitCredentialConfig {
        url_prefix: "ssh://".into(),
        username: None,
        password_file: None,
        ssh_key_file: Some(d.join("client")),
        known_hosts_file: Some(kh.to_path_buf()),
    };
    let git = git_for(&[creds(&known_hosts)], &url, Git::new()).expect("git");
    let cache = tempfile::tempdir().expect("cache");
    let watch = GitWatch::for_values(&url, "main", ".", &["dev"], cache.path()).expect("watch");
    let obs = watch.observe(&git, None).await.expect("observe over ssh");
    assert_eq!(obs.commit.as_deref(), Some(c1.as_str()));
    assert!(matches!(
        obs.files["values-dev.yaml"],
        FileState::Present { .. }
    ));

    // An unknown host key is refused, never accepted on first use.
    let empty = d.join("empty_known_hosts");
    std::fs::write(&empty, "").expect("write");
    let strict = git_for(&[creds(&empty)], &url, Git::new()).expect("git");
    let err = watch
        .remote_head(&strict)
        .await
        .expect_err("unknown host key");
    assert!(matches!(err, crate::Error::Git { .. }), "{err:?}");
    server.kill().await.expect("stop sshd");
}
