//! Change sources for baton: OCI registry digests (base images), Helm repositories (charts) and
//! git branches (chart source, artifact source).
//!
//! Each source is a config struct plus a plain async `check()` that reports typed facts; the
//! daemon owns scheduling, state and the "is this worth an event?" policy.
//!
//! - [`registry`]: Docker-style image references, a small OCI distribution client (one `HEAD`
//!   per digest check, anonymous / Basic / bearer-token auth, 429 + `Retry-After`, request
//!   budgets, 5xx backoff) and [`registry::ImageWatch`].
//! - [`helm`]: classic repositories (conditional `index.yaml` fetch read as a stream that keeps
//!   only the wanted chart's block, semver selection, digest-verified download, cache) and
//!   `oci://` repositories; safe reading of `Chart.yaml` from a `.tgz`.
//! - [`git`]: branch watching with one in-process `ls-refs` round trip (`git://`, smart HTTP)
//!   and reading `values-<env>.yaml` at a commit through the git CLI (see the module doc for
//!   why not gix).
//! - [`yaml`]: validation of values files with line/column errors and budgets against YAML
//!   bombs.
//! - [`redact`]: the one helper that masks passwords in URLs, free text and headers
//!   (re-exported from `baton-http`, where every client shares it).
//! - [`outcome`]: the shared [`CheckOutcome`] shape; [`error`]: the crate's one error enum.

pub mod credentials;
pub mod error;
pub mod git;
pub mod helm;
mod http;
pub mod outcome;
pub mod registry;
pub mod yaml;

pub use baton_http::{install_crypto_provider, redact};
pub use credentials::{Credentials, CredentialsConfig};
pub use error::{Error, ErrorKind};
pub use outcome::{CheckOutcome, CheckReport};

/// Result alias for this crate.
pub type Result<T, E = Error> = std::result::Result<T, E>;
