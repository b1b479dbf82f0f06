//! spinnaker-client: auth, calls against the Gate stand-in, lint, matching, the shared case table and every recorded payload decoded.
//!
//! One test binary for the crate (each file here is a module of it), so the suite links once.

mod auth;
mod cases;
mod client;
mod error_text;
mod lint;
mod matching;
mod model_fixtures;
