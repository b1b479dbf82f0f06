//! The crate's side of the shared HTTP plumbing (`baton-http`): body reads mapped to this
//! crate's errors, digests, header helpers.

use crate::Error;

pub(crate) use baton_http::install_crypto_provider;

/// The user agent of the registry and Helm clients.
pub(crate) const USER_AGENT: &str = concat!("baton/", env!("CARGO_PKG_VERSION"));

/// Reads a body of at most `limit` bytes; more is [`Error::TooLarge`], not a bigger buffer.
pub(crate) async fn read_limited(
    resp: reqwest::Response,
    limit: u64,
    what: &str,
) -> Result<bytes::Bytes, Error> {
    let url = resp.url().to_string();
    baton_http::body::read_limited(resp, limit)
        .await
        .map_err(|e| match e {
            baton_http::body::BodyError::Transport(source) => Error::Transport {
                method: "GET".into(),
                url,
                source,
            },
            _ => Error::TooLarge {
                what: what.to_string(),
                limit,
            },
        })
}

/// The start of a body, lossily decoded, for error messages.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    baton_http::body::excerpt(body, 512)
}

/// `sha256:<hex>` of `data`.
pub(crate) fn sha256_digest(data: &[u8]) -> String {
    use sha2::Digest as _;
    format!("sha256:{}", hex::encode(sha2::Sha256::digest(data)))
}

/// True when `d` is `sha256:` followed by 64 lowercase hex digits.
pub(crate) fn is_sha256_digest(d: &str) -> bool {
    d.strip_prefix("sha256:").is_some_and(|h| {
        h.len() == 64
            && h.bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b))
    })
}
