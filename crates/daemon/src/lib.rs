//! The baton daemon as a library: state store, durable outbox, source jobs, the Jenkins-facing
//! HTTP API and the dashboard, started through one entry point ([`daemon::Daemon`]). The typed
//! config, the webhook bodies and pipeline rendering come from `baton-core`; the operator CLI
//! (`baton`) builds on this crate.
//!
//! - [`daemon`]: the daemon as a library value: `Daemon::builder(config).build()?.run(shutdown)`,
//!   used by `serve`, `demo`, the tests and the benchmarks.
//! - [`store`]: the state store (SQLite or PostgreSQL): observations, delivered digests, the
//!   outbox table, events with correlation ids; embedded migrations.
//! - [`outbox`]: effect kinds, the enqueue handle, the retry policy and the delivery worker.
//! - [`api`]: the HTTP API (axum): sync/rebuild/built, status, events, outbox, health.
//! - [`hooks`]: signed git push webhooks (`POST /hooks/{provider}`): verification, dedupe,
//!   matching to watched sources, immediate check requests.
//! - [`pipelines`]: applying the rendered pipelines through Gate (`baton pipelines apply`).
//! - [`promote`]: manual judgments: promote by the rule by artifact, the environment matrix,
//!   supersede stale ones, judgment deadlines, list what waits.
//! - [`explain`]: why the newest change of each source did or did not produce a delivery, and
//!   the correlation chain `baton events` prints.
//! - [`ui`]: the web dashboard (overview, product pages, outbox) with login, sessions and
//!   CSRF-checked actions, served next to the API.
//! - [`metrics`]: Prometheus metrics served at `/metrics`.
//! - [`jobs`]: the chart sync and image jobs, the source loops (poll, cron) and the policy
//!   deciding what is worth an event; work requested through the API arrives over a channel.
//! - [`ha`]: several replicas on one store: the replica registry and heartbeat, turns of
//!   scheduled work, NOTIFY wake-ups, the one-writer and cache-folder guards.
//! - [`clock`]: wall-clock time; follows tokio in production, moved by hand in tests.

pub mod api;
pub mod clock;
pub mod daemon;
pub mod explain;
pub mod ha;
pub mod hooks;
pub mod jobs;
pub mod metrics;
pub mod outbox;
pub mod pipelines;
pub mod promote;
pub mod store;
pub mod ui;

pub use baton_http::install_crypto_provider;
