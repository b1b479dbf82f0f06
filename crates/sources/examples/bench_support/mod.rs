//! The benchmark bodies, one file per source.

mod git;
mod helm;
mod registry;
mod timing;

pub use git::git_bench;
pub use helm::{helm_bench, helm_once, helm_prepare};
pub use registry::registry_bench;
