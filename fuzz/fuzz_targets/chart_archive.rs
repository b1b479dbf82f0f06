//! Chart archives (`.tgz` from a Helm repository or an OCI layer): any bytes give the chart's
//! metadata or a refusal, within the archive limits.
#![no_main]

use baton_sources::helm::{ArchiveLimits, read_chart};
use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let _ = read_chart("fuzz.tgz", data, &ArchiveLimits::default());
});
