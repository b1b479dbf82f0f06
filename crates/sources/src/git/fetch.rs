//! Protocol-v2 `fetch` of named objects into memory, over the transport of `ls-refs`.
//!
//! One request names the wanted objects (and at most one commit we have, a shallow depth and
//! an object filter) and ends with `done`, so the server answers at once with a pack and no
//! negotiation. The pack arrives as side-band data in the answer's `packfile` section; it is
//! held in memory (at most [`Limits::answer`] bytes) and read by `pack`. No thin packs are
//! asked for, so every delta's base is in the same pack.

use std::collections::HashMap;

use super::pack::{self, Object, PackError};
use super::wire::{self, Answer, Pkt, Remote, pkt};
use crate::Error;

/// What to ask for.
#[derive(Debug, Default)]
pub(crate) struct Want<'a> {
    /// Object ids, any type (protocol v2 serves any object the remote holds).
    pub wants: &'a [&'a str],
    /// A commit the answer may leave out, with everything it reaches.
    pub have: Option<&'a str>,
    /// `deepen <n>`: commits at most this far from the wants.
    pub deepen: Option<u32>,
    /// An object filter (`blob:none`, `tree:0`).
    pub filter: Option<&'a str>,
}

/// The bounds of one fetch.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Bytes of the answer (compressed pack plus framing).
    pub answer: u64,
    /// What the pack may inflate to.
    pub pack: pack::Limits,
}

/// What a fetch found.
#[derive(Debug)]
pub(crate) enum Fetched {
    /// The objects of the answer's pack, by id.
    Objects(HashMap<String, Object>),
    /// The remote does not hold a wanted object (the server's message).
    Missing(String),
    /// A server this client does not serve (protocol v0, a redirect, a refused argument such
    /// as a filter): the caller uses the `git` CLI. The reason is for the debug log.
    UseCli(String),
}

/// Fetches `want` from `remote`. `what` names the objects in errors.
pub(crate) async fn fetch(
    remote: &Remote,
    want: &Want<'_>,
    limits: Limits,
    what: &str,
) -> Result<Fetched, Error> {
    let answer = match wire::command(remote, &request(want), limits.answer, "fetch").await {
        Ok(Answer::V2(lines)) => lines,
        Ok(Answer::V0(_)) => return Ok(Fetched::UseCli("protocol v0 server".into())),
        Ok(Answer::Redirect) => return Ok(Fetched::UseCli("HTTP redirect".into())),
        // A server that breaks off a request it does not understand (an old one, or one
        // that refuses the filter) answers nothing we can read: the CLI knows more dialects.
        Err(Error::InvalidResponse { reason, .. }) => return Ok(Fetched::UseCli(reason)),
        Err(e) => return Err(e),
    };
    let bytes = match packfile(&answer) {
        Section::Pack(bytes) => bytes,
        Section::Refused(msg) if msg.contains("not our ref") => return Ok(Fetched::Missing(msg)),
        Section::Refused(msg) => return Ok(Fetched::UseCli(format!("the server said {msg:?}"))),
        Section::Failed(msg) => {
            return Err(wire::protocol(
                &remote.url,
                &format!("fetch {what}: the server failed: {msg}"),
            ));
        }
    };
    pack::read(&bytes, limits.pack)
        .map(Fetched::Objects)
        .map_err(|e| match e {
            PackError::Bad(reason) => {
                wire::protocol(&remote.url, &format!("fetch {what}: bad pack: {reason}"))
            }
            PackError::TooLarge { size, limit } => Error::TooLarge {
                what: format!(
                    "fetch {what} from {}: {size} bytes of git objects",
                    remote.url
                ),
                limit: limit as u64,
            },
        })
}

/// The `fetch` command for `want`.
fn request(want: &Want<'_>) -> Vec<u8> {
    let mut req = pkt("command=fetch\n");
    req.extend_from_slice(b"0001");
    let mut args = vec!["no-progress".to_owned(), "ofs-delta".to_owned()];
    args.extend(want.deepen.map(|n| format!("deepen {n}")));
    args.extend(want.filter.map(|f| format!("filter {f}")));
    args.extend(want.wants.iter().map(|w| format!("want {w}")));
    args.extend(want.have.map(|h| format!("have {h}")));
    args.push("done".into());
    for arg in args {
        req.extend(pkt(&format!("{arg}\n")));
    }
    req.extend_from_slice(b"0000");
    req
}

pub(super) enum Section {
    /// The side-band pack data.
    Pack(Vec<u8>),
    /// An `ERR` line, or no `packfile` section: the server did not serve the request.
    Refused(String),
    /// Side band 3: the server failed while sending.
    Failed(String),
}

/// The pack of an answer: sections (`shallow-info`, `packfile`, ...) separated by delimiters,
/// each opened by its name; in `packfile`, band 1 is data, 2 progress, 3 a fatal error.
pub(super) fn packfile(answer: &[Pkt]) -> Section {
    let mut name: Option<&[u8]> = None;
    let mut data = Vec::new();
    let mut found = false;
    for line in answer {
        match line {
            Pkt::Err(msg) => return Section::Refused(msg.clone()),
            Pkt::Delim => name = None,
            Pkt::Data(l) if name.is_none() => {
                let header = l.trim_ascii_end();
                const KNOWN: [&[u8]; 5] = [
                    b"acknowledgments",
                    b"shallow-info",
                    b"wanted-refs",
                    b"packfile-uris",
                    b"packfile",
                ];
                if !KNOWN.contains(&header) {
                    let shown = String::from_utf8_lossy(header).into_owned();
                    return Section::Refused(format!("an unknown answer section {shown:?}"));
                }
                found |= header == b"packfile";
                name = Some(header);
            }
            Pkt::Data(l) if name == Some(b"packfile") => match l.split_first() {
                Some((1, chunk)) => data.extend_from_slice(chunk),
                Some((3, msg)) => {
                    return Section::Failed(String::from_utf8_lossy(msg).trim_end().into());
                }
                _ => {}
            },
            Pkt::Data(_) => {}
        }
    }
    if found {
        Section::Pack(data)
    } else {
        Section::Refused("no packfile section".into())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_request_names_every_argument_and_ends_with_done() {
        let req = request(&Want {
            wants: &["aa", "bb"],
            have: Some("cc"),
            deepen: Some(1),
            filter: Some("blob:none"),
        });
        let text = String::from_utf8(req).expect("text");
        assert_eq!(
            text,
            "0012command=fetch\n0001\
             0010no-progress\n000eofs-delta\n000ddeepen 1\n0015filter blob:none\n\
             000cwant aa\n000cwant bb\n000chave cc\n0009done\n0000"
        );
    }

    #[test]
    fn the_pack_is_band_one_of_the_packfile_section() {
        let answer = vec![
            Pkt::Data(b"shallow-info\n".to_vec()),
            Pkt::Data(b"shallow aa\n".to_vec()),
            Pkt::Delim,
            Pkt::Data(b"packfile\n".to_vec()),
            Pkt::Data(b"\x02progress".to_vec()),
            Pkt::Data(b"\x01PA".to_vec()),
            Pkt::Data(b"\x01CK".to_vec()),
        ];
        assert!(matches!(packfile(&answer), Section::Pack(p) if p == b"PACK"));
        let failed = [
            Pkt::Data(b"packfile\n".to_vec()),
            Pkt::Data(b"\x03out of memory\n".to_vec()),
        ];
        assert!(matches!(packfile(&failed), Section::Failed(m) if m == "out of memory"));
        let v0 = [Pkt::Data(b"NAK\n".to_vec())];
        assert!(matches!(packfile(&v0), Section::Refused(_)));
        assert!(matches!(packfile(&[]), Section::Refused(_)));
    }
}
