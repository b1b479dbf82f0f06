//! What error messages say (issue 17 item 10): the user without `Some(..)`, a crumb issuer that
//! cannot be reached told apart from a crumb refused after fetching one, and transport errors
//! with their cause; each cause printed once.

use crate::common;

use common::*;
use jenkins_client::{Error, RequestError};
use testkit::jenkins::{Fault, FaultKind};

#[tokio::test]
async fn a_401_names_the_user_plainly() {
    let j = start(standard()).await;
    let err = client_as(&j, "baton", "wrong-secret-value")
        .who_am_i()
        .await
        .unwrap_err();
    let text = err.to_string();
    assert!(text.contains("user \"baton\""), "{text}");
    assert!(!text.contains("Some("), "{text}");
}

#[tokio::test]
async fn a_missing_crumb_issuer_is_not_reported_as_a_refused_crumb() {
    let j = start(standard()).await;
    j.set_fault(
        Fault::new(FaultKind::Status(404))
            .method("GET")
            .path_contains("crumbIssuer"),
    );
    let c = client_as(&j, "human", "human-password");
    let err = c.build(&job("plain")).await.unwrap_err();
    assert!(matches!(err, Error::NoCrumbIssuer { .. }), "{err:?}");
    let text = err.to_string();
    assert!(!text.contains("even after fetching one"), "{text}");
    assert!(text.contains("404"), "{text}");
    assert_eq!(err.status(), Some(403));
}

#[tokio::test]
async fn transport_errors_say_why_and_name_each_cause_once() {
    // Nothing listens on port 9 of the loopback: connection refused.
    let c = jenkins_client::JenkinsClient::builder("http://127.0.0.1:9/")
        .credentials("baton", secrecy::SecretString::from(TOKEN.to_owned()))
        .build()
        .unwrap();
    let err = c.who_am_i().await.unwrap_err();
    assert!(
        matches!(err, Error::Request(RequestError::Transport { .. })),
        "{err:?}"
    );
    // The variant's own text is where and what; the causes come from the chain, once each.
    let own = err.to_string();
    assert!(own.starts_with("GET http://127.0.0.1:9/"), "{own}");
    assert!(!own.to_lowercase().contains("refused"), "{own}");
    let text = testkit::shown_once(&err);
    assert!(text.to_lowercase().contains("refused"), "{text}");
}

#[tokio::test]
async fn an_answer_that_is_not_json_names_the_place_once_and_the_decoder_once() {
    // A proxy or a login page answering 200 with HTML instead of Jenkins' JSON.
    let j = start(standard()).await;
    j.set_fault(Fault::new(FaultKind::Status(200)).path_contains("whoAmI/api/json"));
    let err = client(&j).who_am_i().await.unwrap_err();
    assert!(matches!(err, Error::Decode { .. }), "{err:?}");
    let own = err.to_string();
    assert!(
        own.contains("whoAmI/api/json") && own.contains("cannot decode JSON"),
        "{own}"
    );
    let text = testkit::shown_once(&err);
    assert!(
        text.contains("expected value"),
        "the decoder's reason is shown: {text}"
    );
}
