//! Client behaviour against wiremock stand-ins that fail loudly on unexpected calls.
//! The rig tests in `tests/sources/registry_rig.rs` cover the real registry.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, Request, ResponseTemplate};

use super::manifest::{MANIFEST_ACCEPT, OCI_MANIFEST};
use super::*;
use crate::ErrorKind;

/// A manifest the stand-ins serve, and [`D1`], its digest: a digest that moved is verified
/// against the manifest's bytes.
pub(super) const MANIFEST_BODY: &str =
    r#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json","layers":[]}"#;
pub(super) const D1: &str =
    "sha256:b0ff67b72a1d087090ad4fe635c35ad2752dd27d26f9435bb7877f40ecdc0bc3";

/// `GET /v2/acme/base/manifests/*` answers [`MANIFEST_BODY`], `times` times.
pub(super) async fn serves_manifest(server: &MockServer, bearer: Option<&str>, times: u64) {
    let mut m =
        Mock::given(method("GET")).and(wiremock::matchers::path_regex("^/v2/acme/base/manifests/"));
    if let Some(t) = bearer {
        m = m.and(wiremock::matchers::header(
            "authorization",
            format!("Bearer {t}"),
        ));
    }
    m.respond_with(ResponseTemplate::new(200).set_body_raw(MANIFEST_BODY, OCI_MANIFEST))
        .expect(times)
        .mount(server)
        .await;
}

/// Every `HEAD` on `server` gets `answer`, exactly `times` times.
pub(super) async fn heads_answer(server: &MockServer, answer: ResponseTemplate, times: u64) {
    Mock::given(method("HEAD"))
        .respond_with(answer)
        .expect(times)
        .mount(server)
        .await;
}

/// Matches a request whose Accept headers name all four manifest types.
struct AcceptsAllFour;
impl wiremock::Match for AcceptsAllFour {
    fn matches(&self, req: &Request) -> bool {
        let sent: Vec<String> = req
            .headers
            .get_all("accept")
            .iter()
            .flat_map(|v| {
                v.to_str()
                    .unwrap_or("")
                    .split(',')
                    .map(|s| s.trim().to_string())
                    .collect::<Vec<_>>()
            })
            .collect();
        MANIFEST_ACCEPT.iter().all(|a| sent.iter().any(|s| s == a))
    }
}

struct HeaderIs(&'static str, String);
impl wiremock::Match for HeaderIs {
    fn matches(&self, req: &Request) -> bool {
        req.headers.get(self.0).and_then(|v| v.to_str().ok()) == Some(self.1.as_str())
    }
}

struct NoAuthorization;
impl wiremock::Match for NoAuthorization {
    fn matches(&self, req: &Request) -> bool {
        !req.headers.contains_key("authorization")
    }
}

/// A `HEAD` answer for a tag: its `digest` and the manifest's `content_type`.
pub(super) fn digest_head(digest: &str, content_type: &str) -> ResponseTemplate {
    ResponseTemplate::new(200)
        .insert_header("Docker-Content-Digest", digest)
        .insert_header("Content-Type", content_type)
}

/// The registry `server` over plain HTTP, two retries, with `creds` (user, password file).
pub(super) fn registries(
    server: &MockServer,
    creds: Option<(&str, &tempfile::NamedTempFile)>,
) -> (Registries, String) {
    registries_with(server, |cfg| {
        if let Some((user, file)) = creds {
            cfg.username = Some(user.to_string());
            cfg.password_file = Some(file.path().to_path_buf());
        }
    })
}

/// The registry `server` over plain HTTP, two retries, and what `tweak` changes; with its host.
pub(super) fn registries_with(
    server: &MockServer,
    tweak: impl FnOnce(&mut RegistryConfig),
) -> (Registries, String) {
    let host = server.address().to_string();
    let mut cfg = RegistryConfig::anonymous(host.clone());
    cfg.insecure = true;
    cfg.max_retries = 2;
    tweak(&mut cfg);
    (Registries::new(vec![cfg]).expect("registries"), host)
}

/// The watch of `acme/base:{tag}` on `host`, the repository the stand-ins serve.
pub(super) fn base_watch(host: &str, tag: &str) -> ImageWatch {
    ImageWatch::new(&format!("{host}/acme/base:{tag}"), None).expect("watch")
}

/// A password file holding `pw`.
pub(super) fn password_file(pw: &str) -> tempfile::NamedTempFile {
    let f = tempfile::NamedTempFile::new().expect("tempfile");
    std::fs::write(f.path(), format!("{pw}\n")).expect("write");
    f
}

#[tokio::test]
async fn one_head_with_four_accept_types_reads_the_digest() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/base/manifests/1.0"))
        .and(AcceptsAllFour)
        .respond_with(
            digest_head(D1, OCI_MANIFEST).insert_header("RateLimit-Remaining", "97;w=21600"),
        )
        .expect(2)
        .mount(&server)
        .await;
    serves_manifest(&server, None, 1).await;
    let (regs, host) = registries(&server, None);
    let watch = base_watch(&host, "1.0");
    let first = watch.check(&regs, None).await;
    let new = first.outcome.expect_first();
    assert_eq!(new.digest, D1);
    assert_eq!(new.rate_limit_remaining.as_deref(), Some("97;w=21600"));
    watch
        .check(&regs, Some(new))
        .await
        .outcome
        .assert_unchanged();
}

#[tokio::test]
async fn bearer_challenge_fetches_a_token_once_and_reuses_it() {
    let server = MockServer::start().await;
    let realm = format!("{}/token", server.uri());
    let challenge = format!(
        r#"Bearer realm="{realm}",service="test-registry",scope="repository:acme/base:pull""#
    );
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/base/manifests/1.0"))
        .and(HeaderIs("authorization", "Bearer tok-1".into()))
        .respond_with(digest_head(D1, OCI_MANIFEST))
        .expect(2)
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/base/manifests/1.0"))
        .and(NoAuthorization)
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", challenge.as_str()),
        )
        .expect(1)
        .mount(&server)
        .await;
    // user:secret in Basic, and exactly the service and scope of the challenge.
    Mock::given(method("GET"))
        .and(path("/token"))
        .and(wiremock::matchers::query_param("service", "test-registry"))
        .and(wiremock::matchers::query_param(
            "scope",
            "repository:acme/base:pull",
        ))
        .and(HeaderIs("authorization", "Basic dXNlcjpzZWNyZXQ=".into()))
        .respond_with(
            ResponseTemplate::new(200)
                .set_body_json(serde_json::json!({"token": "tok-1", "expires_in": 300})),
        )
        .expect(1)
        .mount(&server)
        .await;
    serves_manifest(&server, Some("tok-1"), 1).await;
    let pw = password_file("secret");
    let (regs, host) = registries(&server, Some(("user", &pw)));
    let watch = base_watch(&host, "1.0");
    let a = watch.check(&regs, None).await;
    assert_eq!(
        a.outcome.current().map(|o| o.digest.as_str()),
        Some(D1),
        "{:?}",
        a.outcome
    );
    let b = watch.check(&regs, a.outcome.current()).await;
    b.outcome.assert_unchanged();
}

#[tokio::test]
async fn basic_challenge_and_wrong_password_is_an_auth_error() {
    let server = MockServer::start().await;
    heads_answer(
        &server,
        ResponseTemplate::new(401).insert_header("WWW-Authenticate", r#"Basic realm="r""#),
        2,
    )
    .await;
    let pw = password_file("wrong");
    let (regs, host) = registries(&server, Some(("user", &pw)));
    let r = base_watch(&host, "1.0").check(&regs, None).await;
    let (kind, message) = r.outcome.error().expect("a wrong password fails");
    assert_eq!(kind, ErrorKind::Auth);
    assert!(
        message.contains("check the registry credentials") && !message.contains("wrong"),
        "{message}"
    );
}

#[tokio::test]
async fn html_and_bad_digests_are_typed_errors() {
    let server = MockServer::start().await;
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/html/manifests/1"))
        .respond_with(
            ResponseTemplate::new(200).insert_header("Content-Type", "text/html; charset=utf-8"),
        )
        .mount(&server)
        .await;
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/garbage/manifests/1"))
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Type", OCI_MANIFEST)
                .insert_header("Docker-Content-Digest", "md5:zz"),
        )
        .mount(&server)
        .await;
    let (regs, host) = registries(&server, None);
    for repo in ["html", "garbage"] {
        let err = ImageWatch::new(&format!("{host}/acme/{repo}:1"), None)
            .expect("watch")
            .observe(&regs, None)
            .await
            .expect_err(repo);
        assert_eq!(err.kind(), ErrorKind::InvalidResponse, "{err}");
    }
}

#[tokio::test]
async fn missing_digest_header_falls_back_to_get_and_sha256() {
    let server = MockServer::start().await;
    let body = br#"{"schemaVersion":2,"mediaType":"application/vnd.oci.image.manifest.v1+json"}"#;
    heads_answer(
        &server,
        ResponseTemplate::new(200).insert_header("Content-Type", OCI_MANIFEST),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(AcceptsAllFour)
        .respond_with(
            ResponseTemplate::new(200)
                .insert_header("Content-Type", OCI_MANIFEST)
                .set_body_bytes(body.to_vec()),
        )
        .expect(1)
        .mount(&server)
        .await;
    let (regs, host) = registries(&server, None);
    let obs = base_watch(&host, "1")
        .observe(&regs, None)
        .await
        .expect("digest");
    assert_eq!(obs.digest, crate::http::sha256_digest(body));
}

#[tokio::test]
async fn redirects_to_another_host_carry_no_credentials() {
    let registry = MockServer::start().await;
    let storage = MockServer::start().await;
    let blob = b"layer bytes".to_vec();
    let digest = crate::http::sha256_digest(&blob);
    Mock::given(method("GET"))
        .and(path(format!("/v2/acme/base/blobs/{digest}")))
        .and(HeaderIs("authorization", "Basic dXNlcjpzZWNyZXQ=".into()))
        .respond_with(ResponseTemplate::new(307).insert_header(
            "Location",
            format!("http://localhost:{}/blob", storage.address().port()),
        ))
        .expect(1)
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/acme/base/blobs/{digest}")))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", r#"Basic realm="r""#),
        )
        .mount(&registry)
        .await;
    Mock::given(method("GET"))
        .and(path("/blob"))
        .and(NoAuthorization)
        .respond_with(ResponseTemplate::new(200).set_body_bytes(blob.clone()))
        .expect(1)
        .mount(&storage)
        .await;
    let pw = password_file("secret");
    let (regs, host) = registries(&registry, Some(("user", &pw)));
    let got = regs
        .client(&host)
        .expect("client")
        .get_blob("acme/base", &digest, 1024)
        .await
        .expect("blob");
    assert_eq!(got.as_ref(), blob.as_slice());
}

#[test]
fn platform_choice_honours_variants() {
    let index = serde_json::json!({"schemaVersion": 2, "manifests": [
        {"digest": "sha256:amd", "platform": {"os": "linux", "architecture": "amd64"}},
        {"digest": "sha256:v6", "platform": {"os": "linux", "architecture": "arm", "variant": "v6"}},
        {"digest": "sha256:v7", "platform": {"os": "linux", "architecture": "arm", "variant": "v7"}},
        {"digest": "sha256:arm64", "platform": {"os": "linux", "architecture": "arm64", "variant": "v8"}},
        {"digest": "sha256:att", "platform": {"os": "unknown", "architecture": "unknown"}}]})
    .to_string();
    let pick = |p: &str| {
        select_platform(
            index.as_bytes(),
            &Platform::try_from(p.to_string()).expect("platform"),
            "x",
        )
        .expect("decode")
    };
    assert_eq!(pick("linux/amd64").as_deref(), Some("sha256:amd"));
    assert_eq!(pick("linux/arm/v7").as_deref(), Some("sha256:v7"));
    assert_eq!(pick("linux/arm64").as_deref(), Some("sha256:arm64"));
    assert_eq!(pick("linux/s390x"), None);
    assert!(Platform::try_from("linux".to_string()).is_err());
    let err = select_platform(
        b"<html>",
        &Platform::try_from("linux/amd64".to_string()).expect("p"),
        "http://r/x",
    )
    .expect_err("html");
    assert_eq!(err.kind(), ErrorKind::InvalidResponse);
}

#[tokio::test]
async fn a_head_without_content_type_still_finds_the_platform() {
    let server = MockServer::start().await;
    let index = serde_json::json!({"schemaVersion": 2, "mediaType": super::manifest::OCI_INDEX, "manifests": [
        {"mediaType": OCI_MANIFEST, "digest": "sha256:2222222222222222222222222222222222222222222222222222222222222222", "size": 1,
         "platform": {"os": "linux", "architecture": "amd64"}}]})
    .to_string();
    let digest = crate::http::sha256_digest(index.as_bytes());
    heads_answer(
        &server,
        ResponseTemplate::new(200).insert_header("Docker-Content-Digest", digest.as_str()),
        1,
    )
    .await;
    Mock::given(method("GET"))
        .and(path(format!("/v2/acme/base/manifests/{digest}")))
        .respond_with(ResponseTemplate::new(200).set_body_raw(index, super::manifest::OCI_INDEX))
        .expect(1)
        .mount(&server)
        .await;
    let (regs, host) = registries(&server, None);
    let obs = ImageWatch::new(&format!("{host}/acme/base:1"), Some("linux/amd64"))
        .expect("watch")
        .observe(&regs, None)
        .await
        .expect("observe");
    assert_eq!(obs.digest, digest);
    assert_eq!(
        obs.platform_digest.as_deref(),
        Some("sha256:2222222222222222222222222222222222222222222222222222222222222222")
    );
}
