use super::*;

const BODY: &[u8] = br#"{"ref":"refs/heads/main"}"#;

fn secret(s: &str) -> WebhookSecret {
    WebhookSecret::new(SecretString::from(s.to_owned())).unwrap()
}

fn request(provider: Provider, headers: &[(&str, &str)], body: &[u8]) -> Unverified {
    let mut map = HeaderMap::new();
    for (k, v) in headers {
        map.insert(
            http::HeaderName::from_bytes(k.as_bytes()).unwrap(),
            v.parse().unwrap(),
        );
    }
    Unverified::new(provider, map, Bytes::copy_from_slice(body))
}

fn check(provider: Provider, headers: &[(&str, &str)]) -> Result<Verified, Rejection> {
    request(provider, headers, BODY).verify(&secret("s3cret"))
}

/// GitHub's published test vector ("Validating webhook deliveries", docs.github.com).
#[test]
fn github_documented_vector_verifies() {
    let key = secret("It's a Secret to Everybody");
    let header = "sha256=757107ea0eb2509fc211221cce984b8a37570b6d7586c22c46f4379c8b043e17";
    assert_eq!(sign_sha256(&key, b"Hello, World!"), header);
    let ok = request(
        Provider::GitHub,
        &[("x-hub-signature-256", header)],
        b"Hello, World!",
    )
    .verify(&key)
    .unwrap();
    assert_eq!(ok.body().as_ref(), b"Hello, World!");
    let tampered = request(
        Provider::GitHub,
        &[("x-hub-signature-256", header)],
        b"Hello, World?",
    );
    assert_eq!(tampered.verify(&key).unwrap_err(), Rejection::Invalid);
}

#[test]
fn prefixed_providers_accept_valid_and_reject_each_bad_signature() {
    let good = sign_sha256(&secret("s3cret"), BODY);
    let other_key = sign_sha256(&secret("another"), BODY);
    let truncated = &good[..good.len() - 2];
    let sha1 = format!("sha1={}", &good["sha256=".len()..][..40]);
    let upper = format!("sha256={}", good["sha256=".len()..].to_uppercase());
    for (provider, header) in [
        (Provider::GitHub, "x-hub-signature-256"),
        (Provider::Bitbucket, "x-hub-signature"),
    ] {
        assert!(check(provider, &[(header, &good)]).is_ok(), "{provider}");
        assert!(check(provider, &[(header, &upper)]).is_ok(), "{provider}");
        let cases: [(&str, Rejection); 8] = [
            (&other_key, Rejection::Invalid),
            (truncated, Rejection::Invalid),
            ("sha256=zz", Rejection::Invalid),
            ("deadbeef", Rejection::Invalid),
            ("", Rejection::Empty),
            ("sha256=", Rejection::Empty),
            (&sha1, Rejection::WrongAlgorithm),
            ("sha512=00", Rejection::WrongAlgorithm),
        ];
        for (value, want) in cases {
            assert_eq!(
                check(provider, &[(header, value)]).unwrap_err(),
                want,
                "{provider} {value:?}"
            );
        }
        assert_eq!(check(provider, &[]).unwrap_err(), Rejection::Missing);
    }
}

#[test]
fn github_with_only_the_sha1_header_is_wrong_algorithm() {
    let err = check(Provider::GitHub, &[("x-hub-signature", "sha1=0123")]).unwrap_err();
    assert_eq!(err, Rejection::WrongAlgorithm);
}

#[test]
fn a_valid_signature_over_another_body_is_invalid() {
    let sig = sign_sha256(&secret("s3cret"), b"{}");
    let err = check(Provider::GitHub, &[("x-hub-signature-256", &sig)]).unwrap_err();
    assert_eq!(err, Rejection::Invalid);
}

#[test]
fn gitea_signature_is_bare_hex() {
    let good = sign_sha256(&secret("s3cret"), BODY);
    let bare = &good["sha256=".len()..];
    let h = "x-gitea-signature";
    assert!(check(Provider::Gitea, &[(h, bare)]).is_ok());
    assert_eq!(
        check(Provider::Gitea, &[(h, &bare[..62])]).unwrap_err(),
        Rejection::Invalid
    );
    assert_eq!(
        check(Provider::Gitea, &[(h, &good)]).unwrap_err(),
        Rejection::Invalid,
        "Gitea sends no prefix"
    );
    let wrong = sign_sha256(&secret("nope"), BODY);
    assert_eq!(
        check(Provider::Gitea, &[(h, &wrong["sha256=".len()..])]).unwrap_err(),
        Rejection::Invalid
    );
    assert_eq!(
        check(Provider::Gitea, &[(h, "")]).unwrap_err(),
        Rejection::Empty
    );
    assert_eq!(check(Provider::Gitea, &[]).unwrap_err(), Rejection::Missing);
}

#[test]
fn gitlab_token_is_compared_whole() {
    let h = "x-gitlab-token";
    assert!(check(Provider::GitLab, &[(h, "s3cret")]).is_ok());
    for (value, want) in [
        ("s3cre", Rejection::Invalid),
        ("s3cret!", Rejection::Invalid),
        ("S3CRET", Rejection::Invalid),
        ("", Rejection::Empty),
    ] {
        assert_eq!(
            check(Provider::GitLab, &[(h, value)]).unwrap_err(),
            want,
            "{value:?}"
        );
    }
    assert_eq!(
        check(Provider::GitLab, &[]).unwrap_err(),
        Rejection::Missing
    );
}

#[test]
fn empty_secret_is_refused_and_debug_is_redacted() {
    let err = WebhookSecret::new(SecretString::from(" \n".to_owned())).unwrap_err();
    assert!(err.to_string().contains("git.webhook_secret_file"), "{err}");
    let key = secret("hunter2-very-secret\n");
    assert!(!format!("{key:?}").contains("hunter2"));
    // The trailing newline of a secret file is not part of the secret.
    assert_eq!(
        sign_sha256(&key, b"x"),
        sign_sha256(&secret("hunter2-very-secret"), b"x")
    );
}
