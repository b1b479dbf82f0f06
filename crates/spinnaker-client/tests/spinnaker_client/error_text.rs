//! What error messages say: each variant with a cause names only where and what, and
//! `baton_http::chain` adds each cause once (issue 14). The refused connection is in
//! `client.rs` with the other transport failures.

use spinnaker_client::model::decode;
use spinnaker_client::model::execution::Execution;
use spinnaker_client::{Auth, Client, Error};

#[test]
fn an_unparsable_gate_url_says_which_and_why_once() {
    // No scheme: the operator wrote a host where a URL belongs.
    let err = Client::builder("gate.example.com/api").build().unwrap_err();
    assert!(matches!(err, Error::InvalidUrl { .. }), "{err:?}");
    let text = testkit::shown_once(&err);
    assert!(text.contains("\"gate.example.com/api\""), "{text}");
    assert!(text.contains("relative URL without a base"), "{text}");
}

#[test]
fn an_unusable_client_certificate_says_what_was_set_up_and_why_once() {
    let err = Client::builder("https://gate.example.com")
        .auth(Auth::X509 {
            pem: "not a PEM document".into(),
        })
        .build()
        .unwrap_err();
    assert!(matches!(err, Error::Tls { .. }), "{err:?}");
    let text = testkit::shown_once(&err);
    assert!(text.contains("client certificate"), "{text}");
    assert!(
        text.len() > err.to_string().len(),
        "the cause is shown: {text}"
    );
}

#[test]
fn a_document_that_does_not_decode_names_the_path_and_the_reason_once() {
    let json = br#"{"id":"x","status":"RUNNING","stages":[{"id":"s","startTime":"soon"}]}"#;
    let err = decode::<Execution>("execution", json).unwrap_err();
    let text = testkit::shown_once(&err);
    assert!(text.contains("execution at stages[0].startTime"), "{text}");
    assert!(
        text.contains("invalid type"),
        "the decoder's reason is shown: {text}"
    );
}
