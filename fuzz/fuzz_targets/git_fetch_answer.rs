//! A git server's answer to `fetch` (protocol v2), which baton parses itself: the pkt-lines,
//! sections and side band of the answer, and a pack (entries, zlib streams, offset and
//! reference deltas, trees). Any input gives objects or an error, within the fetch's limits.
#![no_main]

use baton_sources::git::fuzzing;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    match data.split_first() {
        Some((0, rest)) => fuzzing::answer(rest),
        Some((_, rest)) => fuzzing::pack(rest),
        None => {}
    }
});
