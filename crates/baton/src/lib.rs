//! The baton daemon and CLI: config, state store, durable outbox, the Jenkins-facing HTTP API
//! and the operator verbs.
//!
//! - [`config`]: the config file (YAML/TOML + `BATON__*` env), typed model, whole-file
//!   validation, secrets read from files.
//! - [`reference`]: container image references.

pub mod config;
pub mod reference;
