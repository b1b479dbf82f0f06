//! Webhook payloads of the four providers: any body, correctly signed, parses or fails with an
//! error, never a panic. The first byte picks the provider and the event header.
#![no_main]

use baton_daemon::hooks::{Provider, Unverified, WebhookSecret, parse, sign_sha256};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

const SECRET: &str = "fuzz-secret";

fuzz_target!(|data: &[u8]| {
    let Some((&pick, body)) = data.split_first() else {
        return;
    };
    let provider = Provider::ALL[usize::from(pick) % Provider::ALL.len()];
    let event = match (provider, pick / 4 % 3) {
        (_, 2) => "ping",
        (Provider::GitLab, _) => "Push Hook",
        (Provider::Bitbucket, _) => "repo:refs_changed",
        _ => "push",
    };
    let secret = WebhookSecret::new(SecretString::from(SECRET.to_owned())).unwrap();
    let sig = sign_sha256(&secret, body);
    let (sig_header, sig_value) = match provider {
        Provider::GitHub => ("x-hub-signature-256", sig),
        Provider::Bitbucket => ("x-hub-signature", sig),
        Provider::Gitea => (
            "x-gitea-signature",
            sig.trim_start_matches("sha256=").to_owned(),
        ),
        Provider::GitLab => ("x-gitlab-token", SECRET.to_owned()),
    };
    let mut h = HeaderMap::new();
    for (k, v) in [
        (sig_header, sig_value.as_str()),
        (provider.event_header(), event),
        (provider.delivery_headers()[0], "fuzz-1"),
    ] {
        h.insert(
            HeaderName::from_static(k),
            HeaderValue::from_str(v).unwrap(),
        );
    }
    if pick & 0x80 != 0 {
        h.insert(
            http::header::CONTENT_TYPE,
            HeaderValue::from_static("application/x-www-form-urlencoded"),
        );
    }
    let verified = Unverified::new(provider, h, body.to_vec().into())
        .verify(&secret)
        .expect("a correctly signed body verifies");
    let _ = parse(&verified, "fuzz-1");
});
