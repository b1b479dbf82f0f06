//! In-process protocol-v2 `ls-refs` for `git://` and smart HTTP remotes: the new-commit check.
//!
//! Why not `git ls-remote`: over `git://` it stalls ~45-60 ms per call (git writes its request
//! in small segments and one of them waits for the server's delayed ACK: Nagle), and every
//! check spawns a process. Here the request goes out in one write on a `TCP_NODELAY` socket, or
//! as one POST on a pooled keep-alive HTTP client (`wire`). Why not gix: measured in the same
//! run, gix 0.90's `git://` transport stalls like the CLI and it adds 89 `gix-*` crates to the
//! build (figures in `docs/architecture-decisions.md`).
//!
//! Anything this client does not handle (ssh, `file://`, local paths, a URL naming a user
//! without a password, an HTTP redirect) is answered with [`LsRef::UseCli`], and the caller
//! runs `git ls-remote`.

use std::time::Duration;

use super::wire::{self, Answer, MAX_ADVERTISEMENT, Pkt, Remote, pkt, protocol};
use crate::{Credentials, Error};

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
    let Some(remote) = Remote::parse(url, credentials) else {
        return Ok(LsRef::UseCli);
    };
    // Boxed: the HTTP exchange is a large future for the callers' stacks.
    let work = Box::pin(async {
        if remote.url.scheme() == "git" {
            let request = ls_refs_request(refname);
            let answer = wire::command(&remote, &request, MAX_ADVERTISEMENT, "ls-refs");
            return match answer.await? {
                Answer::V2(refs) | Answer::V0(refs) => {
                    find_ref(&refs, refname, &remote.url).map(LsRef::Head)
                }
                Answer::Redirect => Ok(LsRef::UseCli),
            };
        }
        smart_http(&remote, refname).await
    });
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| Error::Timeout {
            what: format!("ls-refs {} {refname}", remote.url),
            after: timeout,
        })?
}

/// Smart HTTP: the v2 capability GET (a v0 server lists its refs there), then one `ls-refs`
/// POST on the same pooled connection.
async fn smart_http(remote: &Remote, refname: &str) -> Result<LsRef, Error> {
    let caps = remote.endpoint("info/refs?service=git-upload-pack")?;
    let get = wire::client().get(caps.clone());
    let sent = wire::send(
        get,
        &caps,
        remote.credentials.as_ref(),
        MAX_ADVERTISEMENT,
        "ls-refs",
    );
    let Some(body) = sent.await? else {
        return Ok(LsRef::UseCli);
    };
    let mut rest = body.as_ref();
    let mut section = next_section(&mut rest, &caps)?;
    if matches!(section.first(), Some(Pkt::Data(l)) if l.starts_with(b"# service=")) {
        section = next_section(&mut rest, &caps)?;
    }
    if !wire::is_v2(&section) {
        return find_ref(&section, refname, &remote.url).map(LsRef::Head);
    }
    match wire::command(
        remote,
        &ls_refs_request(refname),
        MAX_ADVERTISEMENT,
        "ls-refs",
    )
    .await?
    {
        Answer::V2(refs) | Answer::V0(refs) => {
            find_ref(&refs, refname, &remote.url).map(LsRef::Head)
        }
        Answer::Redirect => Ok(LsRef::UseCli),
    }
}

fn ls_refs_request(refname: &str) -> Vec<u8> {
    let mut req = pkt("command=ls-refs\n");
    req.extend_from_slice(b"0001");
    req.extend(pkt(&format!("ref-prefix {refname}\n")));
    req.extend_from_slice(b"0000");
    req
}

/// The next flush-terminated section of a complete HTTP body.
fn next_section(rest: &mut &[u8], url: &url::Url) -> Result<Vec<Pkt>, Error> {
    let (lines, used) =
        wire::split(rest, url)?.ok_or_else(|| protocol(url, "the answer ends mid-section"))?;
    *rest = &rest[used..];
    Ok(lines)
}

/// The id of exactly `refname` in `<oid> <refname>[ attrs]` (v2) or `<oid> <refname>\0caps`
/// (v0) lines; an `ERR` line is the server's refusal.
fn find_ref(lines: &[Pkt], refname: &str, url: &url::Url) -> Result<Option<String>, Error> {
    for line in lines {
        let line = match line {
            Pkt::Data(l) => String::from_utf8_lossy(l),
            Pkt::Err(msg) => return Err(protocol(url, &format!("ls-refs: {msg}"))),
            Pkt::Delim => continue,
        };
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

#[cfg(test)]
mod tests {
    use super::*;

    fn url() -> url::Url {
        url::Url::parse("git://h/r.git").expect("url")
    }

    fn data(lines: &[String]) -> Vec<Pkt> {
        lines
            .iter()
            .map(|l| Pkt::Data(l.clone().into_bytes()))
            .collect()
    }

    #[test]
    fn finds_exactly_the_ref_in_v2_and_v0_lines() {
        let (a, b) = ("a".repeat(40), "b".repeat(40));
        let lines = data(&[
            format!("{a} refs/heads/main-old\n"),
            format!("{b} refs/heads/main symref-target:x\n"),
        ]);
        assert_eq!(
            find_ref(&lines, "refs/heads/main", &url()).expect("ok"),
            Some(b.clone())
        );
        let v0 = data(&[
            format!("{a} HEAD\0multi_ack side-band\n"),
            format!("{b} refs/heads/main\n"),
        ]);
        assert_eq!(find_ref(&v0, "HEAD", &url()).expect("ok"), Some(a));
        assert_eq!(find_ref(&v0, "refs/heads/dev", &url()).expect("ok"), None);
        let bad = data(&["xyz refs/heads/main\n".to_string()]);
        assert!(find_ref(&bad, "refs/heads/main", &url()).is_err());
        let refused = [Pkt::Err(
            "access denied or repository not exported: /x".into(),
        )];
        let err = find_ref(&refused, "refs/heads/main", &url()).expect_err("ERR");
        assert!(err.to_string().contains("access denied"), "{err}");
    }

    #[tokio::test]
    async fn other_schemes_and_a_user_without_password_go_to_the_cli() {
        let t = Duration::from_secs(1);
        for url in [
            "ssh://git@h/r.git",
            "file:///tmp/r.git",
            "/tmp/r.git",
            "https://user@h/r.git",
        ] {
            assert_eq!(
                ls_ref(url, "refs/heads/main", None, t).await.expect("ok"),
                LsRef::UseCli,
                "{url}"
            );
        }
    }
}
