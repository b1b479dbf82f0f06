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

/// Reads the answer to `GET url` like [`read_limited`]; a status other than 2xx is
/// [`Error::Api`] with the start of the body.
pub(crate) async fn read_success(
    resp: reqwest::Response,
    url: &url::Url,
    limit: u64,
    what: &str,
) -> Result<bytes::Bytes, Error> {
    let status = resp.status();
    let body = read_limited(resp, limit, what).await?;
    if !status.is_success() {
        return Err(Error::Api {
            method: "GET".into(),
            url: url.to_string(),
            status: status.as_u16(),
            body: body_excerpt(&body),
        });
    }
    Ok(body)
}

/// The `sha256:<hex>` digest of `body` downloaded from `url`; [`Error::DigestMismatch`] when
/// it is not the `expected` one.
pub(crate) fn verified_digest(
    url: &url::Url,
    body: &[u8],
    expected: &str,
) -> Result<String, Error> {
    let actual = sha256_digest(body);
    if actual != expected {
        return Err(Error::DigestMismatch {
            url: url.to_string(),
            expected: expected.to_string(),
            actual,
        });
    }
    Ok(actual)
}

/// A request to `url` that got no answer: [`Error::Timeout`] when it ran past `after`, else
/// [`Error::Transport`] with its cause.
pub(crate) fn transport(
    method: &str,
    url: &url::Url,
    source: reqwest::Error,
    after: std::time::Duration,
) -> Error {
    if source.is_timeout() {
        Error::Timeout {
            what: format!("{method} {url}"),
            after,
        }
    } else {
        Error::Transport {
            method: method.into(),
            url: url.to_string(),
            source,
        }
    }
}

/// `body` decoded as JSON; a failure is `Error::Decode` naming `url`, `what` and the JSON path.
pub(crate) fn decode_json<T: serde::de::DeserializeOwned>(
    body: &[u8],
    url: &str,
    what: &'static str,
) -> Result<T, Error> {
    let de = &mut serde_json::Deserializer::from_slice(body);
    serde_path_to_error::deserialize(de).map_err(|e| Error::Decode {
        url: url.to_owned(),
        what,
        path: e.path().to_string(),
        source: e.into_inner(),
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
