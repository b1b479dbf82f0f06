//! The pack reader against packs git writes (offset and reference deltas) and against
//! hand-made broken ones.

use std::io::Write as _;

use super::*;
use crate::git::tests::{Upstream, git};

const ROOMY: Limits = Limits {
    object: 1 << 20,
    total: 16 << 20,
};

/// `git pack-objects` of everything reachable from `main`.
fn pack_of(up: &Upstream, extra: &[&str]) -> Vec<u8> {
    up.pack_objects(&[&["--revs"][..], extra].concat(), "main\n")
}

/// A repository whose second commit changes one line of a long file: git stores a delta.
fn repo_with_deltas() -> Upstream {
    let up = Upstream::new();
    let long: String = (0..400).map(|i| format!("key{i}: value {i}\n")).collect();
    up.commit(&[("chart/values-dev.yaml", Some(long.as_str()))], "one");
    let changed = long.replace("key200: value 200", "key200: changed");
    up.commit(&[("chart/values-dev.yaml", Some(changed.as_str()))], "two");
    up
}

#[test]
fn reads_git_packs_with_offset_and_reference_deltas() {
    let up = repo_with_deltas();
    let mut expected: Vec<String> = git(&up.work, &["rev-list", "--objects", "main"])
        .lines()
        .map(|l| l[..40].to_owned())
        .collect();
    expected.sort();
    for extra in [&["--delta-base-offset"][..], &[]] {
        let bytes = pack_of(&up, extra);
        let objects = read(&bytes, ROOMY).expect("pack");
        let mut ids: Vec<String> = objects.keys().cloned().collect();
        ids.sort();
        // Ids are hashes of the content: equal ids mean every object, deltas included, was
        // rebuilt byte for byte.
        assert_eq!(ids, expected, "{extra:?}");
        let file = git(&up.work, &["rev-parse", "main:chart/values-dev.yaml"]);
        assert!(
            String::from_utf8_lossy(&objects[&file].data).contains("key200: changed"),
            "{extra:?}"
        );
    }
    // The packs above did hold deltas.
    let path = up.work.join("check.pack");
    std::fs::write(&path, pack_of(&up, &[])).expect("write");
    git(&up.work, &["index-pack", "check.pack"]);
    let verify = git(&up.work, &["verify-pack", "-v", "check.idx"]);
    assert!(verify.contains("chain length = 1"), "{verify}");
}

#[test]
fn tree_entries_give_mode_name_and_id() {
    let up = repo_with_deltas();
    let tree = git(&up.work, &["rev-parse", "main^{tree}"]);
    let objects = read(&pack_of(&up, &[]), ROOMY).expect("pack");
    let entries = tree_entries(&objects[&tree].data).expect("tree");
    let sub = git(&up.work, &["rev-parse", "main:chart"]);
    assert_eq!(entries, vec![("40000", &b"chart"[..], sub)]);
    assert!(tree_entries(b"100644 name-without-end").is_err());
}

/// One entry: the type and size header, then `data` deflated.
fn entry(code: u8, size: usize, data: &[u8]) -> Vec<u8> {
    let mut out = vec![(code << 4) | (size & 15) as u8];
    let mut rest = size >> 4;
    while rest > 0 {
        *out.last_mut().expect("byte") |= 0x80;
        out.push((rest & 0x7f) as u8);
        rest >>= 7;
    }
    let mut z = flate2::write::ZlibEncoder::new(out, flate2::Compression::default());
    z.write_all(data).expect("deflate");
    z.finish().expect("deflate")
}

/// A pack of `entries` with a correct header and checksum.
fn pack(entries: &[Vec<u8>]) -> Vec<u8> {
    let mut p = b"PACK\0\0\0\x02".to_vec();
    p.extend_from_slice(&(entries.len() as u32).to_be_bytes());
    for e in entries {
        p.extend_from_slice(e);
    }
    let sum = Sha1::digest(&p);
    p.extend_from_slice(&sum);
    p
}

fn bad_reason(bytes: &[u8]) -> String {
    match read(bytes, ROOMY) {
        Err(PackError::Bad(reason)) => reason,
        other => panic!("expected a bad pack, got {other:?}"),
    }
}

#[test]
fn broken_packs_are_refused_with_the_reason() {
    let good = pack(&[entry(3, 5, b"hello")]);
    let objects = read(&good, ROOMY).expect("good");
    let (id, blob) = objects.iter().next().expect("one");
    assert_eq!(blob.data, b"hello");
    assert_eq!(
        id, "b6fc4c620b67d95f953a5c1c1230aaab5db5a1b0",
        "git hash-object"
    );

    let mut flipped = good.clone();
    flipped[14] ^= 1;
    assert!(bad_reason(&flipped).contains("checksum"));
    assert!(bad_reason(&good[..good.len() - 3]).contains("checksum"));
    assert!(bad_reason(b"HTTP/1.1 200 OK\r\n\r\n<html>").contains("PACK"));
    // Declared 5 bytes, the stream holds 11: no bigger buffer, an error.
    assert!(bad_reason(&pack(&[entry(3, 5, b"hello world")])).contains("inflates past"));
    assert!(bad_reason(&pack(&[entry(3, 9, b"hello")])).contains("not 9"));
    let mut cut = entry(3, 5, b"hello");
    cut.truncate(cut.len() - 4);
    assert!(bad_reason(&pack(&[cut])).contains("zlib"));
    assert!(bad_reason(&pack(&[entry(5, 1, b"x")])).contains("type 5"));
    // An offset delta pointing before the pack.
    let mut delta = vec![(6 << 4) | 2, 0x7f];
    delta.extend(&entry(3, 2, b"\x00\x00")[1..]);
    assert!(bad_reason(&pack(&[delta])).contains("before the pack"));
}

#[test]
fn sizes_over_the_limits_are_refused_before_inflating() {
    let limits = Limits {
        object: 1000,
        total: 1500,
    };
    // The header says 1 MiB: refused from the header alone.
    let huge = pack(&[entry(3, 1 << 20, b"")]);
    assert_eq!(
        read(&huge, limits).expect_err("too large"),
        PackError::TooLarge {
            size: 1 << 20,
            limit: 1000
        }
    );
    let each = vec![b'a'; 800];
    let two = pack(&[entry(3, 800, &each), entry(3, 800, &[b'b'; 800])]);
    assert!(matches!(
        read(&two, limits),
        Err(PackError::TooLarge { limit: 1500, .. })
    ));
}
