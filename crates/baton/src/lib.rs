//! The baton daemon and CLI: config, state store, durable outbox, the Jenkins-facing HTTP API
//! and the operator verbs.
//!
//! - [`daemon`]: the daemon as a library value: `Daemon::builder(config).build()?.run(shutdown)`,
//!   used by `serve`, `demo`, the tests and the benchmarks.
//! - [`config`]: the config file (YAML/TOML + `BATON__*` env), typed model, whole-file
//!   validation, secrets read from files.
//! - [`store`]: the state store (SQLite or PostgreSQL): observations, delivered digests, the
//!   outbox table, events with correlation ids; embedded migrations.
//! - [`outbox`]: effect kinds, the enqueue handle, the retry policy and the delivery worker.
//! - [`api`]: the HTTP API (axum): sync/rebuild/built, status, events, outbox, health.
//! - [`hooks`]: signed git push webhooks (`POST /hooks/{provider}`): verification, dedupe,
//!   matching to watched sources, immediate check requests.
//! - [`pipelines`]: the Spinnaker application and pipelines rendered from the config; lint and
//!   idempotent apply through Gate.
//! - [`promote`]: manual judgments: promote by the rule by artifact, the environment matrix,
//!   supersede stale ones, judgment deadlines, list what waits.
//! - [`explain`]: why the newest change of each source did or did not produce a delivery, and
//!   the correlation chain `baton events` prints.
//! - `demo` (feature `demo`, on by default): `baton demo`, the whole flow on this machine with
//!   the embedded stand-ins; release images build without it.
//! - [`ui`]: the web dashboard (overview, product pages, outbox) with login, sessions and
//!   CSRF-checked actions, served next to the API.
//! - [`wire`]: the JSON bodies sent to Spinnaker webhooks.
//! - [`metrics`]: Prometheus metrics served at `/metrics`.
//! - [`jobs`]: the chart sync and image jobs, the source loops (poll, cron) and the policy
//!   deciding what is worth an event; work requested through the API arrives over a channel.
//! - [`cli`]: the `baton` command line (serve, check, status, sync, rebuild, promote, events,
//!   explain, outbox, pipelines, demo, completions).
//! - [`ha`]: several replicas on one store: the replica registry and heartbeat, turns of
//!   scheduled work, NOTIFY wake-ups, the one-writer and cache-folder guards.
//! - [`clock`]: wall-clock time; follows tokio in production, moved by hand in tests.
//! - [`reference`](mod@reference): container image references.

pub mod api;
pub mod cli;
pub mod clock;
pub mod config;
pub mod daemon;
#[cfg(feature = "demo")]
pub mod demo;
pub mod explain;
pub mod ha;
pub mod hooks;
pub mod jobs;
pub mod metrics;
pub mod outbox;
pub mod pipelines;
pub mod promote;
pub mod reference;
pub mod store;
pub mod ui;
pub mod wire;

pub use baton_http::install_crypto_provider;
