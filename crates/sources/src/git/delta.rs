//! Git's delta format: a pack entry that rebuilds an object from a base object by copying
//! ranges of it and inserting new bytes (`gitformat-pack(5)`, "Deltified representation").
//! Kept apart from the pack reader because every size in it is checked here: a delta names
//! its result's size up front, and that size is charged to the pack's budget first.

use super::pack::{Object, PackError, bad};

/// Applies `delta` to `base`.
pub(super) fn resolve(
    base: &Object,
    delta: &[u8],
    budget: &mut impl FnMut(usize) -> Result<(), PackError>,
) -> Result<Object, PackError> {
    let mut d = delta;
    let mut varint = || -> Result<usize, PackError> {
        let mut v = 0usize;
        for shift in (0..64).step_by(7) {
            let (&b, rest) = d.split_first().ok_or_else(|| bad("a delta ends early"))?;
            d = rest;
            v |= usize::from(b & 0x7f) << shift;
            if b & 0x80 == 0 {
                return Ok(v);
            }
        }
        Err(bad("a delta size overflows"))
    };
    let (from, to) = (varint()?, varint()?);
    if from != base.data.len() {
        return Err(bad("a delta's base has another size"));
    }
    budget(to)?;
    let mut out = Vec::with_capacity(to);
    while let Some((&op, rest)) = d.split_first() {
        d = rest;
        if op & 0x80 != 0 {
            let (mut offset, mut len) = (0usize, 0usize);
            for i in 0..7 {
                if op & (1 << i) != 0 {
                    let (&b, rest) = d.split_first().ok_or_else(|| bad("a delta ends early"))?;
                    d = rest;
                    if i < 4 {
                        offset |= usize::from(b) << (8 * i);
                    } else {
                        len |= usize::from(b) << (8 * (i - 4));
                    }
                }
            }
            if len == 0 {
                len = 0x10000;
            }
            let chunk = offset
                .checked_add(len)
                .and_then(|end| base.data.get(offset..end))
                .ok_or_else(|| bad("a delta copies from outside its base"))?;
            out.extend_from_slice(chunk);
        } else if op != 0 {
            let n = usize::from(op);
            let chunk = d.get(..n).ok_or_else(|| bad("a delta ends early"))?;
            out.extend_from_slice(chunk);
            d = &d[n..];
        } else {
            return Err(bad("a delta has the reserved instruction 0"));
        }
        if out.len() > to {
            return Err(bad("a delta writes past its declared size"));
        }
    }
    if out.len() != to {
        return Err(bad("a delta writes less than its declared size"));
    }
    Ok(Object {
        kind: base.kind,
        data: out,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::git::pack::Kind;

    fn apply(base: &[u8], delta: &[u8]) -> Result<Vec<u8>, PackError> {
        let base = Object {
            kind: Kind::Blob,
            data: base.to_vec(),
        };
        let mut charged = Vec::new();
        let out = resolve(&base, delta, &mut |n| {
            charged.push(n);
            Ok(())
        })?;
        assert_eq!(charged, vec![out.data.len()], "the result is charged once");
        Ok(out.data)
    }

    #[test]
    fn copies_and_inserts() {
        // base 11 bytes, result 11: copy 5 from offset 6 ("world"), insert ", ", copy 4.
        let delta = [11, 11, 0x91, 6, 5, 2, b',', b' ', 0x90, 4];
        assert_eq!(apply(b"hello world", &delta).expect("ok"), b"world, hell");
    }

    #[test]
    fn broken_deltas_are_refused() {
        let cases: [(&[u8], &str); 5] = [
            (&[5, 1, 0x90, 1], "another size"),
            (&[11, 3, 0x91, 10, 5], "outside its base"),
            (&[11, 1, 0], "reserved instruction"),
            (&[11, 1, 2, b'a', b'b'], "past its declared size"),
            (&[11, 4, 1, b'a'], "less than its declared size"),
        ];
        for (delta, reason) in cases {
            match apply(b"hello world", delta) {
                Err(PackError::Bad(r)) => assert!(r.contains(reason), "{r} / {reason}"),
                other => panic!("{reason}: {other:?}"),
            }
        }
    }
}
