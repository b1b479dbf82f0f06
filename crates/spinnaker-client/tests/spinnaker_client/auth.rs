//! Authentication modes against the stand-in, and secrets kept out of Debug and errors.

use std::time::Duration;

use secrecy::SecretString;
use spinnaker_client::{ApiErrorKind, Auth, Client, Error, RequestError};
use testkit::spinnaker::{FakeSpinnaker, Fault, FaultKind, GateAuth, TlsSettings};

async fn gate(auth: GateAuth) -> FakeSpinnaker {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    FakeSpinnaker::builder()
        .manual_clock()
        .auth(auth)
        .start(listener)
        .await
        .unwrap()
}

fn client(fake: &FakeSpinnaker, auth: Auth) -> Client {
    Client::builder(fake.url())
        .auth(auth)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap()
}

fn secret(s: &str) -> SecretString {
    SecretString::from(s.to_owned())
}

#[tokio::test]
async fn basic_auth() {
    let fake = gate(GateAuth::Basic {
        user: "baton".into(),
        password: secret("s3cret"),
    })
    .await;
    // A client that sends user baton with `password`.
    let basic = |password: &str| {
        client(
            &fake,
            Auth::Basic {
                user: "baton".into(),
                password: secret(password),
            },
        )
    };
    let good = basic("s3cret");
    assert!(good.pipeline_configs("app").await.unwrap().is_empty());
    let bad = basic("wrong");
    let err = bad.pipeline_configs("app").await.unwrap_err();
    assert_eq!(err.api_kind(), Some(ApiErrorKind::Unauthorized));
    assert!(
        err.to_string().contains("Full authentication is required"),
        "{err}"
    );
    assert!(!err.to_string().contains("wrong"));
    let none = client(&fake, Auth::None);
    assert_eq!(
        none.pipeline_configs("app").await.unwrap_err().status(),
        Some(401)
    );
    assert_eq!(
        none.health().await.unwrap()["status"],
        "UP",
        "health stays open"
    );
    assert_eq!(fake.requests()[0].auth_scheme.as_deref(), Some("Basic"));
}

#[tokio::test]
async fn bearer_token() {
    let fake = gate(GateAuth::Bearer {
        token: secret("tok-123"),
    })
    .await;
    let bearer = |token: &str| {
        client(
            &fake,
            Auth::Bearer {
                token: secret(token),
            },
        )
    };
    let good = bearer("tok-123");
    good.pipeline_configs("app").await.unwrap();
    let bad = bearer("tok-999");
    assert_eq!(
        bad.pipeline_configs("app").await.unwrap_err().status(),
        Some(401)
    );
    let debug = format!("{good:?}");
    assert!(!debug.contains("tok-123"), "{debug}");
}

#[tokio::test]
async fn form_login_with_session_cookie_and_relogin() {
    let fake = gate(GateAuth::FormLogin {
        user: "ldap-user".into(),
        password: secret("pw"),
    })
    .await;
    // A client that logs in as ldap-user with `password`.
    let form_login = |password: &str| {
        client(
            &fake,
            Auth::FormLogin {
                user: "ldap-user".into(),
                password: secret(password),
            },
        )
    };
    let c = form_login("pw");
    c.pipeline_configs("app").await.unwrap();
    c.pipeline_configs("app").await.unwrap();
    fake.expire_sessions();
    c.pipeline_configs("app").await.unwrap();
    let paths: Vec<String> = fake
        .requests()
        .iter()
        .map(|r| format!("{} {} {}", r.method, r.path, r.status))
        .collect();
    assert_eq!(
        paths,
        [
            "POST /login 302",
            "GET /applications/app/pipelineConfigs 200",
            "GET /applications/app/pipelineConfigs 200",
            "GET /applications/app/pipelineConfigs 401",
            "POST /login 302",
            "GET /applications/app/pipelineConfigs 200",
        ]
    );
    assert!(fake.requests()[1].had_session);

    fake.expire_sessions();
    fake.set_fault(
        Fault::on(
            "/applications/",
            FaultKind::Redirect("http://gate/login".into()),
        )
        .times(1),
    );
    c.pipeline_configs("app")
        .await
        .expect("a redirect to /login means log in again");
    let logins = fake
        .requests()
        .iter()
        .filter(|r| r.path == "/login")
        .count();
    assert_eq!(logins, 3);

    let wrong = form_login("nope");
    let err = wrong.pipeline_configs("app").await.unwrap_err();
    assert!(matches!(err, Error::LoginRefused { .. }), "{err}");
    assert!(err.to_string().contains("ldap-user") && !err.to_string().contains("nope"));
}

#[tokio::test]
async fn x509_client_certificate_over_mutual_tls() {
    let ca = include_bytes!("../fixtures/tls_ca.pem").to_vec();
    let identity = include_str!("../fixtures/test_client_identity.pem");
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let fake = FakeSpinnaker::builder()
        .manual_clock()
        .tls(TlsSettings {
            server_identity_pem: include_bytes!("../fixtures/tls_server_identity.pem").to_vec(),
            client_ca_pem: Some(ca.clone()),
        })
        .start(listener)
        .await
        .unwrap();
    assert!(fake.url().starts_with("https://127.0.0.1:"));
    let with_cert = Client::builder(fake.url())
        .auth(Auth::X509 {
            pem: secret(identity),
        })
        .root_certificate_pem(ca.clone())
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    assert!(with_cert.pipeline_configs("app").await.unwrap().is_empty());
    assert!(!format!("{with_cert:?}").contains("PRIVATE KEY"));
    let without = Client::builder(fake.url())
        .root_certificate_pem(ca)
        .timeout(Duration::from_secs(5))
        .build()
        .unwrap();
    let err = without.pipeline_configs("app").await.unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::Transport { .. })),
        "{err}"
    );
    assert_eq!(
        fake.requests().len(),
        1,
        "the handshake refused the second client"
    );
}

#[test]
fn bad_x509_identity_is_rejected_with_a_clear_error() {
    let err = Client::builder("https://gate.example.com")
        .auth(Auth::X509 {
            pem: secret("-----BEGIN NOTHING-----"),
        })
        .build()
        .unwrap_err();
    assert!(err.to_string().contains("client certificate"), "{err}");
}

#[test]
fn bad_base_url_names_the_url() {
    let err = Client::builder("not a url").build().unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }));
    assert!(err.to_string().contains("not a url"), "{err}");
}
