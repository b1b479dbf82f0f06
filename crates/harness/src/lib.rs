//! The one harness of baton's integration tests: stores on both backends, the daemon in the
//! test's process ([`flow`]), the real `baton serve` binary ([`daemon`]), the outbox worker on
//! its own ([`deliver`]), several replicas on one PostgreSQL ([`ha`]) and the API's calls
//! ([`common::api`]).
//!
//! It is a crate, not a module each test binary compiles again, so that every test binary links
//! it once and nothing in it needs `dead_code` allowed. It depends on `baton` and `testkit`;
//! `baton` takes it as a dev-dependency only, so the shipped binary never links it.

pub mod common;
pub mod config;
pub mod daemon;
pub mod deliver;
pub mod flow;
pub mod ha;

use std::path::PathBuf;

/// The `baton` binary cargo built for the running test: it sits next to the `deps/` folder
/// that holds the test executable (`target/<profile>/deps/<test>` → `target/<profile>/baton`).
/// Cargo builds it for every integration test of the `baton` package; a test of another
/// package must build it first (`cargo build -p baton`).
pub fn baton_bin() -> PathBuf {
    let exe = std::env::current_exe().expect("the test knows its own path");
    let profile_dir = exe
        .parent()
        .and_then(|deps| deps.parent())
        .expect("the test runs from target/<profile>/deps");
    let bin = profile_dir.join(format!("baton{}", std::env::consts::EXE_SUFFIX));
    assert!(
        bin.exists(),
        "{} is missing: build it with `cargo build -p baton`",
        bin.display()
    );
    bin
}
