//! A registry's `WWW-Authenticate` challenge: any text parses to a challenge or to nothing.
#![no_main]

use baton_sources::registry::challenge::parse_challenge;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    let _ = parse_challenge(&text);
    let _ = parse_challenge(&format!("Bearer {text}"));
});
