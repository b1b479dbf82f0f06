//! Helm source: classic repositories (`index.yaml`) and OCI repositories (`oci://`).
//!
//! - [`index`] + `scan`: `index.yaml` read as a stream, keeping only the wanted chart's block
//!   (the body is never held; see `scan` for why).
//! - [`version`]: exact / SemVer-range selection.
//! - [`archive`]: safe `.tgz` reading and `Chart.yaml`.
//! - [`ChartWatch`] + [`HelmClient`]: the check (conditional index GET or manifest HEAD),
//!   digest-verified download and the local cache keyed by digest.
//! - `refused`: the negative cache of archives that failed the checks ([`RefusedArchive`]).

pub mod archive;
mod client;
pub mod index;
mod oci;
mod refused;
mod scan;
pub mod version;
mod watch;

pub use archive::{ArchiveLimits, ChartMeta, read_chart};
pub use client::{
    HelmClient, HelmCredentialConfig, HelmLimits, HelmRequestCounts, IndexValidators,
};
pub use index::{ChartEntry, parse_index};
pub use refused::RefusedArchive;
pub use version::{VersionSpec, select};
pub use watch::{Chart, ChartObservation, ChartWatch};

/// Helm chart config media type in OCI.
pub const HELM_CONFIG_MEDIA_TYPE: &str = "application/vnd.cncf.helm.config.v1+json";
/// Helm chart content layer media type in OCI.
pub const HELM_CHART_LAYER_MEDIA_TYPE: &str = "application/vnd.cncf.helm.chart.content.v1.tar+gzip";

#[cfg(test)]
mod tests;
