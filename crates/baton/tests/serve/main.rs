//! The real `baton serve` binary under stress: crashes (`kill -9`), outages, server limits,
//! and several replicas on one PostgreSQL (latest wins, guards, chaos).
//!
//! One test binary per area (api, cli, delivery, serve, dashboard); the shared harness is the
//! `baton-harness` crate.

mod crash;
mod ha_chaos;
mod ha_guards;
mod limits;
mod outage;
mod outbox_ha;
