//! `values-<env>.yaml` from the chart-source repo: any bytes pass or break a budget, never a
//! panic, an unbounded expansion or an allocation past the limits.
#![no_main]

use baton_sources::yaml::{YamlLimits, validate};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = validate(data, &YamlLimits::default());
});
