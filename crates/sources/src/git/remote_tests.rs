//! Remote access: HTTP credentials through the helper, ssh with keys, timeouts.

use std::path::Path;
use std::process::Command;

use super::tests::Upstream;
use super::*;

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
    // Credentials for the URLs under `under`: `user` with `pw` in the file `name`.
    let password = |under: &str, user: &str, name: &str, pw: &str| {
        let p = dir.path().join(name);
        std::fs::write(&p, format!("{pw}\n")).expect("write");
        GitCredentialConfig {
            url_prefix: format!("{}{under}", server.uri()),
            username: Some(user.into()),
            password_file: Some(p),
            ssh_key_file: None,
            known_hosts_file: None,
        }
    };
    let url = format!("{}/acme/repo.git", server.uri());
    let configs = vec![
        password("/", "other", "short", "nope"),
        password("/acme/", "ci", "long", "s3cret"),
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
    assert!(
        matches!(none, crate::Error::Api { status: 401, .. }),
        "{none:?}"
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
    // ssh goes through the CLI (here the hanging fake).
    let watch = GitWatch::for_values(
        "ssh://git.example.invalid/x.git",
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
    // git:// is answered in-process: a server that accepts and never answers times out too.
    let silent = tokio::net::TcpListener::bind("127.0.0.1:0")
        .await
        .expect("bind");
    let url = format!("git://{}/x.git", silent.local_addr().expect("addr"));
    let watch = GitWatch::for_values(&url, "main", ".", &["dev"], dir.path()).expect("watch");
    let err = watch.remote_head(&git).await.expect_err("timeout");
    assert!(matches!(err, crate::Error::Timeout { .. }), "{err:?}");
}

/// ssh remotes with a key file and a known-hosts file, against a private sshd on 127.0.0.1.
/// Skips loudly where `/usr/sbin/sshd` is not installed, and fails there in CI.
#[tokio::test]
async fn ssh_remote_with_key_and_known_hosts() {
    let sshd = Path::new("/usr/sbin/sshd");
    if !sshd.exists() || std::fs::create_dir_all("/run/sshd").is_err() {
        return testkit::skip_or_fail("sshd", "/usr/sbin/sshd is not installed");
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
