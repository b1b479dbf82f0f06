//! Test kit for baton.
//!
//! - [`baton`]: the real `baton serve` binary as a child process, ready when its
//!   `--ready-file` names its address.
//! - [`jenkins`]: a stand-in for Jenkins (jobs, queue, builds, console, crumbs) that answers as
//!   the real server does; binary `fake-jenkins`.
//! - [`spinnaker`]: a stand-in for Spinnaker Gate + Echo + the parts of Orca baton observes;
//!   binary `fake-spinnaker`.
//! - [`rig`]: the URLs and helpers of the rig of real components started by `scripts/rig`.

pub mod baton;
pub mod jenkins;
pub mod rig;
pub mod spinnaker;
