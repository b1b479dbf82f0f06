//! Reading a packfile held in memory: every object with its id, deltas resolved.
//!
//! Why our own reader: the kept crate for this, gix-pack, is built around packs on disk
//! (memory maps, index files, a delta tree for indexing) and brings 11 `gix-*` crates plus
//! jiff, a second major version of syn and prodash; baton needs the few commits, trees and
//! blobs of one small answer. This follows git's `gitformat-pack(5)`: the header, each
//! entry's type and size, its zlib stream, offset and reference deltas, and the trailing
//! SHA-1, which is verified. Sizes are checked against [`Limits`] before anything is
//! allocated, and no stream may inflate past the size its header declares.

use std::collections::HashMap;

use flate2::{Decompress, FlushDecompress, Status};
use sha1::{Digest as _, Sha1};

use super::delta::resolve;

/// The four object types.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Kind {
    Commit,
    Tree,
    Blob,
    Tag,
}

impl Kind {
    fn name(self) -> &'static str {
        match self {
            Kind::Commit => "commit",
            Kind::Tree => "tree",
            Kind::Blob => "blob",
            Kind::Tag => "tag",
        }
    }
}

/// One object of a pack.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) struct Object {
    pub kind: Kind,
    pub data: Vec<u8>,
}

/// What one pack may make us hold.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Limits {
    /// Largest object (or delta) inflated.
    pub object: usize,
    /// Sum of every object and delta inflated.
    pub total: usize,
}

/// Why a pack was refused.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum PackError {
    /// Not a well-formed pack.
    Bad(String),
    /// An object, or all of them, larger than the limit.
    TooLarge { size: usize, limit: usize },
}

impl std::fmt::Display for PackError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            PackError::Bad(reason) => f.write_str(reason),
            PackError::TooLarge { size, limit } => {
                write!(f, "{size} bytes of objects, over the limit of {limit}")
            }
        }
    }
}

pub(super) fn bad(reason: impl Into<String>) -> PackError {
    PackError::Bad(reason.into())
}

/// Every object of `pack` by its hex id.
pub(crate) fn read(pack: &[u8], limits: Limits) -> Result<HashMap<String, Object>, PackError> {
    if pack.len() < 32 || &pack[..4] != b"PACK" {
        return Err(bad("no PACK header"));
    }
    let word = |at: usize| u32::from_be_bytes([pack[at], pack[at + 1], pack[at + 2], pack[at + 3]]);
    if !matches!(word(4), 2 | 3) {
        return Err(bad(format!("pack version {} (2 and 3 are known)", word(4))));
    }
    let (body, trailer) = pack.split_at(pack.len() - 20);
    if Sha1::digest(body).as_slice() != trailer {
        return Err(bad(
            "the trailing checksum does not match (truncated or corrupt)",
        ));
    }
    let mut held = 0usize;
    let mut budget = |size: usize| {
        held = held.saturating_add(size);
        if size > limits.object {
            return Err(PackError::TooLarge {
                size,
                limit: limits.object,
            });
        }
        if held > limits.total {
            return Err(PackError::TooLarge {
                size: held,
                limit: limits.total,
            });
        }
        Ok(())
    };
    let mut objects: Vec<(String, Object)> = Vec::new();
    let mut at_offset: HashMap<usize, usize> = HashMap::new();
    let mut by_id: HashMap<String, usize> = HashMap::new();
    let mut waiting: Vec<(usize, String, Vec<u8>)> = Vec::new();
    let mut at = 12;
    for _ in 0..word(8) {
        let start = at;
        let (code, size) = entry_header(body, &mut at)?;
        budget(size)?;
        let base = match code {
            6 => Some(Base::Offset(ofs_base(body, &mut at, start)?)),
            7 => {
                let id = body
                    .get(at..at + 20)
                    .ok_or_else(|| bad("ends inside an entry"))?;
                at += 20;
                Some(Base::Id(hex::encode(id)))
            }
            _ => None,
        };
        let (data, used) = inflate(body.get(at..).unwrap_or_default(), size)?;
        at += used;
        let object = match base {
            None => Object {
                kind: kind(code)?,
                data,
            },
            Some(Base::Offset(offset)) => {
                let &i = at_offset
                    .get(&offset)
                    .ok_or_else(|| bad("a delta names no entry"))?;
                resolve(&objects[i].1, &data, &mut budget)?
            }
            Some(Base::Id(id)) => match by_id.get(&id) {
                Some(&i) => resolve(&objects[i].1, &data, &mut budget)?,
                None => {
                    waiting.push((start, id, data));
                    continue;
                }
            },
        };
        keep(&mut objects, &mut at_offset, &mut by_id, start, object);
    }
    if at != body.len() {
        return Err(bad("bytes left after the last entry"));
    }
    // Reference deltas whose base came later in the pack (git writes bases first).
    while !waiting.is_empty() {
        let before = waiting.len();
        for (start, id, delta) in std::mem::take(&mut waiting) {
            match by_id.get(&id) {
                Some(&i) => {
                    let object = resolve(&objects[i].1, &delta, &mut budget)?;
                    keep(&mut objects, &mut at_offset, &mut by_id, start, object);
                }
                None => waiting.push((start, id, delta)),
            }
        }
        if waiting.len() == before {
            return Err(bad(format!(
                "delta base {} is not in the pack",
                waiting[0].1
            )));
        }
    }
    Ok(objects.into_iter().collect())
}

/// Records `object`, found at offset `start`.
fn keep(
    objects: &mut Vec<(String, Object)>,
    at_offset: &mut HashMap<usize, usize>,
    by_id: &mut HashMap<String, usize>,
    start: usize,
    object: Object,
) {
    let id = id_of(&object);
    at_offset.insert(start, objects.len());
    by_id.insert(id.clone(), objects.len());
    objects.push((id, object));
}

enum Base {
    Offset(usize),
    Id(String),
}

fn kind(code: u8) -> Result<Kind, PackError> {
    Ok(match code {
        1 => Kind::Commit,
        2 => Kind::Tree,
        3 => Kind::Blob,
        4 => Kind::Tag,
        other => return Err(bad(format!("unknown entry type {other}"))),
    })
}

/// The object id: SHA-1 of `<type> <size>\0<data>`.
pub(crate) fn id_of(object: &Object) -> String {
    let mut h = Sha1::new();
    h.update(format!("{} {}\0", object.kind.name(), object.data.len()));
    h.update(&object.data);
    hex::encode(h.finalize())
}

fn byte(body: &[u8], at: &mut usize) -> Result<u8, PackError> {
    let b = *body.get(*at).ok_or_else(|| bad("ends inside an entry"))?;
    *at += 1;
    Ok(b)
}

/// The entry's type code and inflated size.
fn entry_header(body: &[u8], at: &mut usize) -> Result<(u8, usize), PackError> {
    let mut b = byte(body, at)?;
    let code = (b >> 4) & 7;
    let mut size = usize::from(b & 15);
    let mut shift = 4;
    while b & 0x80 != 0 {
        b = byte(body, at)?;
        if shift > 56 {
            return Err(bad("entry size overflows"));
        }
        size |= usize::from(b & 0x7f) << shift;
        shift += 7;
    }
    Ok((code, size))
}

/// The offset of an offset delta's base, which lies before the entry at `start`.
fn ofs_base(body: &[u8], at: &mut usize, start: usize) -> Result<usize, PackError> {
    let mut b = byte(body, at)?;
    let mut ofs = usize::from(b & 0x7f);
    while b & 0x80 != 0 {
        b = byte(body, at)?;
        ofs = ofs
            .checked_add(1)
            .and_then(|o| o.checked_mul(128))
            .ok_or_else(|| bad("delta offset overflows"))?
            | usize::from(b & 0x7f);
    }
    start
        .checked_sub(ofs)
        .filter(|_| ofs > 0)
        .ok_or_else(|| bad("a delta points before the pack"))
}

/// Inflates the zlib stream at the start of `input` to exactly `size` bytes; returns them and
/// the compressed length.
fn inflate(input: &[u8], size: usize) -> Result<(Vec<u8>, usize), PackError> {
    let mut z = Decompress::new(true);
    let mut out = Vec::with_capacity(size + 1);
    loop {
        let seen = (z.total_in(), z.total_out());
        let rest = &input[z.total_in() as usize..];
        let status = z
            .decompress_vec(rest, &mut out, FlushDecompress::None)
            .map_err(|e| bad(format!("zlib: {e}")))?;
        if out.len() > size {
            return Err(bad(format!(
                "an entry inflates past its declared {size} bytes"
            )));
        }
        match status {
            Status::StreamEnd => break,
            _ if (z.total_in(), z.total_out()) == seen => {
                return Err(bad("a zlib stream ends early"));
            }
            _ => {}
        }
    }
    if out.len() != size {
        return Err(bad(format!(
            "an entry inflates to {} bytes, not {size}",
            out.len()
        )));
    }
    Ok((out, z.total_in() as usize))
}

/// One entry of a tree object: `(mode, name, hex id)`.
pub(crate) type TreeEntry<'a> = (&'a str, &'a [u8], String);

/// The entries of a tree object.
pub(crate) fn tree_entries(data: &[u8]) -> Result<Vec<TreeEntry<'_>>, PackError> {
    let mut entries = Vec::new();
    let mut rest = data;
    while !rest.is_empty() {
        let nul = rest
            .iter()
            .position(|b| *b == 0)
            .ok_or_else(|| bad("a tree entry has no name end"))?;
        let (head, tail) = (&rest[..nul], &rest[nul + 1..]);
        let space = head
            .iter()
            .position(|b| *b == b' ')
            .ok_or_else(|| bad("a tree entry has no mode"))?;
        let mode = std::str::from_utf8(&head[..space])
            .map_err(|_| bad("a tree entry's mode is not text"))?;
        let id = tail
            .get(..20)
            .ok_or_else(|| bad("a tree entry's id is cut short"))?;
        entries.push((mode, &head[space + 1..], hex::encode(id)));
        rest = &tail[20..];
    }
    Ok(entries)
}

#[cfg(test)]
#[path = "pack_tests.rs"]
mod tests;
