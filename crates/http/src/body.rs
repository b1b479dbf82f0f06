//! Reading an answer's body with a limit: a peer (or a proxy in front of it) that sends more
//! than the caller can use gets an error, not a bigger buffer.

use futures::StreamExt as _;

/// Why a body could not be read.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum BodyError {
    /// The body is longer than the limit (by `Content-Length` or as it streamed in).
    #[error("the answer is larger than {limit} bytes")]
    TooLarge {
        /// The limit in bytes.
        limit: u64,
    },
    /// The connection failed while the body streamed in.
    #[error(transparent)]
    Transport(#[from] reqwest::Error),
}

/// Reads `resp`'s body, at most `limit` bytes.
pub async fn read_limited(resp: reqwest::Response, limit: u64) -> Result<bytes::Bytes, BodyError> {
    if resp.content_length().is_some_and(|len| len > limit) {
        return Err(BodyError::TooLarge { limit });
    }
    let capacity = resp.content_length().unwrap_or(0).min(limit) as usize;
    let mut buf = bytes::BytesMut::with_capacity(capacity);
    let mut stream = resp.bytes_stream();
    while let Some(chunk) = stream.next().await {
        let chunk = chunk?;
        if buf.len() as u64 + chunk.len() as u64 > limit {
            return Err(BodyError::TooLarge { limit });
        }
        buf.extend_from_slice(&chunk);
    }
    Ok(buf.freeze())
}

/// At most the first `max_chars` characters of a body, lossily decoded and trimmed, with `…`
/// when cut, passwords in URLs masked: what an error message may quote of an answer.
pub fn excerpt(body: &[u8], max_chars: usize) -> String {
    let text = String::from_utf8_lossy(&body[..body.len().min(max_chars * 4)]);
    let text = text.trim();
    let mut out: String = text.chars().take(max_chars).collect();
    if text.chars().nth(max_chars).is_some() {
        out.push('…');
    }
    crate::redact::text(&out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn excerpt_cuts_marks_and_masks() {
        assert_eq!(excerpt(b"  short \n", 10), "short");
        assert_eq!(excerpt("é".repeat(20).as_bytes(), 5), "ééééé…");
        assert_eq!(excerpt(b"see https://u:p@h/", 100), "see https://u:***@h/");
        assert_eq!(excerpt(&[0xff, b'a'], 10), "\u{fffd}a");
    }
}
