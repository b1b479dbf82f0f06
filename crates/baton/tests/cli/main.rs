//! The `baton` binary as an operator runs it: `check`, `probe`, `pipelines`, `demo`, help,
//! completions and log formats, and `serve` driven by the reading and writing verbs.
//!
//! One test binary per area (api, cli, delivery, serve, dashboard); the shared harness is the
//! `baton-harness` crate.

mod check_hardening;
mod check_probes;
mod demo;
mod help;
mod pipelines;
mod pipelines_cli;
mod probe;
mod verbs;
