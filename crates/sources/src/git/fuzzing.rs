//! Entry points for the fuzz targets (`fuzz/fuzz_targets/git_fetch_answer.rs`), compiled only
//! under cargo-fuzz's `--cfg fuzzing`: the bytes a git server sends back to a `fetch`, which
//! baton parses itself (pkt-lines, answer sections, side band, the pack, its deltas and trees).

use sha1::{Digest as _, Sha1};

use super::pack::{self, Kind};

/// `data` as a whole fetch answer: pkt-lines up to each flush, and the pack section of each.
pub fn answer(data: &[u8]) {
    let url = url::Url::parse("http://fuzz.invalid/r.git").expect("a valid URL");
    let mut at = 0;
    while let Ok(Some((lines, used))) = super::wire::split(&data[at..], &url) {
        let _ = super::fetch::packfile(&lines);
        at += used;
    }
}

/// `body` as the content of a pack (its trailing checksum is added, so the reader gets past
/// it), read under the limits of the blob fetch; every tree it holds is parsed.
pub fn pack(body: &[u8]) {
    let mut whole = body.to_vec();
    whole.extend_from_slice(&Sha1::digest(body));
    if let Ok(objects) = pack::read(&whole, super::read_wire::BLOBS.pack) {
        for object in objects.values().filter(|o| o.kind == Kind::Tree) {
            let _ = pack::tree_entries(&object.data);
        }
    }
}
