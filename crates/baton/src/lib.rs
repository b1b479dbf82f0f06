//! The baton daemon and CLI: config, state store, durable outbox, chart sync, base-image cron,
//! image events, the HTTP API and the operator verbs.
//!
//! - [`hooks`]: signed git push webhooks (`POST /hooks/{provider}`): verification, dedupe,
//!   matching to watched sources, immediate check requests.

pub mod hooks;
