//! Registry manifests and image indexes (the platform choice), and image references: any
//! input gives a digest, none, or an error.
#![no_main]

use baton_sources::registry::{ImageReference, Platform, select_platform};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let want = Platform::try_from("linux/amd64".to_owned()).unwrap();
    let _ = select_platform(data, &want, "fuzz");
    if let Ok(r) = ImageReference::parse(&String::from_utf8_lossy(data)) {
        // A parsed reference prints to text that parses to the same reference.
        let again = ImageReference::parse(&r.to_string()).expect("a printed reference parses");
        assert_eq!(again.to_string(), r.to_string());
    }
});
