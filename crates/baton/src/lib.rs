//! The `baton` command line: the operator verbs over the daemon library (`baton-daemon`) and
//! the core (`baton-core`). `main.rs` parses the arguments and calls [`cli::run`].
//!
//! - [`cli`]: serve, check, status, sync, rebuild, promote, events, explain, outbox, pipelines,
//!   probe, demo, completions.
//! - `demo` (feature `demo`, on by default): `baton demo`, the whole flow on this machine with
//!   the embedded stand-ins; release images build without it, so the shipped binary links no
//!   stand-in.

pub mod cli;
#[cfg(feature = "demo")]
pub mod demo;
