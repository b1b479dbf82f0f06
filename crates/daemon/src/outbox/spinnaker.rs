//! The Spinnaker deliverer: `spinnaker.webhook` records become `POST {gate}/webhooks/webhook/{source}`
//! through [`spinnaker_client::Client::post_webhook`].
//!
//! On success Echo answers `{"eventProcessed": true, "eventId": "…"}`; the `eventId` is what
//! every pipeline execution started by the event carries in `trigger.eventId`, so it is stored
//! in the record's response and on the baton event's correlation (`spinnaker_event_id`), linking
//! `baton events` to `executions/search?eventId=`.
//!
//! Failures map to [`DeliveryError`]: transport failures (connect, timeout, reset), 5xx and 429
//! are retried by the outbox policy, honouring Gate's (or its proxy's) `Retry-After`; 4xx answers (400 bad payload, 401/403 credentials, 404, 415) are
//! permanent — the record goes `dead` with Gate's message and can be retried by hand
//! (`baton outbox retry ID`) after the fix. A 2xx that is not Echo's answer is permanent too: the
//! request may have been accepted by something that is not Gate (check `spinnaker.gate_url`).
//!
//! Echo takes no idempotency key: a request that times out on baton's side may still have been
//! processed, and its retry then triggers the pipelines a second time. The timeout is therefore
//! long (`spinnaker.webhook_timeout`, default 60 s) and a timed-out attempt is marked "possibly
//! delivered" on the record's error and on its event.

use std::sync::Arc;
use std::time::Duration;

use spinnaker_client::{Auth, Client};

use super::{Delivered, DeliveryError, Effect};
use crate::promote::{NewEvent, Promoter};
use crate::store::Store;
use crate::store::events::Correlation;
use crate::store::outbox::Record;
use baton_core::config::model::{GateAuth, Spinnaker};

/// Longest time the supersede step after a chart event may take; past it the stale judgment
/// is left for the next event (the delivery itself has already succeeded).
const SUPERSEDE_TIMEOUT: Duration = Duration::from_secs(15);

/// Delivers `spinnaker.webhook` records.
#[derive(Debug, Clone)]
pub struct SpinnakerDeliverer {
    client: Client,
    store: Store,
    supersede: Option<(Arc<Promoter>, String)>,
    checks: Option<Arc<super::verify::DeliveryChecks>>,
}

impl SpinnakerDeliverer {
    /// A deliverer posting with `client` and correlating events in `store`.
    pub fn new(client: Client, store: Store) -> Self {
        Self {
            client,
            store,
            supersede: None,
            checks: None,
        }
    }

    /// Holds webhooks back after `baton pipelines apply` (`spinnaker.echo_cache_wait`) and
    /// starts the verification of each delivered one (`spinnaker.verify_deadline`).
    pub fn with_checks(mut self, checks: Arc<super::verify::DeliveryChecks>) -> Self {
        self.checks = Some(checks);
        self
    }

    /// After each delivered chart event (webhook source `chart_source`), cancel the older
    /// executions of the named environments still waiting for a judgment
    /// ([`Promoter::supersede_for_event`]; a no-op when `spinnaker.supersede_waiting` is off).
    pub fn with_supersede(mut self, promoter: Arc<Promoter>, chart_source: &str) -> Self {
        self.supersede = Some((promoter, chart_source.to_owned()));
        self
    }

    /// Supersedes stale judgments for a just-delivered chart event. Failures are logged, never
    /// returned: the webhook is delivered and must not be sent again because of them.
    async fn supersede_after(&self, source: &str, body: &serde_json::Value, echo_event: &str) {
        let Some((promoter, chart_source)) = &self.supersede else {
            return;
        };
        if source != chart_source {
            return;
        }
        let (Some(product), Some(envs), Some(baton_event)) = (
            body["application"].as_str(),
            body["parameters"]["environments"].as_str(),
            body["parameters"]["batonEvent"].as_str(),
        ) else {
            tracing::warn!(
                "chart event without application/environments/batonEvent: nothing superseded"
            );
            return;
        };
        let envs: Vec<&str> = envs.split(',').filter(|e| !e.is_empty()).collect();
        let new = NewEvent {
            baton_event,
            echo_event: Some(echo_event),
        };
        let work = promoter.supersede_for_event(product, &envs, new);
        match tokio::time::timeout(SUPERSEDE_TIMEOUT, work).await {
            Ok(Ok(done)) => {
                for d in done {
                    tracing::info!(execution = %d.execution_id, event = %baton_event, "superseded a stale judgment");
                }
            }
            Ok(Err(e)) => {
                tracing::warn!(event = %baton_event, error = %baton_http::chain(&e), "could not supersede stale judgments")
            }
            Err(_) => {
                tracing::warn!(event = %baton_event, "superseding stale judgments timed out")
            }
        }
    }

    /// Builds the Gate client from the `spinnaker:` section and its secret (`gate`, as read by
    /// [`baton_core::config::secrets::Secrets`]); `timeout` bounds each request.
    pub fn client_from_config(
        s: &Spinnaker,
        secret: Option<&secrecy::SecretString>,
        timeout: Duration,
    ) -> Result<Client, String> {
        let missing = |key: &str| {
            format!(
                "spinnaker.auth: the secret of {key} was not loaded; check that the file exists and is not empty"
            )
        };
        let auth = match &s.auth {
            GateAuth::None => Auth::None,
            GateAuth::Basic { user, .. } => Auth::Basic {
                user: user.clone(),
                password: secret.cloned().ok_or_else(|| missing("password_file"))?,
            },
            GateAuth::Bearer { .. } => Auth::Bearer {
                token: secret.cloned().ok_or_else(|| missing("token_file"))?,
            },
            GateAuth::X509 { cert_file, .. } => {
                use secrecy::ExposeSecret;
                let cert = std::fs::read_to_string(cert_file).map_err(|e| {
                    format!(
                        "spinnaker.auth.cert_file: cannot read {}: {e}",
                        cert_file.display()
                    )
                })?;
                let key = secret.ok_or_else(|| missing("key_file"))?;
                Auth::X509 {
                    pem: format!("{cert}\n{}", key.expose_secret()).into(),
                }
            }
        };
        Client::builder(s.gate_url.as_str())
            .auth(auth)
            .timeout(timeout)
            .connect_timeout(timeout.min(Duration::from_secs(10)))
            .build()
            .map_err(|e| format!("spinnaker.gate_url: {}", baton_http::chain(&e)))
    }

    /// Posts the record's webhook once and records Echo's event id.
    pub async fn deliver(&self, record: &Record) -> Result<Delivered, DeliveryError> {
        let (source, body) = Effect::for_delivery(record, "a Spinnaker webhook", |e| match e {
            Effect::SpinnakerWebhook { source, body } => Some((source, body)),
            _ => None,
        })?;
        if let Some(c) = &self.checks {
            c.wait_for_echo(&self.store, &body).await?;
        }
        let event_id = match self.client.post_webhook(&source, &body).await {
            Ok(id) => id,
            Err(e) => return Err(self.failed(record, &source, e).await),
        };
        if let Some(baton_event) = &record.event_id {
            let c = Correlation {
                spinnaker_event_id: Some(event_id.clone()),
                ..Default::default()
            };
            // The webhook is delivered: a failed bookkeeping write must not cause a redelivery.
            if let Err(e) = self.store.correlate(baton_event, &c).await {
                tracing::warn!(record = record.id, event = %baton_event, error = %e, "cannot record Echo's event id on the event");
            }
        }
        if let (Some(c), Some(baton_event)) = (&self.checks, &record.event_id) {
            c.start(&self.store, baton_event, &source, &body, &event_id)
                .await;
        }
        self.supersede_after(&source, &body, &event_id).await;
        Ok(Delivered {
            response: Some(serde_json::json!({ "eventId": event_id })),
        })
    }
}

impl SpinnakerDeliverer {
    /// The delivery error for `e`. A timeout is marked "possibly delivered", on the record's
    /// error and on its event (`baton events`): Echo has no idempotency key, so if it did
    /// process the request the retry delivers the event a second time.
    async fn failed(
        &self,
        record: &Record,
        source: &str,
        e: spinnaker_client::Error,
    ) -> DeliveryError {
        let timed_out = matches!(&e, spinnaker_client::Error::Request(r) if r.is_timeout());
        let mut d = map_error(source, e);
        if timed_out {
            let note = format!(
                "possibly delivered: Spinnaker webhook attempt {} timed out, and Echo has no \
                 idempotency key, so the retry may deliver this event a second time \
                 (spinnaker.webhook_timeout)",
                record.attempts + 1
            );
            if let Some(event) = &record.event_id
                && let Err(err) = self.store.note_event(event, &note).await
            {
                tracing::warn!(record = record.id, %event, error = %err, "cannot note the timeout on the event");
            }
            d.message = format!("{}; {note}", d.message);
        }
        d
    }
}

/// Maps a Gate client error to a delivery outcome.
pub fn map_error(source: &str, e: spinnaker_client::Error) -> DeliveryError {
    use spinnaker_client::Error as E;
    // The error with its causes ("connection refused"), each once.
    let text = baton_http::chain(&e);
    match &e {
        E::Api {
            status,
            retry_after,
            ..
        } => {
            let after = retry_after
                .as_deref()
                .and_then(|v| super::policy::parse_retry_after(v, std::time::SystemTime::now()));
            let mut d = DeliveryError::from_status(*status, after, text);
            if *status == 401 || *status == 403 {
                d.message = format!(
                    "{d_msg}; fix spinnaker.auth (credentials or the user's permissions), then `baton outbox retry`",
                    d_msg = d.message
                );
            }
            d
        }
        E::WebhookNotProcessed { .. } => DeliveryError::transient(format!(
            "{text}: Echo answered eventProcessed=false for webhook source {source:?}; will retry"
        )),
        E::Decode { .. } => DeliveryError::permanent(format!(
            "{text}: the answer was not Echo's webhook response; check that spinnaker.gate_url points at Gate"
        )),
        _ if e.is_transient() => DeliveryError::transient(text),
        _ => DeliveryError::permanent(text),
    }
}
