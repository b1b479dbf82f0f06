//! Classic repository behaviour against a wiremock stand-in (the rig tests use real servers).

use std::sync::Arc;
use std::time::Duration;

use wiremock::matchers::{header, method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::archive::tests::tgz;
use super::*;
use crate::ErrorKind;
use crate::registry::Registries;

fn chart(version: &str) -> Vec<u8> {
    let yaml = format!("apiVersion: v2\nname: demo\nversion: {version}\nappVersion: \"2.0\"\n");
    tgz(&[
        ("demo/Chart.yaml", Some(yaml.as_bytes())),
        ("demo/values.yaml", Some(b"a: 1\n")),
    ])
}

fn index(entries: &[(&str, &str, Option<String>)]) -> String {
    let mut s = String::from(
        "apiVersion: v1\nentries:\n  unrelated:\n  - name: unrelated\n    version: 1.0.0\n    urls: [u.tgz]\n  demo:\n",
    );
    for (v, url, digest) in entries {
        s.push_str(&format!(
            "  - name: demo\n    version: {v}\n    urls: [\"{url}\"]\n"
        ));
        if let Some(d) = digest {
            s.push_str(&format!("    digest: {d}\n"));
        }
    }
    s
}

fn client(dir: &tempfile::TempDir) -> HelmClient {
    HelmClient::new(
        dir.path().to_path_buf(),
        Arc::new(Registries::default()),
        &[],
        Duration::from_secs(10),
    )
    .expect("client")
}

/// The watch of chart `demo` at `version` in `repository`.
fn demo(repository: impl Into<String>, version: &str) -> ChartWatch {
    ChartWatch {
        repository: repository.into(),
        name: "demo".into(),
        version: VersionSpec::parse(version).expect("a version or range"),
        prereleases: false,
    }
}

/// `GET at` on `server` answers the chart archive `tgz`, exactly once.
async fn serves_chart_once(server: &MockServer, at: &str, tgz: Vec<u8>) {
    Mock::given(method("GET"))
        .and(path(at))
        .respond_with(ResponseTemplate::new(200).set_body_bytes(tgz))
        .expect(1)
        .mount(server)
        .await;
}

fn hex(b: &[u8]) -> String {
    crate::http::sha256_digest(b)[7..].to_string()
}

#[tokio::test]
async fn selects_downloads_verifies_caches_and_then_costs_one_304() {
    let server = MockServer::start().await;
    let (a, b) = (chart("1.0.0"), chart("1.1.0"));
    let idx = index(&[
        ("1.0.0", "charts/demo-1.0.0.tgz", Some(hex(&a))),
        ("1.1.0", "charts/demo-1.1.0.tgz", Some(hex(&b))),
    ]);
    Mock::given(method("GET"))
        .and(path("/repo/index.yaml"))
        .and(header("if-none-match", "\"v1\""))
        .respond_with(ResponseTemplate::new(304))
        .expect(1)
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/repo/index.yaml"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("ETag", "\"v1\"")
                .set_body_string(idx),
        )
        .expect(1)
        .mount(&server)
        .await;
    // Relative URLs resolve under the repository URL.
    serves_chart_once(&server, "/repo/charts/demo-1.1.0.tgz", b.clone()).await;
    let cache = tempfile::tempdir().expect("cache");
    let c = client(&cache);
    let watch = demo(format!("{}/repo", server.uri()), "^1.0");
    let first = watch.check(&c, None).await;
    let new = first.outcome.expect_first();
    assert_eq!(
        (new.version.as_str(), new.app_version.as_deref()),
        ("1.1.0", Some("2.0"))
    );
    assert_eq!(new.digest, crate::http::sha256_digest(&b));
    assert_eq!(
        ChartWatch::load(&c, new).expect("cached").tgz.as_ref(),
        b.as_slice()
    );
    watch.check(&c, Some(new)).await.outcome.assert_unchanged();
}

#[tokio::test]
async fn a_digest_mismatch_is_refused() {
    let server = MockServer::start().await;
    let a = chart("1.0.0");
    let idx = index(&[(
        "1.0.0",
        &format!("{}/elsewhere/demo.tgz", server.uri()),
        Some("0".repeat(64)),
    )]);
    Mock::given(method("GET"))
        .and(path("/index.yaml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(idx))
        .mount(&server)
        .await;
    serves_chart_once(&server, "/elsewhere/demo.tgz", a).await;
    let cache = tempfile::tempdir().expect("cache");
    let watch = demo(server.uri(), "1.0.0");
    let r = watch.check(&client(&cache), None).await;
    let (kind, message) = r.outcome.error().expect("refused");
    assert_eq!(kind, ErrorKind::InvalidContent);
    assert!(message.contains("digest mismatch"), "{message}");
}

#[tokio::test]
async fn html_oversized_and_missing_versions_are_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/html/index.yaml"))
        .respond_with(ResponseTemplate::new(200).set_body_raw("<html>login</html>", "text/html"))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/big/index.yaml"))
        .respond_with(ResponseTemplate::new(200).set_body_string("#".repeat(2048)))
        .mount(&server)
        .await;
    Mock::given(method("GET"))
        .and(path("/ok/index.yaml"))
        .respond_with(
            ResponseTemplate::new(200).set_body_string(index(&[("1.0.0", "x.tgz", None)])),
        )
        .mount(&server)
        .await;
    let cache = tempfile::tempdir().expect("cache");
    let c = client(&cache).with_limits(HelmLimits {
        max_index_bytes: 1024,
        ..HelmLimits::default()
    });
    for (repo, version, kind) in [
        ("html", "1.0.0", ErrorKind::InvalidResponse),
        ("big", "1.0.0", ErrorKind::InvalidContent),
        ("ok", "^2", ErrorKind::NotFound),
    ] {
        let w = demo(format!("{}/{repo}", server.uri()), version);
        assert_eq!(
            w.observe(&c, None).await.expect_err(repo).kind(),
            kind,
            "{repo}"
        );
    }
}

/// Matches requests without an Authorization header.
struct NoAuthorization;
impl wiremock::Match for NoAuthorization {
    fn matches(&self, req: &wiremock::Request) -> bool {
        !req.headers.contains_key("authorization")
    }
}

#[tokio::test]
async fn credentials_stay_on_the_repository_origin() {
    let repo = MockServer::start().await;
    let cdn = MockServer::start().await;
    let (a, b) = (chart("1.0.0"), chart("2.0.0"));
    let idx = index(&[
        ("1.0.0", &format!("{}/a.tgz", cdn.uri()), Some(hex(&a))),
        ("2.0.0", "b.tgz", Some(hex(&b))),
    ]);
    // "u:pw" in Basic, required by the repository itself.
    let basic = "Basic dTpwdw==";
    Mock::given(method("GET"))
        .and(path("/index.yaml"))
        .and(header("authorization", basic))
        .respond_with(ResponseTemplate::new(200).set_body_string(idx))
        .expect(2)
        .mount(&repo)
        .await;
    Mock::given(method("GET"))
        .and(path("/b.tgz"))
        .and(header("authorization", basic))
        .respond_with(
            ResponseTemplate::new(302).insert_header("Location", format!("{}/b.tgz", cdn.uri())),
        )
        .expect(1)
        .mount(&repo)
        .await;
    for (at, tgz) in [("/a.tgz", a), ("/b.tgz", b)] {
        Mock::given(method("GET"))
            .and(path(at))
            .and(NoAuthorization)
            .respond_with(ResponseTemplate::new(200).set_body_bytes(tgz))
            .expect(1)
            .mount(&cdn)
            .await;
    }
    let cache = tempfile::tempdir().expect("cache");
    let pw = cache.path().join("pw");
    std::fs::write(&pw, "pw\n").expect("write");
    let creds = [HelmCredentialConfig {
        url_prefix: repo.uri(),
        username: "u".into(),
        password_file: pw,
    }];
    let c = HelmClient::new(
        cache.path().join("charts"),
        Arc::new(Registries::default()),
        &creds,
        Duration::from_secs(10),
    )
    .expect("client");
    for (version, expect) in [("1.0.0", "1.0.0"), ("2.0.0", "2.0.0")] {
        let w = demo(repo.uri(), version);
        assert_eq!(w.observe(&c, None).await.expect(version).version, expect);
    }
}

#[tokio::test]
async fn a_flow_style_index_is_parsed_from_a_second_streamed_get() {
    let server = MockServer::start().await;
    let a = chart("1.0.0");
    // Quoted keys and flow style: the line scan cannot cut the block, the stream parse can.
    let idx = format!(
        "{{\"apiVersion\": \"v1\", \"entries\": {{\"other\": [], \"demo\": [{{\"name\": \"demo\", \"version\": \"1.0.0\", \"urls\": [\"demo-1.0.0.tgz\"], \"digest\": \"{}\"}}]}}}}\n",
        hex(&a)
    );
    Mock::given(method("GET"))
        .and(path("/repo/index.yaml"))
        .respond_with(ResponseTemplate::new(200).set_body_string(idx))
        // Two per observation: the scan, then the stream parse.
        .expect(4)
        .mount(&server)
        .await;
    serves_chart_once(&server, "/repo/demo-1.0.0.tgz", a.clone()).await;
    let dir = tempfile::tempdir().expect("tmp");
    let c = client(&dir);
    let watch = demo(format!("{}/repo", server.uri()), "1.0.0");
    let obs = watch.observe(&c, None).await.expect("observe");
    assert_eq!(
        (obs.version.as_str(), obs.digest.clone()),
        ("1.0.0", format!("sha256:{}", hex(&a)))
    );
    assert_eq!(c.request_counts().index_full, 2);
    let absent = ChartWatch {
        name: "nope".into(),
        ..watch
    };
    let err = absent.observe(&c, None).await.expect_err("absent chart");
    assert!(err.to_string().contains("nope"), "{err}");
}
