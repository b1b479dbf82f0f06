//! Signature checks as a type: only [`Unverified::verify`] makes a [`Verified`] request, and
//! only a `Verified` request hands out its body for parsing.

use bytes::Bytes;
use hmac::{Hmac, KeyInit, Mac};
use http::HeaderMap;
use secrecy::{ExposeSecret, SecretString};
use sha2::{Digest, Sha256};
use subtle::ConstantTimeEq;

use super::error::{HookError, Rejection};
use super::provider::Provider;

type HmacSha256 = Hmac<Sha256>;

/// The shared webhook secret (`git.webhook_secret_file`). Never empty; `Debug` is redacted.
#[derive(Debug, Clone)]
pub struct WebhookSecret(SecretString);

impl WebhookSecret {
    /// Wraps a secret, refusing an empty one (surrounding whitespace, such as the newline at
    /// the end of a secret file, is not part of the secret).
    pub fn new(secret: SecretString) -> Result<Self, HookError> {
        let trimmed = secret.expose_secret().trim();
        if trimmed.is_empty() {
            return Err(HookError::EmptySecret);
        }
        Ok(Self(SecretString::from(trimmed.to_owned())))
    }

    fn bytes(&self) -> &[u8] {
        self.0.expose_secret().as_bytes()
    }

    fn mac(&self) -> HmacSha256 {
        // HMAC accepts keys of any length, so this cannot fail.
        <HmacSha256 as KeyInit>::new_from_slice(self.bytes()).expect("HMAC takes any key length")
    }
}

/// A webhook request as received: nobody may read its body yet.
#[derive(Debug)]
pub struct Unverified {
    provider: Provider,
    headers: HeaderMap,
    body: Bytes,
}

/// A webhook request whose signature matched the shared secret. Only
/// [`Unverified::verify`] makes one:
///
/// ```compile_fail,E0451
/// use baton_daemon::hooks::{Provider, Verified};
/// let forged = Verified { provider: Provider::GitHub, headers: Default::default(), body: Default::default() };
/// ```
#[derive(Debug)]
pub struct Verified {
    provider: Provider,
    headers: HeaderMap,
    body: Bytes,
}

impl Unverified {
    /// Holds a request for `provider` until it is verified.
    pub fn new(provider: Provider, headers: HeaderMap, body: Bytes) -> Self {
        Self {
            provider,
            headers,
            body,
        }
    }

    /// The provider the request claims to come from.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// Checks the provider's signature header against the raw body in constant time.
    pub fn verify(self, secret: &WebhookSecret) -> Result<Verified, Rejection> {
        match self.provider {
            Provider::GitHub => {
                let value = match self.headers.get("x-hub-signature-256") {
                    Some(v) => v,
                    // Only the legacy SHA-1 header: the hook is set up with the wrong algorithm.
                    None if self.headers.contains_key("x-hub-signature") => {
                        return Err(Rejection::WrongAlgorithm);
                    }
                    None => return Err(Rejection::Missing),
                };
                check_prefixed_hmac(value.as_bytes(), &self.body, secret)?;
            }
            Provider::Bitbucket => {
                let value = self
                    .headers
                    .get("x-hub-signature")
                    .ok_or(Rejection::Missing)?;
                check_prefixed_hmac(value.as_bytes(), &self.body, secret)?;
            }
            Provider::Gitea => {
                let hex_sig = self.trimmed_header("x-gitea-signature")?;
                check_hmac(hex_sig, &self.body, secret)?;
            }
            Provider::GitLab => {
                let token = self.trimmed_header("x-gitlab-token")?;
                // Compare digests so neither the content nor the length of the secret shows in
                // the time taken.
                let given = Sha256::digest(token);
                let expected = Sha256::digest(secret.bytes());
                if !bool::from(given.as_slice().ct_eq(expected.as_slice())) {
                    return Err(Rejection::Invalid);
                }
            }
        }
        Ok(Verified {
            provider: self.provider,
            headers: self.headers,
            body: self.body,
        })
    }

    /// Header `name` without surrounding white space: `Missing` without the header, `Empty`
    /// when nothing is left.
    fn trimmed_header(&self, name: &str) -> Result<&[u8], Rejection> {
        let value = self.headers.get(name).ok_or(Rejection::Missing)?;
        let value = trim(value.as_bytes());
        if value.is_empty() {
            return Err(Rejection::Empty);
        }
        Ok(value)
    }
}

impl Verified {
    /// The provider whose signature matched.
    pub fn provider(&self) -> Provider {
        self.provider
    }

    /// The request headers.
    pub fn headers(&self) -> &HeaderMap {
        &self.headers
    }

    /// The raw body, safe to parse now.
    pub fn body(&self) -> &Bytes {
        &self.body
    }
}

/// `sha256=<hex>`: anything before `=` other than `sha256` is another algorithm.
fn check_prefixed_hmac(value: &[u8], body: &[u8], secret: &WebhookSecret) -> Result<(), Rejection> {
    let value = trim(value);
    if value.is_empty() {
        return Err(Rejection::Empty);
    }
    let Some(eq) = value.iter().position(|b| *b == b'=') else {
        return Err(Rejection::Invalid);
    };
    let (algorithm, rest) = (&value[..eq], &value[eq + 1..]);
    if !algorithm.eq_ignore_ascii_case(b"sha256") {
        return Err(Rejection::WrongAlgorithm);
    }
    if rest.is_empty() {
        return Err(Rejection::Empty);
    }
    check_hmac(rest, body, secret)
}

/// Decodes hex and lets `verify_slice` compare it in constant time; a signature of the wrong
/// length (truncated) fails there too.
fn check_hmac(hex_sig: &[u8], body: &[u8], secret: &WebhookSecret) -> Result<(), Rejection> {
    let sig = hex::decode(hex_sig).map_err(|_| Rejection::Invalid)?;
    let mut mac = secret.mac();
    mac.update(body);
    mac.verify_slice(&sig).map_err(|_| Rejection::Invalid)
}

fn trim(value: &[u8]) -> &[u8] {
    value.trim_ascii()
}

/// `sha256=<hex HMAC-SHA256 of body>`, as GitHub and Bitbucket send it. For tests and for
/// tools that replay hooks.
pub fn sign_sha256(secret: &WebhookSecret, body: &[u8]) -> String {
    let mut mac = secret.mac();
    mac.update(body);
    format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
}

#[cfg(test)]
#[path = "verify_tests.rs"]
mod tests;
