//! Shared HTTP plumbing: the TLS provider, bounded body reads, header helpers.

use futures::StreamExt as _;

use crate::Error;

/// Installs rustls' ring crypto provider for the process; harmless when one is installed.
/// Every builder in this crate that makes a `reqwest::Client` calls it.
pub fn install_crypto_provider() {
    let _ = rustls::crypto::ring::default_provider().install_default();
}

/// Reads a body of at most `limit` bytes; more is [`Error::TooLarge`], not a bigger buffer.
pub(crate) async fn read_limited(
    resp: reqwest::Response,
    limit: u64,
    what: &str,
) -> Result<bytes::Bytes, Error> {
    if let Some(len) = resp.content_length()
        && len > limit
    {
        return Err(Error::TooLarge {
            what: what.to_string(),
            limit,
        });
    }
    let url = resp.url().to_string();
    let mut buf = bytes::BytesMut::with_capacity(resp.content_length().unwrap_or(0) as usize);
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk.map_err(|source| Error::Transport {
            method: "GET".into(),
            url: url.clone(),
            source,
        })?;
        if buf.len() as u64 + chunk.len() as u64 > limit {
            return Err(Error::TooLarge {
                what: what.to_string(),
                limit,
            });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// The first 512 bytes of a body, lossily decoded, for error messages.
pub(crate) fn body_excerpt(body: &[u8]) -> String {
    let end = body.len().min(512);
    String::from_utf8_lossy(&body[..end]).trim().to_string()
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
