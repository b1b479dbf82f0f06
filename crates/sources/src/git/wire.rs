//! Protocol-v2 exchanges with `git://` and smart-HTTP remotes, shared by `ls_refs` (the
//! new-commit check) and `fetch` (a commit, its trees and the watched blobs).
//!
//! Why in-process: a `git` process per exchange costs a spawn, and over `git://` the CLI stalls
//! on Nagle (see `ls_refs`). Here a `git://` exchange writes each request in one write on a
//! `TCP_NODELAY` socket, and smart HTTP is one POST on a pooled keep-alive client. A URL's
//! userinfo is taken out before anything is sent: the password travels only in the
//! `Authorization` header, and every URL this module puts in an error is the clean one.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use url::Url;

use crate::http::read_limited;
use crate::{Credentials, Error};

/// Largest capability or ref advertisement read (a protocol-v0 server lists every ref).
pub(crate) const MAX_ADVERTISEMENT: u64 = 8 << 20;

/// One pkt-line of an answer, before its final flush.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Pkt {
    /// A line's payload.
    Data(Vec<u8>),
    /// `0001`: the end of a section.
    Delim,
    /// `ERR <message>`: the server refused; nothing follows.
    Err(String),
}

/// A remote this module speaks to: its URL without userinfo, and the credentials to send.
#[derive(Debug)]
pub(crate) struct Remote {
    /// `git://`, `http://` or `https://`, without userinfo.
    pub url: Url,
    /// The URL's own user and password, else the configured ones (HTTP only).
    pub credentials: Option<Credentials>,
}

impl Remote {
    /// `None` for remotes left to the CLI: ssh, `file://`, local paths, and a URL naming a
    /// user without a password (git would ask its credential helper for one).
    pub(crate) fn parse(url: &str, configured: Option<&Credentials>) -> Option<Remote> {
        let mut url = Url::parse(url).ok()?;
        if !matches!(url.scheme(), "git" | "http" | "https") {
            return None;
        }
        let mut credentials = configured.cloned();
        if !url.username().is_empty() || url.password().is_some() {
            let decode = |s: &str| {
                percent_encoding::percent_decode_str(s)
                    .decode_utf8_lossy()
                    .into_owned()
            };
            let password = url.password()?;
            credentials = Some(Credentials::new(decode(url.username()), decode(password)));
            url.set_username("").ok()?;
            url.set_password(None).ok()?;
        }
        Some(Remote { url, credentials })
    }

    /// `<url>/<suffix>` on an HTTP remote.
    pub(crate) fn endpoint(&self, suffix: &str) -> Result<Url, Error> {
        let base = self.url.as_str().trim_end_matches('/');
        Url::parse(&format!("{base}/{suffix}")).map_err(|e| protocol(&self.url, &e.to_string()))
    }
}

/// What the server answered a protocol-v2 command with.
#[derive(Debug)]
pub(crate) enum Answer {
    /// The pkt-lines of the answer, up to its final flush.
    V2(Vec<Pkt>),
    /// A protocol-v0 `git://` server advertised its refs instead (the first section).
    V0(Vec<Pkt>),
    /// An HTTP redirect: the CLI follows it as configured.
    Redirect,
}

/// Sends one protocol-v2 `request` (a `command=...` and its arguments) and reads the answer
/// up to its final flush, at most `limit` bytes. `what` names the exchange in errors.
pub(crate) async fn command(
    remote: &Remote,
    request: &[u8],
    limit: u64,
    what: &str,
) -> Result<Answer, Error> {
    if remote.url.scheme() == "git" {
        return daemon(&remote.url, request, limit).await;
    }
    let post = remote.endpoint("git-upload-pack")?;
    let req = client()
        .post(post.clone())
        .header("content-type", "application/x-git-upload-pack-request")
        .header("accept", "application/x-git-upload-pack-result")
        .body(request.to_vec());
    let Some(body) = send(req, &post, remote.credentials.as_ref(), limit, what).await? else {
        return Ok(Answer::Redirect);
    };
    let (lines, _) =
        split(&body, &post)?.ok_or_else(|| protocol(&post, "the answer ends early"))?;
    Ok(Answer::V2(lines))
}

/// `git://host[:port]/path`: the v2 hello, the capability advertisement, then `request`.
async fn daemon(url: &Url, request: &[u8], limit: u64) -> Result<Answer, Error> {
    let host = url.host_str().unwrap_or_default();
    let port = url.port().unwrap_or(9418);
    let io = |action| {
        let shown = url.to_string();
        move |source| Error::Io {
            action,
            path: shown,
            source,
        }
    };
    let mut s = tokio::net::TcpStream::connect((host, port))
        .await
        .map_err(io("connect to"))?;
    s.set_nodelay(true).map_err(io("configure"))?;
    let hello = format!(
        "git-upload-pack {}\0host={}\0\0version=2\0",
        url.path(),
        url.authority()
    );
    s.write_all(&pkt(&hello)).await.map_err(io("write to"))?;
    let mut buf = Vec::new();
    let caps = read_until_flush(&mut s, &mut buf, url, MAX_ADVERTISEMENT).await?;
    if !is_v2(&caps) {
        return Ok(Answer::V0(caps));
    }
    s.write_all(request).await.map_err(io("write to"))?;
    let answer = read_until_flush(&mut s, &mut buf, url, limit).await?;
    let _ = s.write_all(b"0000").await;
    Ok(Answer::V2(answer))
}

/// Reads pkt-lines from `s` up to a flush; `buf` keeps bytes read past it.
async fn read_until_flush(
    s: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
    url: &Url,
    limit: u64,
) -> Result<Vec<Pkt>, Error> {
    loop {
        if let Some((lines, used)) = split(buf, url)? {
            buf.drain(..used);
            return Ok(lines);
        }
        if buf.len() as u64 > limit {
            return Err(Error::TooLarge {
                what: format!("answer of {url}"),
                limit,
            });
        }
        let mut chunk = [0u8; 64 << 10];
        let n = s.read(&mut chunk).await.map_err(|source| Error::Io {
            action: "read from",
            path: url.to_string(),
            source,
        })?;
        if n == 0 {
            return Err(protocol(url, "the server closed the connection mid-answer"));
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Sends with `Git-Protocol: version=2` and credentials; `None` on a redirect (the CLI
/// follows the first one, as configured), an error on any other non-200.
pub(crate) async fn send(
    req: reqwest::RequestBuilder,
    url: &Url,
    credentials: Option<&Credentials>,
    limit: u64,
    what: &str,
) -> Result<Option<bytes::Bytes>, Error> {
    let mut req = req.header("git-protocol", "version=2");
    if let Some(c) = credentials {
        req = req.header("authorization", c.basic_header());
    }
    let resp = req.send().await.map_err(|source| Error::Transport {
        method: what.into(),
        url: url.to_string(),
        source,
    })?;
    let status = resp.status();
    if status.is_redirection() {
        return Ok(None);
    }
    let body = read_limited(resp, limit, &format!("{what} answer of {url}")).await?;
    if !status.is_success() {
        return Err(Error::Api {
            method: what.into(),
            url: url.to_string(),
            status: status.as_u16(),
            body: crate::http::body_excerpt(&body),
        });
    }
    Ok(Some(body))
}

/// One keep-alive client for every HTTP remote; redirects are left to the CLI.
pub(crate) fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        baton_http::tls::shared(reqwest::Client::builder())
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(300))
            .user_agent(concat!("git/baton-", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client without custom TLS roots always builds")
    })
}

/// True when a capability advertisement starts with `version 2`.
pub(crate) fn is_v2(section: &[Pkt]) -> bool {
    matches!(section.first(), Some(Pkt::Data(l)) if l.trim_ascii_end() == b"version 2")
}

/// One pkt-line.
pub(crate) fn pkt(s: &str) -> Vec<u8> {
    let mut v = format!("{:04x}", s.len() + 4).into_bytes();
    v.extend_from_slice(s.as_bytes());
    v
}

/// The pkt-lines of `buf` up to the first flush (or an `ERR` line) and the bytes used, or
/// `None` when more must be read.
pub(crate) fn split(buf: &[u8], url: &Url) -> Result<Option<(Vec<Pkt>, usize)>, Error> {
    let mut lines = Vec::new();
    let mut at = 0;
    while buf.len() >= at + 4 {
        let len = std::str::from_utf8(&buf[at..at + 4])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| protocol(url, "not a pkt-line answer"))?;
        match len {
            0 => return Ok(Some((lines, at + 4))),
            1 => {
                lines.push(Pkt::Delim);
                at += 4;
            }
            2..=4 => at += 4,
            _ if buf.len() < at + len => return Ok(None),
            _ => {
                let line = &buf[at + 4..at + len];
                at += len;
                if let Some(msg) = line.strip_prefix(b"ERR ") {
                    let msg = String::from_utf8_lossy(msg).trim_end().to_owned();
                    lines.push(Pkt::Err(msg));
                    return Ok(Some((lines, at)));
                }
                lines.push(Pkt::Data(line.to_vec()));
            }
        }
    }
    Ok(None)
}

/// An answer that does not follow the protocol.
pub(crate) fn protocol(url: &Url, reason: &str) -> Error {
    Error::InvalidResponse {
        url: url.to_string(),
        reason: format!("git: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("git://h/r.git").expect("url")
    }

    #[test]
    fn answers_split_at_flush_keep_delims_and_stop_at_err() {
        let mut buf = pkt("version 2\n");
        buf.extend_from_slice(b"0001");
        buf.extend(pkt("ls-refs=unborn\n"));
        assert_eq!(split(&buf, &url()).expect("ok"), None);
        buf.extend_from_slice(b"0000rest");
        let (lines, used) = split(&buf, &url()).expect("ok").expect("complete");
        assert_eq!(
            lines,
            vec![
                Pkt::Data(b"version 2\n".to_vec()),
                Pkt::Delim,
                Pkt::Data(b"ls-refs=unborn\n".to_vec())
            ]
        );
        assert_eq!(&buf[used..], b"rest");
        let (lines, _) = split(&pkt("ERR access denied: /x\n"), &url())
            .expect("ok")
            .expect("ends at ERR");
        assert_eq!(lines, vec![Pkt::Err("access denied: /x".into())]);
        assert!(split(b"zzzz", &url()).is_err());
    }

    #[test]
    fn userinfo_becomes_credentials_and_leaves_the_url() {
        let r = Remote::parse("https://x-access-token:s%40cret@h/r.git", None).expect("http");
        assert_eq!(r.url.as_str(), "https://h/r.git");
        let c = r.credentials.expect("credentials");
        assert_eq!(c.username, "x-access-token");
        assert!(!format!("{c:?}").contains("s@cret"));
        for cli in [
            "ssh://git@h/r.git",
            "file:///tmp/r.git",
            "/tmp/r.git",
            "https://user@h/r.git",
        ] {
            assert!(Remote::parse(cli, None).is_none(), "{cli}");
        }
    }
}
