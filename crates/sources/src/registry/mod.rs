//! Registry source: image references, the OCI distribution client and the base-image watch.

mod auth;
pub mod challenge;
mod client;
mod config;
pub mod manifest;
pub mod reference;
pub mod retry;
mod watch;

pub use client::RegistryClient;
pub use config::{RegistryConfig, RequestBudget};
pub use manifest::{ManifestHead, Platform, select_platform};
pub use reference::{DOCKER_HUB, DOCKER_HUB_API, ImageReference};
pub use watch::{ImageWatch, Moved, Registries, RegistryObservation};

#[cfg(test)]
mod credential_tests;
#[cfg(test)]
mod rate_tests;
#[cfg(test)]
mod tests;
