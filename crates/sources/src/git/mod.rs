//! Git source: new-commit detection on a branch and the values files at that commit.
//!
//! This module drives the `git` CLI rather than gix: gix 0.90 is heavy to build on our 2-core
//! machines and its HTTP transport is blocking anyway, while the CLI already speaks protocol
//! v2 (one `ls-refs` round trip for `ls-remote`), partial clone (`--filter=blob:none`) and every
//! transport (smart HTTP, `git://`, `file://`, ssh with a key file and strict known-hosts).
//! Every call runs under a timeout with `kill_on_drop`, with `GIT_TERMINAL_PROMPT=0`, no
//! system/global config, and HTTP credentials handed over through a credential helper that
//! reads the environment — never on the command line.

mod command;
mod credentials;
mod observation;
pub mod refs;
mod watch;

pub use command::Git;
pub use credentials::{GitCredentialConfig, credentials_for, git_for};
pub use observation::{FileState, GitObservation, History};
pub use watch::GitWatch;

#[cfg(test)]
mod remote_tests;
#[cfg(test)]
mod tests;
