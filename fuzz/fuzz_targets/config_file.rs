//! Config files (YAML and TOML): any text loads or fails with an error naming the file, never a
//! panic or an unbounded expansion.
#![no_main]

use libfuzzer_sys::fuzz_target;

fuzz_target!(|data: &[u8]| {
    let dir = tempfile::tempdir().unwrap();
    for name in ["baton.yaml", "baton.toml"] {
        let file = dir.path().join(name);
        std::fs::write(&file, data).unwrap();
        let _ = baton_core::config::load_with_env(&file, Default::default());
    }
});
