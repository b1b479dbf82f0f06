//! The daemon's HTTP surface: the `/v1` API over a real socket, `explain`, the push webhooks
//! under `/hooks`, and property tests of every parser of outside input.
//!
//! One test binary per area (api, cli, delivery, serve, dashboard); the shared harness is the
//! `baton-harness` crate.

mod built;
mod explain;
mod explain_api;
mod explain_cases;
mod hooks;
mod parsers_prop;
mod rights;
mod routes;
