//! Where a registry's credentials may go (issue 17 item 9): not to a token realm on another
//! host unless the config lists it, and not over plain HTTP to a host that is not loopback.

use wiremock::matchers::{method, path};
use wiremock::{Mock, MockServer, ResponseTemplate};

use super::tests::{
    D1, base_watch, digest_head, password_file, registries, registries_with, serves_manifest,
};
use super::*;
use crate::ErrorKind;

/// A registry whose challenge sends the token request to `realm`.
async fn challenging(server: &MockServer, realm: &str) {
    let challenge =
        format!(r#"Bearer realm="{realm}",service="s",scope="repository:acme/base:pull""#);
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/base/manifests/1.0"))
        .respond_with(
            ResponseTemplate::new(401).insert_header("WWW-Authenticate", challenge.as_str()),
        )
        .mount(server)
        .await;
}

#[tokio::test]
async fn a_realm_on_another_host_gets_no_credentials() {
    let registry = MockServer::start().await;
    let elsewhere = MockServer::start().await;
    // Fails the test if anything reaches the other host.
    Mock::given(method("GET"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "t"})))
        .expect(0)
        .mount(&elsewhere)
        .await;
    // "localhost" is another host than the registry's 127.0.0.1, as a browser would see it.
    let realm = format!("http://localhost:{}/token", elsewhere.address().port());
    challenging(&registry, &realm).await;
    let pw = password_file("secret");
    let (regs, host) = registries(&registry, Some(("user", &pw)));
    let report = base_watch(&host, "1.0").check(&regs, None).await;
    let (kind, err) = report.outcome.error().expect("refused");
    assert!(
        err.contains("token_hosts") && err.contains("localhost"),
        "{err}"
    );
    assert_eq!(kind, ErrorKind::Config);
}

#[tokio::test]
async fn a_listed_token_host_gets_them() {
    let registry = MockServer::start().await;
    let auth = MockServer::start().await;
    Mock::given(method("GET"))
        .and(path("/token"))
        .respond_with(ResponseTemplate::new(200).set_body_json(serde_json::json!({"token": "t"})))
        .expect(1)
        .mount(&auth)
        .await;
    let port = auth.address().port();
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/base/manifests/1.0"))
        .and(wiremock::matchers::header("authorization", "Bearer t"))
        .respond_with(digest_head(D1, super::manifest::OCI_MANIFEST))
        .mount(&registry)
        .await;
    challenging(&registry, &format!("http://localhost:{port}/token")).await;
    serves_manifest(&registry, Some("t"), 1).await;
    let pw = password_file("secret");
    let (regs, host) = registries_with(&registry, |cfg| {
        cfg.max_retries = 0;
        cfg.username = Some("user".into());
        cfg.password_file = Some(pw.path().to_path_buf());
        cfg.token_hosts = vec![format!("localhost:{port}")];
    });
    let report = base_watch(&host, "1.0").check(&regs, None).await;
    assert_eq!(
        report.outcome.current().map(|o| o.digest.as_str()),
        Some(D1),
        "{:?}",
        report.outcome
    );
}

#[test]
fn plain_http_carries_credentials_only_to_loopback_unless_allowed() {
    crate::install_crypto_provider();
    let pw = password_file("secret");
    let client = |host: &str, allow: bool| {
        let mut cfg = RegistryConfig::anonymous(host);
        cfg.insecure = true;
        cfg.username = Some("user".into());
        cfg.password_file = Some(pw.path().to_path_buf());
        cfg.credentials_over_http = allow;
        RegistryClient::new(cfg).expect("client")
    };
    let url = |s: &str| url::Url::parse(s).unwrap();
    let remote = client("registry.example.com", false);
    let err = remote
        .may_send_credentials(&url("http://registry.example.com/v2/"))
        .expect_err("plain HTTP to a remote host")
        .to_string();
    assert!(err.contains("credentials_over_http"), "{err}");
    client("registry.example.com", true)
        .may_send_credentials(&url("http://registry.example.com/v2/"))
        .expect("allowed by the config");
    for local in ["127.0.0.1:5000", "localhost:5000", "[::1]:5000"] {
        client(local, false)
            .may_send_credentials(&url(&format!("http://{local}/v2/")))
            .expect(local);
    }
}

#[tokio::test]
async fn a_digest_header_that_does_not_match_the_manifest_is_an_error_not_a_change() {
    let registry = MockServer::start().await;
    let wrong = "sha256:2222222222222222222222222222222222222222222222222222222222222222";
    Mock::given(method("HEAD"))
        .and(path("/v2/acme/base/manifests/1.0"))
        .respond_with(digest_head(wrong, super::manifest::OCI_MANIFEST))
        .mount(&registry)
        .await;
    serves_manifest(&registry, None, 1).await;
    let (regs, host) = registries(&registry, None);
    let report = base_watch(&host, "1.0").check(&regs, None).await;
    let (kind, err) = report.outcome.error().expect("refused");
    assert_eq!(kind, ErrorKind::InvalidContent, "{err}");
    assert!(err.contains(wrong) && err.contains(D1), "{err}");
}
