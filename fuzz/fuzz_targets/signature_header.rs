//! Signature headers: any header value (and any body) is refused or verified without a panic,
//! and a GitHub signature verifies only when it is the right HMAC.
#![no_main]

use baton_daemon::hooks::{Provider, Unverified, WebhookSecret, parse, sign_sha256};
use http::{HeaderMap, HeaderName, HeaderValue};
use libfuzzer_sys::fuzz_target;
use secrecy::SecretString;

fuzz_target!(|data: &[u8]| {
    let Some((&pick, rest)) = data.split_first() else {
        return;
    };
    // The header value, then the body after the first NUL.
    let cut = rest.iter().position(|b| *b == 0).unwrap_or(rest.len());
    let (value, body) = (&rest[..cut], rest.get(cut + 1..).unwrap_or_default());
    let provider = Provider::ALL[usize::from(pick) % Provider::ALL.len()];
    let header = match provider {
        Provider::GitHub => "x-hub-signature-256",
        Provider::Bitbucket => "x-hub-signature",
        Provider::Gitea => "x-gitea-signature",
        Provider::GitLab => "x-gitlab-token",
    };
    let Ok(v) = HeaderValue::from_bytes(value) else {
        return;
    };
    let mut h = HeaderMap::new();
    h.insert(HeaderName::from_static(header), v);
    h.insert(
        HeaderName::from_static(provider.event_header()),
        HeaderValue::from_static("push"),
    );
    let secret = WebhookSecret::new(SecretString::from("fuzz-secret".to_owned())).unwrap();
    let verified = Unverified::new(provider, h, body.to_vec().into()).verify(&secret);
    if provider == Provider::GitHub && verified.is_ok() {
        let good = sign_sha256(&secret, body);
        let given = String::from_utf8_lossy(value);
        assert!(
            given.trim().eq_ignore_ascii_case(&good),
            "GitHub accepted {given:?}, the right signature is {good}"
        );
    }
    if let Ok(v) = verified {
        let _ = parse(&v, "fuzz");
    }
});
