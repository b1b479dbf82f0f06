//! In-process protocol-v2 `ls-refs` for `git://` and smart HTTP remotes: the new-commit check.
//!
//! Why not `git ls-remote`: over `git://` it stalls ~45-60 ms per call (git writes its request
//! in small segments and one of them waits for the server's delayed ACK: Nagle), and every
//! check spawns a process. Here the request goes out in one write on a `TCP_NODELAY` socket, or
//! as one POST on a pooled keep-alive HTTP client. Why not gix: measured in the same run, gix
//! 0.90's `git://` transport stalls like the CLI and it adds 89 `gix-*` crates to the build
//! (figures in `docs/architecture-decisions.md`). Fetching commits and blobs stays on the git
//! CLI, which does partial clone (`--filter=blob:none`) and every transport.
//!
//! Anything this client does not handle (ssh, `file://`, local paths, URLs with userinfo, an
//! HTTP redirect) is answered with [`LsRef::UseCli`], and the caller runs `git ls-remote`.

use std::sync::OnceLock;
use std::time::Duration;

use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use url::Url;

use crate::http::{install_crypto_provider, read_limited};
use crate::{Credentials, Error};

/// Largest ref advertisement read (a protocol-v0 server lists every ref).
const MAX_ADVERTISEMENT: u64 = 8 << 20;

/// What the in-process client found.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum LsRef {
    /// The object id of the ref, or `None` when the remote has no such ref.
    Head(Option<String>),
    /// Not a remote this client handles: run `git ls-remote`.
    UseCli,
}

/// The object id `refname` points at on `url`, bounded by `timeout`.
pub(crate) async fn ls_ref(
    url: &str,
    refname: &str,
    credentials: Option<&Credentials>,
    timeout: Duration,
) -> Result<LsRef, Error> {
    let Ok(parsed) = Url::parse(url) else {
        return Ok(LsRef::UseCli);
    };
    if !parsed.username().is_empty() || parsed.password().is_some() {
        return Ok(LsRef::UseCli);
    }
    let work = async {
        match parsed.scheme() {
            "git" => daemon(&parsed, refname).await.map(LsRef::Head),
            "http" | "https" => smart_http(&parsed, refname, credentials).await,
            _ => Ok(LsRef::UseCli),
        }
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| Error::Timeout {
            what: format!("ls-refs {url} {refname}"),
            after: timeout,
        })?
}

/// `git://host[:port]/path`: the v2 request, then `ls-refs` with a `ref-prefix`, each in one
/// write.
async fn daemon(url: &Url, refname: &str) -> Result<Option<String>, Error> {
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
    let first = read_section(&mut s, &mut buf, url).await?;
    if !is_v2(&first) {
        // A protocol-v0 server advertised every ref at once.
        return find_ref(&first, refname, url);
    }
    s.write_all(&ls_refs_request(refname))
        .await
        .map_err(io("write to"))?;
    let refs = read_section(&mut s, &mut buf, url).await?;
    let _ = s.write_all(b"0000").await;
    find_ref(&refs, refname, url)
}

/// Reads pkt-lines from `s` up to a flush; `buf` keeps bytes read past it.
async fn read_section(
    s: &mut tokio::net::TcpStream,
    buf: &mut Vec<u8>,
    url: &Url,
) -> Result<Vec<String>, Error> {
    loop {
        if let Some((lines, used)) = parse_section(buf, url)? {
            buf.drain(..used);
            return Ok(lines);
        }
        if buf.len() as u64 > MAX_ADVERTISEMENT {
            return Err(Error::TooLarge {
                what: format!("ref advertisement of {url}"),
                limit: MAX_ADVERTISEMENT,
            });
        }
        let mut chunk = [0u8; 16 << 10];
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

/// Smart HTTP: the v2 capability GET, then one `ls-refs` POST on the same pooled connection.
async fn smart_http(
    url: &Url,
    refname: &str,
    credentials: Option<&Credentials>,
) -> Result<LsRef, Error> {
    let base = url.as_str().trim_end_matches('/');
    let caps = Url::parse(&format!("{base}/info/refs?service=git-upload-pack"))
        .map_err(|e| protocol(url, &e.to_string()))?;
    let Some(body) = send(client().get(caps.clone()), &caps, credentials).await? else {
        return Ok(LsRef::UseCli);
    };
    let mut rest = body.as_ref();
    let mut section = next_section(&mut rest, &caps)?;
    if section.first().is_some_and(|l| l.starts_with("# service=")) {
        section = next_section(&mut rest, &caps)?;
    }
    if !is_v2(&section) {
        return find_ref(&section, refname, url).map(LsRef::Head);
    }
    let post = Url::parse(&format!("{base}/git-upload-pack"))
        .map_err(|e| protocol(url, &e.to_string()))?;
    let req = client()
        .post(post.clone())
        .header("content-type", "application/x-git-upload-pack-request")
        .header("accept", "application/x-git-upload-pack-result")
        .body(ls_refs_request(refname));
    let Some(body) = send(req, &post, credentials).await? else {
        return Ok(LsRef::UseCli);
    };
    let refs = next_section(&mut body.as_ref(), &post)?;
    find_ref(&refs, refname, url).map(LsRef::Head)
}

/// Sends with `Git-Protocol: version=2` and credentials; `None` on a redirect (the CLI
/// follows the first one, as configured), an error on any other non-200.
async fn send(
    req: reqwest::RequestBuilder,
    url: &Url,
    credentials: Option<&Credentials>,
) -> Result<Option<bytes::Bytes>, Error> {
    let mut req = req.header("git-protocol", "version=2");
    if let Some(c) = credentials {
        req = req.header("authorization", c.basic_header());
    }
    let resp = req.send().await.map_err(|source| Error::Transport {
        method: "ls-refs".into(),
        url: url.to_string(),
        source,
    })?;
    let status = resp.status();
    if status.is_redirection() {
        return Ok(None);
    }
    let body = read_limited(resp, MAX_ADVERTISEMENT, &format!("ref advertisement {url}")).await?;
    if !status.is_success() {
        return Err(Error::Api {
            method: "ls-refs".into(),
            url: url.to_string(),
            status: status.as_u16(),
            body: crate::http::body_excerpt(&body),
        });
    }
    Ok(Some(body))
}

/// One keep-alive client for every HTTP remote; redirects are left to the CLI.
fn client() -> &'static reqwest::Client {
    static CLIENT: OnceLock<reqwest::Client> = OnceLock::new();
    CLIENT.get_or_init(|| {
        install_crypto_provider();
        reqwest::Client::builder()
            .redirect(reqwest::redirect::Policy::none())
            .connect_timeout(Duration::from_secs(10))
            .pool_idle_timeout(Duration::from_secs(300))
            .user_agent(concat!("git/baton-", env!("CARGO_PKG_VERSION")))
            .build()
            .expect("a client without custom TLS roots always builds")
    })
}

/// True when a capability advertisement starts with `version 2`.
fn is_v2(section: &[String]) -> bool {
    section.first().map(|l| l.trim_end()) == Some("version 2")
}

fn ls_refs_request(refname: &str) -> Vec<u8> {
    let mut req = pkt("command=ls-refs\n");
    req.extend_from_slice(b"0001");
    req.extend(pkt(&format!("ref-prefix {refname}\n")));
    req.extend_from_slice(b"0000");
    req
}

fn pkt(s: &str) -> Vec<u8> {
    let mut v = format!("{:04x}", s.len() + 4).into_bytes();
    v.extend_from_slice(s.as_bytes());
    v
}

/// The pkt-lines of `buf` up to the first flush and the bytes used, or `None` when more must
/// be read. An `ERR` line is the server's refusal and becomes the error.
fn parse_section(buf: &[u8], url: &Url) -> Result<Option<(Vec<String>, usize)>, Error> {
    let mut lines = Vec::new();
    let mut at = 0;
    while buf.len() >= at + 4 {
        let len = std::str::from_utf8(&buf[at..at + 4])
            .ok()
            .and_then(|h| usize::from_str_radix(h, 16).ok())
            .ok_or_else(|| protocol(url, "not a pkt-line answer"))?;
        match len {
            0 => return Ok(Some((lines, at + 4))),
            1..=3 => at += 4,
            _ if buf.len() < at + len => return Ok(None),
            _ => {
                let line = String::from_utf8_lossy(&buf[at + 4..at + len]).into_owned();
                if let Some(msg) = line.strip_prefix("ERR ") {
                    return Err(protocol(url, msg.trim_end()));
                }
                lines.push(line);
                at += len;
            }
        }
    }
    Ok(None)
}

/// The next flush-terminated section of a complete HTTP body.
fn next_section(rest: &mut &[u8], url: &Url) -> Result<Vec<String>, Error> {
    let (lines, used) =
        parse_section(rest, url)?.ok_or_else(|| protocol(url, "the answer ends mid-section"))?;
    *rest = &rest[used..];
    Ok(lines)
}

/// The id of exactly `refname` in `<oid> <refname>[ attrs]` (v2) or `<oid> <refname>\0caps`
/// (v0) lines.
fn find_ref(lines: &[String], refname: &str, url: &Url) -> Result<Option<String>, Error> {
    for line in lines {
        let line = line.trim_end_matches('\n');
        let line = line.split('\0').next().unwrap_or_default();
        let mut parts = line.split(' ');
        let (Some(oid), Some(name)) = (parts.next(), parts.next()) else {
            continue;
        };
        if name != refname {
            continue;
        }
        let valid = matches!(oid.len(), 40 | 64)
            && oid
                .bytes()
                .all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b));
        if !valid {
            return Err(protocol(
                url,
                &format!("bad object id {oid:?} for {refname}"),
            ));
        }
        return Ok(Some(oid.to_string()));
    }
    Ok(None)
}

fn protocol(url: &Url, reason: &str) -> Error {
    Error::InvalidResponse {
        url: url.to_string(),
        reason: format!("git ls-refs: {reason}"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> Url {
        Url::parse("git://h/r.git").expect("url")
    }

    #[test]
    fn sections_split_at_flush_and_wait_for_more() {
        let mut buf = pkt("version 2\n");
        buf.extend(pkt("ls-refs=unborn\n"));
        assert_eq!(parse_section(&buf, &url()).expect("ok"), None);
        buf.extend_from_slice(b"0000rest");
        let (lines, used) = parse_section(&buf, &url()).expect("ok").expect("complete");
        assert_eq!(lines, vec!["version 2\n", "ls-refs=unborn\n"]);
        assert_eq!(&buf[used..], b"rest");
        let err = parse_section(
            &pkt("ERR access denied or repository not exported: /x\n"),
            &url(),
        )
        .expect_err("ERR");
        assert!(err.to_string().contains("access denied"), "{err}");
        assert!(parse_section(b"zzzz", &url()).is_err());
    }

    #[test]
    fn finds_exactly_the_ref_in_v2_and_v0_lines() {
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        let lines = vec![
            format!("{a} refs/heads/main-old\n"),
            format!("{b} refs/heads/main symref-target:x\n"),
        ];
        assert_eq!(
            find_ref(&lines, "refs/heads/main", &url()).expect("ok"),
            Some(b.clone())
        );
        let v0 = vec![
            format!("{a} HEAD\0multi_ack side-band\n"),
            format!("{b} refs/heads/main\n"),
        ];
        assert_eq!(find_ref(&v0, "HEAD", &url()).expect("ok"), Some(a));
        assert_eq!(find_ref(&v0, "refs/heads/dev", &url()).expect("ok"), None);
        let bad = vec!["xyz refs/heads/main\n".to_string()];
        assert!(find_ref(&bad, "refs/heads/main", &url()).is_err());
    }

    #[tokio::test]
    async fn other_schemes_and_userinfo_go_to_the_cli() {
        let t = Duration::from_secs(1);
        for url in [
            "ssh://git@h/r.git",
            "file:///tmp/r.git",
            "/tmp/r.git",
            "https://user:pw@h/r.git",
        ] {
            assert_eq!(
                ls_ref(url, "refs/heads/main", None, t).await.expect("ok"),
                LsRef::UseCli,
                "{url}"
            );
        }
    }
}
