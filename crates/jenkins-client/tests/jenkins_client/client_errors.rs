//! Every error the client maps, provoked against the Jenkins stand-in.

use crate::common;

use std::time::Duration;

use common::*;
use jenkins_client::{Error, JenkinsClient, ParamsIn, RequestError};
use secrecy::SecretString;
use testkit::jenkins::{Fault, FaultKind};

#[tokio::test]
async fn bad_token_is_401_and_the_secret_never_shows() {
    let j = start(standard()).await;
    let c = client_as(&j, "baton", "wrong-secret-value");
    let err = c.who_am_i().await.unwrap_err();
    assert!(
        matches!(err, Error::Unauthorized { ref user, .. } if user.as_deref() == Some("baton")),
        "{err:?}"
    );
    let msg = format!("{err} {err:?} {c:?}");
    assert!(msg.contains("API token"), "{msg}");
    assert!(!msg.contains("wrong-secret-value"), "secret leaked: {msg}");
    assert_eq!(err.status(), Some(401));
}

#[tokio::test]
async fn missing_permission_is_403_with_jenkins_diagnostics() {
    let j = start(standard()).await;
    let c = client_as(&j, "viewer", "viewer-token");
    let err = c.build(&job("plain")).await.unwrap_err();
    match &err {
        Error::Forbidden {
            authenticated_as,
            required_permission,
            ..
        } => {
            assert_eq!(authenticated_as.as_deref(), Some("viewer"));
            assert_eq!(
                required_permission.as_deref(),
                Some("hudson.model.Item.Build")
            );
        }
        other => panic!("expected Forbidden, got {other:?}"),
    }
    assert!(err.to_string().contains("hudson.model.Item.Build"));
}

#[tokio::test]
async fn trigger_errors_are_typed() {
    let j = start(standard()).await;
    let c = client(&j);
    let e = c
        .build_with_parameters(&job("plain"), &[], ParamsIn::Form)
        .await
        .unwrap_err();
    assert!(
        matches!(e, Error::NotParameterized { ref job, .. } if job == "plain"),
        "{e:?}"
    );
    assert!(e.to_string().contains("is not parameterized"), "{e}");

    let e = c.build(&job("micro-gw/nope")).await.unwrap_err();
    assert!(
        matches!(e, Error::JobNotFound { ref job, .. } if job == "micro-gw/nope"),
        "{e:?}"
    );

    let p = params(&[("X", "1")]);
    let e = c
        .build_with_parameters(&job("old"), &p, ParamsIn::Form)
        .await
        .unwrap_err();
    assert!(matches!(e, Error::JobDisabled { .. }), "{e:?}");
    assert!(e.to_string().contains("old is not buildable"), "{e}");

    let p = params(&[("CAUSE", "whim")]);
    let e = c
        .build_with_parameters(&job(PETSTORE), &p, ParamsIn::Form)
        .await
        .unwrap_err();
    match &e {
        Error::Api {
            status: 500, body, ..
        } => assert!(
            body.contains("Illegal choice for parameter CAUSE: whim"),
            "{body}"
        ),
        other => panic!("expected Api 500, got {other:?}"),
    }
    assert!(j.builds_of(PETSTORE).is_empty() && j.queued_ids().is_empty());

    j.set_fault(
        Fault::new(FaultKind::Status(405))
            .path_contains("/build")
            .times(1),
    );
    let e = c.build(&job("plain")).await.unwrap_err();
    assert!(matches!(e, Error::MethodNotAllowed { .. }), "{e:?}");
}

#[tokio::test]
async fn the_stand_in_answers_405_to_get_like_jenkins() {
    let j = start(standard()).await;
    jenkins_client::install_crypto_provider();
    let http = reqwest::Client::new();
    let rsp = http
        .get(format!("{}job/plain/build", j.url()))
        .basic_auth("baton", Some(TOKEN))
        .send()
        .await
        .unwrap();
    assert_eq!(rsp.status(), 405);
    assert_eq!(rsp.headers()["allow"], "POST");
}

#[tokio::test]
async fn password_auth_fetches_a_crumb_once_after_403_and_keeps_it() {
    let j = start(standard()).await;
    let c = client_as(&j, "human", "human-password");
    c.build(&job("plain")).await.unwrap();
    trigger(&c, &[]).await;
    let reqs = j.requests();
    let summary: Vec<(String, u16, bool)> = reqs
        .iter()
        .map(|r| (r.path.clone(), r.status, r.sent_crumb))
        .collect();
    assert_eq!(
        summary,
        [
            ("/job/plain/build".to_owned(), 403, false),
            ("/crumbIssuer/api/json".to_owned(), 200, false),
            ("/job/plain/build".to_owned(), 201, true),
            (
                "/job/micro-gw/job/petstore-image/buildWithParameters".to_owned(),
                201,
                true
            ),
        ]
    );
}

#[tokio::test]
async fn crumb_without_session_cookie_fails_clearly() {
    let j = start(standard()).await;
    jenkins_client::install_crypto_provider();
    let no_cookies = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let c = JenkinsClient::builder(j.url())
        .credentials("human", SecretString::from("human-password".to_owned()))
        .http_client(no_cookies)
        .build()
        .unwrap();
    let e = c.build(&job("plain")).await.unwrap_err();
    assert!(matches!(e, Error::NoValidCrumb { .. }), "{e:?}");
    assert!(e.to_string().contains("API token"), "{e}");
}

#[tokio::test]
async fn csrf_off_means_no_crumb_issuer() {
    let j = start(standard().csrf(false)).await;
    let c = client_as(&j, "human", "human-password");
    assert_eq!(c.fetch_crumb().await.unwrap(), None);
    c.build(&job("plain")).await.unwrap();
    assert!(!c.server_info().await.unwrap().root.use_crumbs);
}

#[tokio::test]
async fn redirect_following_clients_are_refused_with_a_fix() {
    let j = start(standard()).await;
    let p = params(&[("BASE_DIGEST", "x")]);
    trigger(&client(&j), &p).await;
    jenkins_client::install_crypto_provider();
    let follows = reqwest::Client::new();
    let c = JenkinsClient::builder(j.url())
        .credentials("baton", SecretString::from(TOKEN.to_owned()))
        .http_client(follows)
        .build()
        .unwrap();
    let e = c
        .build_with_parameters(&job(PETSTORE), &p, ParamsIn::Form)
        .await
        .unwrap_err();
    assert!(e.to_string().contains("Policy::none()"), "{e}");
}

#[tokio::test]
async fn resets_and_slow_answers_are_transport_errors() {
    let j = start(standard()).await;
    let c = client(&j);
    j.set_fault(
        Fault::new(FaultKind::Reset)
            .path_contains("whoAmI")
            .times(1),
    );
    let e = c.who_am_i().await.unwrap_err();
    assert!(
        matches!(e, Error::Request(RequestError::Transport { .. })) && e.is_transient(),
        "{e:?}"
    );
    assert_eq!(
        c.who_am_i().await.unwrap().name,
        "baton",
        "one-shot fault is gone"
    );

    j.set_fault(Fault::new(FaultKind::Delay(Duration::from_secs(5))).times(1));
    let impatient = JenkinsClient::builder(j.url())
        .credentials("baton", SecretString::from(TOKEN.to_owned()))
        .timeout(Duration::from_millis(200))
        .build()
        .unwrap();
    let e = impatient.who_am_i().await.unwrap_err();
    assert!(
        matches!(e, Error::Request(ref r) if r.is_timeout()),
        "{e:?}"
    );

    j.set_fault(
        Fault::new(FaultKind::Unavailable {
            retry_after_secs: 3,
        })
        .times(1),
    );
    let e = c.who_am_i().await.unwrap_err();
    assert!(
        matches!(e, Error::Api { status: 503, .. }) && e.is_transient(),
        "{e:?}"
    );
}

#[tokio::test]
async fn a_redirect_instead_of_json_names_the_likely_cause() {
    let j = start(standard()).await;
    j.set_fault(
        Fault::new(FaultKind::Status(302))
            .path_contains("/api/json")
            .times(1),
    );
    let e = client(&j).job_info(&job("plain")).await.unwrap_err();
    assert!(matches!(e, Error::Api { status: 302, .. }), "{e:?}");
    assert!(e.to_string().contains("check the base URL"), "{e}");
}

#[test]
fn bad_base_urls_are_rejected_with_the_reason() {
    let e = JenkinsClient::builder("ftp://jenkins").build().unwrap_err();
    assert!(e.to_string().contains("http or https"), "{e}");
    let e = JenkinsClient::builder("https://u:hunter2@jenkins")
        .build()
        .unwrap_err();
    assert!(!e.to_string().contains("hunter2"), "{e}");
    let e = JenkinsClient::builder("not a url").build().unwrap_err();
    assert!(e.to_string().contains("not a url"), "{e}");
}
