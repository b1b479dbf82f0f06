//! baton's core: what the product means, with no runtime in it. No store, no server, no
//! network call is made from this crate; the daemon (`baton-daemon`) and the CLI (`baton`) build
//! on it, and nothing here depends on them.
//!
//! - [`config`]: the config file (YAML/TOML + `BATON__*` env), the typed model (URLs, socket
//!   addresses, version ranges, crons and the state URL parsed at load time, with the key path
//!   in every error), whole-file validation, secrets read from files, the generated reference.
//! - [`tokens`]: API tokens and the caller identity they carry (`NAME:TOKEN`).
//! - [`wire`]: the JSON bodies sent to Spinnaker webhooks (chart and image events).
//! - [`pipelines`]: the Spinnaker application and pipelines rendered from the config, their
//!   lint against the events baton sends, and drift against a rendered folder. Applying them
//!   through Gate is the runtime's (`baton_daemon::pipelines::apply`).
//! - [`reference`](mod@reference): container image references.

pub mod config;
pub mod pipelines;
pub mod reference;
pub mod tokens;
pub mod wire;
