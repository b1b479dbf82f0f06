//! Git source: new-commit detection on a branch and the values files at that commit.
//!
//! The new-commit check over `git://` and smart HTTP is one in-process protocol-v2 `ls-refs`
//! (`ls_refs`: no process, no Nagle stall). Everything else drives the `git` CLI rather than
//! gix: gix 0.90 adds 89 crates to the build, its HTTP transport is blocking and its `git://`
//! transport stalls like the CLI (figures in `docs/architecture-decisions.md`), while the CLI
//! speaks partial clone (`--filter=blob:none`) and every transport (smart HTTP, `git://`,
//! `file://`, ssh with a key file and strict known-hosts).
//! Every call runs under a timeout with `kill_on_drop`, with `GIT_TERMINAL_PROMPT=0`, no
//! system/global config, and HTTP credentials handed over through a credential helper that
//! reads the environment — never on the command line.

mod command;
mod credentials;
mod ls_refs;
mod observation;
mod read;
pub mod refs;
mod watch;

pub use command::Git;
pub use credentials::{GitCredentialConfig, credentials_for, git_for};
pub use observation::{FileState, GitObservation, History};
pub use read::{AtCommit, OnBranch};
pub use watch::GitWatch;

#[cfg(test)]
mod remote_tests;
#[cfg(test)]
mod tests;
