//! Async client for Spinnaker Gate and Echo, plus the Spinnaker data model.
//!
//! - [`model`]: pure serde data (artifacts, expected artifacts, pipeline configs, stages,
//!   executions) and the matching rules of Echo and Orca. No IO.
//! - [`lint`]: checks over pipeline configs that `baton pipelines lint` runs.
//! - [`Client`]: posts webhooks, finds the executions they started, gives manual judgments,
//!   starts, lists, saves and cancels pipelines through Gate.
//! - [`Error`]: the one error type; non-2xx answers become [`Error::Api`] with kork's message,
//!   and a request that got no usable answer [`Error::Request`] with the [`RequestError`] every
//!   baton client shares.
//!
//! ```no_run
//! # async fn demo() -> Result<(), spinnaker_client::Error> {
//! use std::time::Duration;
//! use spinnaker_client::{Client, Judgment};
//! let gate = Client::builder("https://gate.example.com").build()?;
//! let event = gate.post_webhook("chart", &serde_json::json!({"application": "micro-gw"})).await?;
//! let execs = gate
//!     .wait_for_event_executions("micro-gw", &event, Duration::from_secs(60), Duration::from_secs(1))
//!     .await?;
//! gate.judge(&execs[0].id, Judgment::Continue, None).await?;
//! # Ok(()) }
//! ```

mod client;
mod error;
pub mod lint;
pub mod model;

pub use baton_http::RequestError;
pub use client::{Auth, Client, ClientBuilder, Judgment, JudgmentGiven, install_crypto_provider};
pub use error::{ApiErrorKind, Error, KorkError};
