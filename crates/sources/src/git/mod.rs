//! Git source: new-commit detection on a branch and the values files at that commit.
//!
//! For `git://` and smart-HTTP remotes everything is in-process, over protocol v2 (`wire`):
//! the new-commit check is one `ls-refs` (`ls_refs`), and reading a commit is one `fetch` of
//! the commit and its trees plus one of the changed watched blobs, parsed from the pack in
//! memory (`fetch`, `pack`, `delta`, `read_wire`): no process, no Nagle stall, no disk. Not gix:
//! gix 0.90 adds 89 crates to the build, its HTTP transport is blocking and its `git://`
//! transport stalls like the CLI (figures in `docs/architecture-decisions.md`).
//! The `git` CLI remains for what that does not serve: ssh (a key file and strict
//! known-hosts), `file://` and local paths, protocol-v0 servers, servers that refuse filters,
//! HTTP redirects, and `sync --commit` (an abbreviated commit checked against the branch's
//! history, in a blob-filtered cache clone: `read`). Every CLI call runs under a timeout with
//! `kill_on_drop`, with `GIT_TERMINAL_PROMPT=0`, no system/global config, and HTTP
//! credentials handed over through a credential helper that reads the environment — never on
//! the command line.

mod command;
mod credentials;
mod delta;
mod fetch;
#[cfg(fuzzing)]
pub mod fuzzing;
mod ls_refs;
mod observation;
mod pack;
mod read;
mod read_wire;
pub mod refs;
mod snapshot;
mod watch;
mod wire;

pub use command::Git;
pub use credentials::{GitCredentialConfig, credentials_for, git_for};
pub use observation::{FileState, GitObservation, History};
pub use read::{AtCommit, OnBranch};
pub use watch::GitWatch;

#[cfg(test)]
mod remote_tests;
#[cfg(test)]
mod tests;
