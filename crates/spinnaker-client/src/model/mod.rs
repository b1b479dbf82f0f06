//! The Spinnaker data model: pure serde data, no IO.
//!
//! - [`artifact`]: kork `Artifact` / `ExpectedArtifact` and the matching rule.
//! - [`pipeline`]: pipeline configs and triggers.
//! - [`stage`]: config stages, typed for manualJudgment, bakeManifest and deployManifest.
//! - [`execution`]: executions, stage executions and statuses.
//! - [`webhook`]: the webhook body and Echo's answer.
//! - [`triggering`]: Echo's trigger matching and Orca's artifact resolution.
//! - [`outcome`]: what Echo and Orca do with one webhook, put together.
//!
//! Every type keeps the keys it does not model, so decoding and re-encoding a document gives
//! back the same JSON value. Use [`decode`] to get errors that name the JSON path.

pub mod artifact;
pub mod execution;
pub mod outcome;
mod patterns;
pub use patterns::PatternError;
pub mod pipeline;
pub mod stage;
pub mod triggering;
pub mod webhook;

use serde::de::DeserializeOwned;

use crate::Error;

/// Decodes JSON into `T`; the error names `what` and the JSON path that failed.
pub fn decode<T: DeserializeOwned>(what: &str, bytes: &[u8]) -> Result<T, Error> {
    let mut de = serde_json::Deserializer::from_slice(bytes);
    serde_path_to_error::deserialize(&mut de).map_err(|e| Error::Decode {
        what: what.to_owned(),
        path: e.path().to_string(),
        source: e.into_inner(),
    })
}

/// Checks that `pattern` is a Java regular expression this crate can evaluate (for
/// constraints and match fields); see [`PatternError`] for the two ways it can fail.
pub fn check_pattern(pattern: &str) -> Result<(), PatternError> {
    patterns::check(pattern)
}
