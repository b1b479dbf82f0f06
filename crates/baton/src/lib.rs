//! The baton daemon and CLI: config, state store, durable outbox, the Jenkins-facing HTTP API
//! and the operator verbs.
//!
//! - [`config`]: the config file (YAML/TOML + `BATON__*` env), typed model, whole-file
//!   validation, secrets read from files.
//! - [`store`]: the state store (SQLite or PostgreSQL): observations, delivered digests, the
//!   outbox table, events with correlation ids; embedded migrations.
//! - [`outbox`]: effect kinds, the enqueue handle, the retry policy and the delivery worker.
//! - [`clock`]: wall-clock time that follows tokio's (pausable) clock.
//! - [`reference`]: container image references.

pub mod clock;
pub mod config;
pub mod outbox;
pub mod reference;
pub mod store;
