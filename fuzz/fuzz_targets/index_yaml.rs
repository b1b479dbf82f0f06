//! A Helm repository's `index.yaml`: any bytes give the chart's entries or an error.
#![no_main]

use baton_sources::helm::index::parse_index;
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = parse_index(data, "chart", "fuzz");
    let _ = parse_index(data, "microgateway", "fuzz");
});
