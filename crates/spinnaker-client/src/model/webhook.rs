//! The body of `POST /webhooks/webhook/{source}` and Echo's answer.

use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};

use super::artifact::Artifact;

/// A webhook payload. Echo takes `parameters` and `artifacts` from it; every top-level key
/// is visible to `payloadConstraints`. Any JSON object decodes (the rest lands in `extra`).
#[serde_with::skip_serializing_none]
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookPayload {
    /// Pipeline parameters for the execution.
    pub parameters: Option<Map<String, Value>>,
    /// Artifacts for the trigger.
    pub artifacts: Option<Vec<Artifact>>,
    /// All other top-level keys (e.g. `application`).
    #[serde(flatten)]
    pub extra: Map<String, Value>,
}

impl WebhookPayload {
    /// The artifacts (empty when absent).
    pub fn artifacts(&self) -> &[Artifact] {
        self.artifacts.as_deref().unwrap_or_default()
    }
}

/// Echo's answer to a webhook: `{"eventProcessed":true,"eventId":"..."}`. It means Echo
/// accepted the event, not that any pipeline matched.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct WebhookResponse {
    /// Whether Echo propagated the event.
    #[serde(default)]
    pub event_processed: bool,
    /// The event id executions carry in `trigger.eventId`.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub event_id: Option<String>,
}
