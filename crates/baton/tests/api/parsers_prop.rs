//! Property tests of the parsers of outside input in the daemon (issue 17, "Prove it"): the
//! four providers' webhook payloads and signature headers, and config files. Arbitrary input
//! never panics; a correct signature over any body verifies, and any other signature header
//! does not; the recorded payloads with mutated values parse to the same shape.
//!
//! `PROPTEST_CASES=100000 cargo test -p baton --release --test api parsers_prop` runs a long
//! campaign (docs/hardening.md).

use baton_daemon::hooks::{HookEvent, Provider, Unverified, WebhookSecret, parse, sign_sha256};
use http::{HeaderMap, HeaderName, HeaderValue};
use proptest::prelude::*;
use secrecy::SecretString;

fn secret() -> WebhookSecret {
    WebhookSecret::new(SecretString::from("prop-secret".to_owned())).unwrap()
}

fn provider() -> impl Strategy<Value = Provider> {
    prop::sample::select(Provider::ALL.to_vec())
}

/// The headers `provider` sends, signed over `body` with `signature` (or the right one).
fn headers(provider: Provider, body: &[u8], event: &str, signature: Option<&str>) -> HeaderMap {
    let good = sign_sha256(&secret(), body);
    let sig = signature.map_or(good.clone(), str::to_owned);
    let (sig_header, sig_value) = match provider {
        Provider::GitHub => ("x-hub-signature-256", sig),
        Provider::Bitbucket => ("x-hub-signature", sig),
        Provider::Gitea => (
            "x-gitea-signature",
            sig.trim_start_matches("sha256=").to_owned(),
        ),
        Provider::GitLab => (
            "x-gitlab-token",
            signature.map_or("prop-secret".to_owned(), str::to_owned),
        ),
    };
    let mut h = HeaderMap::new();
    for (k, v) in [
        (sig_header, sig_value.as_str()),
        (provider.event_header(), event),
        (provider.delivery_headers()[0], "prop-1"),
    ] {
        if let Ok(v) = HeaderValue::from_str(v) {
            h.insert(HeaderName::from_static(k), v);
        }
    }
    h
}

fn push_event(provider: Provider) -> &'static str {
    match provider {
        Provider::GitHub | Provider::Gitea => "push",
        Provider::GitLab => "Push Hook",
        Provider::Bitbucket => "repo:refs_changed",
    }
}

fn fixture(provider: Provider) -> &'static str {
    match provider {
        Provider::GitHub => include_str!("../fixtures/github_push.json"),
        Provider::Gitea => include_str!("../fixtures/gitea_push.json"),
        Provider::GitLab => include_str!("../fixtures/gitlab_push.json"),
        Provider::Bitbucket => include_str!("../fixtures/bitbucket_refs_changed.json"),
    }
}

proptest! {
    #[test]
    fn any_signed_body_parses_or_fails_cleanly(p in provider(), body in proptest::collection::vec(any::<u8>(), 0..2048)) {
        let h = headers(p, &body, push_event(p), None);
        let verified = Unverified::new(p, h, body.into()).verify(&secret());
        prop_assert!(verified.is_ok());
        let _ = parse(&verified.unwrap(), "prop-1");
    }

    #[test]
    fn only_the_right_signature_verifies(p in provider(), body in ".{0,300}", sig in ".{0,100}") {
        let good = sign_sha256(&secret(), body.as_bytes());
        let right = match p {
            Provider::GitLab => sig.trim() == "prop-secret",
            Provider::Gitea => sig.trim().eq_ignore_ascii_case(good.trim_start_matches("sha256=")),
            _ => {
                let s = sig.trim();
                s.split_once('=').is_some_and(|(a, hex)| a.eq_ignore_ascii_case("sha256") && hex.eq_ignore_ascii_case(&good[7..]))
            }
        };
        let h = headers(p, body.as_bytes(), push_event(p), Some(&sig));
        let ok = Unverified::new(p, h, body.into_bytes().into()).verify(&secret()).is_ok();
        prop_assert_eq!(ok, right);
    }

    #[test]
    fn recorded_pushes_with_mutated_values_keep_their_shape(p in provider(), value in "[a-zA-Z0-9 ./:_-]{0,40}") {
        // Replace every string value that is not a ref, URL or commit with generated text.
        let mut json: serde_json::Value = serde_json::from_str(fixture(p)).unwrap();
        fn mutate(v: &mut serde_json::Value, with: &str) {
            match v {
                serde_json::Value::String(s) if !(s.starts_with("refs/") || s.contains("://") || s.contains('@') || s.len() == 40) => *s = with.to_owned(),
                serde_json::Value::Array(a) => a.iter_mut().for_each(|x| mutate(x, with)),
                serde_json::Value::Object(o) => o.values_mut().for_each(|x| mutate(x, with)),
                _ => {}
            }
        }
        mutate(&mut json, &value);
        let body = serde_json::to_vec(&json).unwrap();
        let h = headers(p, &body, push_event(p), None);
        let verified = Unverified::new(p, h, body.into()).verify(&secret()).unwrap();
        match parse(&verified, "prop-1") {
            Ok(HookEvent::Push(pushes)) => prop_assert!(!pushes.is_empty()),
            other => prop_assert!(false, "{p}: {other:?}"),
        }
    }

    #[test]
    fn config_files_never_panic(text in prop_oneof!["[a-z_:{}\\[\\], \\n\"'&*0-9.-]{0,400}", any::<String>()]) {
        let dir = tempfile::tempdir().unwrap();
        for name in ["c.yaml", "c.toml"] {
            let file = dir.path().join(name);
            std::fs::write(&file, &text).unwrap();
            let _ = baton_core::config::load_with_env(&file, Default::default());
        }
    }
}
