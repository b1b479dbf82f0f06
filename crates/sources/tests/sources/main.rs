//! The sources against the rig's real registry, Helm repository and git servers, and property tests of their parsers.
//!
//! One test binary for the crate (each file here is a module of it), so the suite links once.

mod git_rig;
mod helm_rig;
mod parsers_prop;
mod registry_rig;
