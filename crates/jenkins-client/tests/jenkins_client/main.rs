//! jenkins-client against the Jenkins stand-in on real sockets, and every recorded Jenkins payload decoded.
//!
//! One test binary for the crate (each file here is a module of it), so the suite links once.

mod client_calls;
mod client_errors;
mod client_pipeline;
mod client_wait;
mod common;
mod error_text;
mod models;
mod shapes;
