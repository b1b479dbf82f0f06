//! Release builds of the `baton` binary lay out the code that `baton serve` runs at start-up
//! and when idle together, at the front of `.text`, from `link/startup.order` (made by
//! `scripts/link-order`). The kernel maps 64 KiB around every page fault of the executable, so
//! start-up code spread over the whole binary made most of it resident; grouped, the idle
//! daemon's RSS drops by the pages it never runs (bench/README.md "Idle RSS").
//!
//! Only where rustc links with lld by default (x86_64-unknown-linux-gnu, Rust 1.90 on):
//! `--symbol-ordering-file` is lld's. `BATON_LINK_ORDER=off` turns it off, e.g. for a build
//! that links with GNU ld. Symbols the file names and the binary lacks are skipped silently,
//! so a stale file costs RSS, never a failed build.

use std::env;
use std::path::Path;

fn main() {
    println!("cargo:rerun-if-changed=link/startup.order");
    println!("cargo:rerun-if-env-changed=BATON_LINK_ORDER");
    let release = env::var("PROFILE").is_ok_and(|p| p == "release");
    let lld_by_default = env::var("TARGET").is_ok_and(|t| t == "x86_64-unknown-linux-gnu");
    let off = env::var("BATON_LINK_ORDER").is_ok_and(|v| v == "off");
    if !release || !lld_by_default || off {
        return;
    }
    let manifest = env::var("CARGO_MANIFEST_DIR").expect("cargo sets CARGO_MANIFEST_DIR");
    let order = Path::new(&manifest).join("link/startup.order");
    if !order.exists() {
        return;
    }
    println!(
        "cargo:rustc-link-arg-bin=baton=-Wl,--symbol-ordering-file={}",
        order.display()
    );
    println!("cargo:rustc-link-arg-bin=baton=-Wl,--no-warn-symbol-ordering");
}
