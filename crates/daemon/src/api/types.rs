//! The request and answer bodies of the HTTP API, shared by the handlers (which build and
//! return them) and the CLI (which decodes the daemon's answers into them), so the two sides
//! cannot drift apart. `/openapi.json` is derived from these types ([`super::openapi`]).
//!
//! Records the answers carry (events, outbox records, observations, the environment matrix,
//! the explanation of a product) are the store's and the domain's own types, serialized as
//! they are.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::explain::SourceExplanation;
use crate::ha::status::ReplicaStatus;
use crate::promote::pending::Pending;
use crate::store::events::{Delivered, Event, Observation};
use crate::store::outbox::{Counts, Record};

/// An error answer: a short machine code and a sentence for people.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct ErrorBody {
    /// `bad_request`, `unauthorized`, `not_found`, `method_not_allowed`, `conflict`,
    /// `payload_too_large`, `unprocessable`, `unavailable` or `internal`.
    pub error: String,
    /// What is wrong, naming the input, and how to fix it.
    pub detail: String,
}

/// `GET /healthz` and `GET /readyz`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Health {
    /// `ok` (healthz) or `ready` (readyz).
    pub status: String,
}

/// Body of `POST /v1/products/{product}/sync`; an empty body is all defaults.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SyncRequest {
    /// Commit to sync to (7-64 hex digits); refused with 422 until pinned syncs are
    /// supported: leave it out to sync the branch head.
    pub commit: Option<String>,
    /// Deliver even if unchanged.
    #[serde(default)]
    pub force: bool,
}

/// Body of `POST /v1/products/{product}/images/{image}/built`.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct BuiltRequest {
    /// `host/repo@sha256:<64 hex>` as pushed.
    #[serde(default)]
    #[schema(pattern = "^[^/]+/.+@sha256:[0-9a-f]{64}$")]
    pub reference: String,
    /// Tag pushed alongside.
    pub tag: Option<String>,
    /// The Jenkins build URL.
    pub build_url: Option<String>,
    /// The event of the rebuild that started this build (`BATON_EVENT`).
    pub event_id: Option<String>,
}

/// Body of `POST /v1/products/{product}/environments/{env}/promote`; all fields optional.
#[derive(Debug, Default, Clone, Serialize, Deserialize, ToSchema)]
#[serde(deny_unknown_fields)]
pub struct PromoteBody {
    /// Recorded as the judgment input.
    #[schema(max_length = 4096)]
    pub input: Option<String>,
    /// Stop instead of continue: the stage and the pipeline end TERMINAL.
    #[serde(default)]
    pub stop: bool,
    /// Continue even if the environment before has not succeeded with the same artifact.
    #[serde(default)]
    pub force: bool,
}

/// 202 of sync and rebuild: the event recorded for the request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct Accepted {
    /// The event id (`baton events`).
    pub event_id: String,
}

/// 202 of `built`: the image event's outbox record.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct BuiltAccepted {
    /// The event the image event belongs to.
    pub event_id: Option<String>,
    /// The outbox record that sends it to Spinnaker.
    pub outbox_id: i64,
    /// The digest was reported before; nothing new was enqueued.
    pub duplicate: bool,
}

/// Which judgment was given.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum Judgment {
    /// The pipeline goes on.
    Continue,
    /// The stage and the pipeline end TERMINAL.
    Stop,
}

/// 200 of `promote`: the judgment given.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
pub struct PromoteAnswer {
    /// The execution judged.
    pub execution_id: String,
    /// Its manualJudgment stage.
    pub stage_id: String,
    /// The `promote` event recorded for it.
    pub event_id: String,
    /// The baton event that started the execution, when known.
    pub source_event: Option<String>,
    /// Continue or stop.
    pub judgment: Judgment,
    /// Who asked (the token's name).
    pub by: String,
}

/// `GET /v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct StatusAnswer {
    /// Per configured product.
    pub products: Vec<ProductStatus>,
    /// Outbox record counts.
    pub outbox: Counts,
    /// The replicas sharing the state store, newest first.
    pub replicas: Vec<ReplicaStatus>,
    /// Executions waiting for a manual judgment (only with a `spinnaker:` section).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_judgments: Option<Vec<Pending>>,
    /// Why the pending judgments are unknown (Gate failed or was slow).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub pending_judgments_error: Option<String>,
}

/// One product in `/v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ProductStatus {
    /// Product name.
    pub name: String,
    /// Its environments in config order.
    pub environments: Vec<EnvStatus>,
    /// Its images.
    pub images: Vec<ImageStatus>,
    /// The last chart decision (sent, baseline, unchanged, rejected with file and line).
    pub last_chart_event: Option<Event>,
    /// The last failure of each failing source, by source id.
    pub source_errors: BTreeMap<String, SourceFailure>,
}

/// One environment in `/v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EnvStatus {
    /// Environment name.
    pub name: String,
    /// What was last delivered to it.
    pub delivered: Option<Delivered>,
}

/// One image in `/v1/status`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ImageStatus {
    /// Image name.
    pub name: String,
    /// Its base image as configured.
    pub base: String,
    /// The base image digest last seen.
    pub base_seen: Option<Observation>,
    /// The newest rebuild or image event.
    pub last_build: Option<Event>,
}

/// A source's last failure.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct SourceFailure {
    /// What went wrong.
    pub error: String,
    /// When.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// `GET /v1/events`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventsAnswer {
    /// Newest first.
    pub events: Vec<EventView>,
}

/// An event with whether its delivery started the pipelines it targets.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct EventView {
    /// The event.
    #[serde(flatten)]
    pub event: Event,
    /// `pending`, `verified`, `unmatched` or `unverified`, for a delivered webhook.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<String>,
    /// The pipelines that did not start, or why it could not be checked.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery_missing: Option<String>,
}

/// `GET /v1/outbox`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct OutboxAnswer {
    /// Newest first.
    pub records: Vec<Record>,
}

/// `POST /v1/outbox/{id}/retry`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct RetryAnswer {
    /// The record, due now.
    pub record: Record,
}

/// `DELETE /v1/outbox/{id}`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct DropAnswer {
    /// The id of the record forgotten.
    pub dropped: i64,
}

/// `GET /v1/products/{product}/explain`.
#[derive(Debug, Clone, Serialize, Deserialize, ToSchema)]
pub struct ExplainAnswer {
    /// Product name.
    pub product: String,
    /// Per source: its newest change and what it led to.
    pub sources: Vec<SourceExplanation>,
}
