//! Async client for the Jenkins REST API.
//!
//! It triggers builds (`build`, `buildWithParameters`), follows queue items to build numbers,
//! reads builds and their console text, and handles crumbs and auth errors. It knows nothing of
//! baton.
//!
//! - [`client`]: [`JenkinsClient`] and its builder; the request path (preemptive Basic auth,
//!   per-request timeout, crumb fetched only after a 403 "No valid crumb", status mapping).
//! - [`path`]: [`JobPath`], `folder/sub/name` -> `job/folder/job/sub/job/name/`.
//! - [`trigger`]: `build` / `buildWithParameters` -> queue id (201) or coalesced id (303).
//! - [`api`]: root info and version, `whoAmI`, job and build JSON, Pipeline stage view
//!   (`wfapi`), queue items, cancel, stop, API token generation.
//! - [`console`]: progressive console text as chunks or a stream.
//! - [`wait`]: queue item -> build number -> result, with deadline, backoff and cancellation.
//! - [`model`]: the JSON documents as plain data.
//! - [`Error`]: one error type; statuses become typed variants, and a request that got no
//!   usable answer is [`Error::Request`] with the [`RequestError`] every baton client shares.
//!
//! ```no_run
//! # async fn demo() -> Result<(), jenkins_client::Error> {
//! use jenkins_client::{JenkinsClient, JobPath, ParamsIn, WaitOptions};
//! let client = JenkinsClient::builder("https://jenkins.example.com/jenkins")
//!     .credentials("baton", secrecy::SecretString::from("api-token".to_owned()))
//!     .build()?;
//! let job = JobPath::parse("micro-gw/petstore-image")?;
//! let params = vec![("BASE_DIGEST".to_owned(), "sha256:…".to_owned())];
//! let t = client.build_with_parameters(&job, &params, ParamsIn::Form).await?;
//! let done = client
//!     .wait_for_build(t.queue_id, &WaitOptions::default(), &Default::default())
//!     .await?;
//! println!("#{} {}", done.build.number, done.result);
//! # Ok(()) }
//! ```

pub mod api;
pub mod client;
pub mod console;
mod error;
pub mod model;
pub mod path;
pub mod trigger;
pub mod wait;

pub use api::ServerInfo;
pub use client::{JenkinsClient, JenkinsClientBuilder};
pub use console::ConsoleChunk;
pub use error::Error;
pub use path::JobPath;
pub use trigger::{ParamsIn, Triggered};
pub use wait::{FinishedBuild, WaitOptions};

pub use baton_http::{RequestError, install_crypto_provider};
