//! The Jenkins deliverer: `jenkins.build` records become `POST job/…/buildWithParameters`
//! through [`jenkins_client::JenkinsClient::build_with_parameters`] (form-encoded parameters,
//! API-token auth, so no crumb is needed).
//!
//! Jenkins answers `201 Created` with `Location: …/queue/item/N/` for a new queue item. It
//! answers `303 See Other` with the `Location` of an item that is *already queued with the same
//! parameters*: Jenkins coalesced the request into that item, so no second build will start.
//! baton counts both as delivered; the record's response says
//! `{"queueId": N, "coalesced": true|false, "location": …}` and the event's correlation gets the
//! queue id (plus a `detail` note when coalesced). The build follower then follows the
//! queue item to a build number and result.
//!
//! Failures map to [`DeliveryError`]:
//! - transport failures (connect, timeout, reset), 5xx, 408, 425 and 429: retried by the policy,
//!   honouring `Retry-After` (429 also gets the throttling floor);
//! - 409 (job disabled): permanent, with a message naming the job and the fix (enable the job,
//!   then `baton outbox retry ID`) — a disabled job is an operator's decision, not a glitch;
//! - 401/403/crumb, 404 job, 400 not parameterized, other 4xx: permanent with Jenkins' message;
//! - a 2xx/3xx without a usable queue `Location`: permanent (something that is not Jenkins may
//!   have accepted the request; check `jenkins.url`).

use std::sync::Arc;
use std::time::Duration;

use jenkins_client::{JenkinsClient, JobPath, ParamsIn};
use tokio::sync::Notify;

use super::{Delivered, DeliveryError, Effect};
use crate::store::Store;
use crate::store::events::Correlation;
use crate::store::outbox::Record;
use baton_core::config::model::Jenkins;

/// Delivers `jenkins.build` records.
#[derive(Debug, Clone)]
pub struct JenkinsDeliverer {
    client: JenkinsClient,
    store: Store,
    delivered: Arc<Notify>,
}

impl JenkinsDeliverer {
    /// A deliverer triggering with `client` and correlating events in `store`.
    pub fn new(client: JenkinsClient, store: Store) -> Self {
        Self {
            client,
            store,
            delivered: Arc::new(Notify::new()),
        }
    }

    /// Signalled after every delivered trigger (the build follower waits on it).
    pub fn delivered_signal(&self) -> Arc<Notify> {
        self.delivered.clone()
    }

    /// The client it triggers with.
    pub fn client(&self) -> &JenkinsClient {
        &self.client
    }

    /// Builds the Jenkins client from the `jenkins:` section and its API token; `timeout`
    /// bounds each request.
    pub fn client_from_config(
        j: &Jenkins,
        token: Option<&secrecy::SecretString>,
        timeout: Duration,
    ) -> Result<JenkinsClient, String> {
        let token = token.cloned().ok_or_else(|| {
            "jenkins.token_file: the API token was not loaded; check that the file exists and is not empty"
                .to_owned()
        })?;
        JenkinsClient::builder(j.url.as_str())
            .credentials(&j.user, token)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .user_agent(concat!("baton/", env!("CARGO_PKG_VERSION")))
            .build()
            .map_err(|e| format!("jenkins.url: {}", baton_http::chain(&e)))
    }

    /// Triggers the record's job once and records the queue id.
    pub async fn deliver(&self, record: &Record) -> Result<Delivered, DeliveryError> {
        let (job, params) = Effect::for_delivery(record, "a Jenkins build", |e| match e {
            Effect::JenkinsBuild { job, params } => Some((job, params)),
            _ => None,
        })?;
        let path = JobPath::parse(&job)
            .map_err(|e| DeliveryError::permanent(format!("outbox record {}: {e}", record.id)))?;
        let params: Vec<(String, String)> = params.into_iter().collect();
        let t = self
            .client
            .build_with_parameters(&path, &params, ParamsIn::Form)
            .await
            .map_err(|e| map_error(&job, record.id, e))?;
        if let Some(event) = &record.event_id {
            let c = Correlation {
                jenkins_queue_id: i64::try_from(t.queue_id).ok(),
                detail: t.coalesced.then(|| {
                    format!(
                        "coalesced: Jenkins already had queue item {} of {job} with the same parameters (303)",
                        t.queue_id
                    )
                }),
                ..Default::default()
            };
            // The build is triggered: a failed bookkeeping write must not trigger it again.
            if let Err(e) = self.store.correlate(event, &c).await {
                tracing::warn!(record = record.id, %event, error = %e, "cannot record the Jenkins queue id on the event");
            }
        }
        self.delivered.notify_one();
        Ok(Delivered {
            response: Some(serde_json::json!({
                "queueId": t.queue_id,
                "coalesced": t.coalesced,
                "location": t.location,
            })),
        })
    }
}

/// Maps a Jenkins client error of triggering `job` (record `id`) to a delivery outcome.
pub fn map_error(job: &str, id: i64, e: jenkins_client::Error) -> DeliveryError {
    use jenkins_client::Error as E;
    // The error with its causes ("connection refused"), each once.
    let text = baton_http::chain(&e);
    match &e {
        E::JobDisabled { .. } => DeliveryError::permanent(format!(
            "Jenkins job {job:?} is disabled, so it cannot build (409). Enable it in Jenkins \
             (the job's page > Enable, or `disabled: false` in its definition), then run \
             `baton outbox retry {id}`. Jenkins said: {text}"
        )),
        E::Api {
            status,
            retry_after,
            ..
        } => {
            let after = retry_after
                .as_deref()
                .and_then(|v| super::policy::parse_retry_after(v, std::time::SystemTime::now()));
            DeliveryError::from_status(*status, after, text)
        }
        E::Unauthorized { .. } | E::Forbidden { .. } | E::NoValidCrumb { .. } => {
            DeliveryError::permanent(format!(
                "{text}; fix jenkins.user / jenkins.token_file, then `baton outbox retry {id}`"
            ))
        }
        _ if e.is_transient() => DeliveryError::transient(text),
        _ => DeliveryError::permanent(text),
    }
}
