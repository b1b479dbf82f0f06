//! What one event led to.

use serde::{Deserialize, Serialize};
use spinnaker_client::Client;
use time::OffsetDateTime;
use utoipa::ToSchema;

use crate::outbox::{Effect, JENKINS_BUILD, SPINNAKER_WEBHOOK};
use crate::store::events::Event;
use crate::store::outbox::{Record, State};
use crate::store::verify::WAITING;

/// Whether a change produced a delivery, and if not why.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, ToSchema)]
#[serde(tag = "verdict", rename_all = "snake_case")]
pub enum Verdict {
    /// Delivered; `ids` lists the correlation ids collected.
    Delivered {
        /// e.g. `outbox record 3, Echo event E, execution X (SUCCEEDED)`.
        ids: String,
    },
    /// First sight, recorded as delivered without sending (`first_seen: baseline`).
    Baseline {
        /// Why.
        detail: String,
    },
    /// The content was delivered before; nothing sent.
    Unchanged {
        /// Why.
        detail: String,
    },
    /// Invalid input (e.g. YAML with file and line); nothing sent.
    Rejected {
        /// The event's detail, naming file and line.
        detail: String,
    },
    /// The outbox is still trying.
    Retrying {
        /// Outbox record id.
        record: i64,
        /// Attempts so far.
        attempts: u32,
        /// Why the last attempt failed.
        last_error: Option<String>,
        /// When the next attempt may start.
        #[serde(with = "time::serde::rfc3339")]
        next_attempt_at: OffsetDateTime,
    },
    /// Not sent yet on purpose: `baton pipelines apply` saved pipelines of the application
    /// and Echo's pipeline cache may not have them yet (`spinnaker.echo_cache_wait`).
    Waiting {
        /// Outbox record id.
        record: i64,
        /// When it is sent.
        #[serde(with = "time::serde::rfc3339")]
        until: OffsetDateTime,
        /// Why it waits.
        reason: String,
    },
    /// Delivered, but a pipeline it targets did not start within `spinnaker.verify_deadline`.
    Unmatched {
        /// Echo's event id.
        spinnaker_event_id: String,
        /// The pipelines that did not start.
        missing: Vec<String>,
        /// Per webhook trigger of the application: why it did not fire (now).
        reasons: Vec<String>,
    },
    /// The outbox gave up (`baton outbox retry ID` tries again).
    Dead {
        /// Outbox record id.
        record: i64,
        /// Attempts made.
        attempts: u32,
        /// Why the last attempt failed.
        last_error: Option<String>,
    },
    /// Never sent: a newer change of the same environments (or image tag) replaced it while
    /// it waited (latest wins).
    Superseded {
        /// Outbox record id.
        record: i64,
        /// The newer record sent instead.
        by: Option<i64>,
    },
    /// Echo accepted the webhook, but no execution carries its event id.
    NoExecution {
        /// Echo's event id.
        spinnaker_event_id: String,
        /// Per webhook trigger of the application: why it did not fire.
        reasons: Vec<String>,
    },
    /// Decided, but no effect was enqueued and the reason is only the event's detail.
    NotSent {
        /// The event's detail.
        detail: String,
    },
    /// Nothing to explain yet.
    NotSeen {
        /// Why.
        reason: String,
    },
    /// Delivered to Echo; whether it started a pipeline could not be checked.
    Unverified {
        /// Why not.
        reason: String,
    },
}

impl Verdict {
    /// The verdict's name, as the API's `verdict` field spells it.
    pub fn name(&self) -> &'static str {
        match self {
            Verdict::Delivered { .. } => "delivered",
            Verdict::Baseline { .. } => "baseline",
            Verdict::Unchanged { .. } => "unchanged",
            Verdict::Rejected { .. } => "rejected",
            Verdict::Retrying { .. } => "retrying",
            Verdict::Waiting { .. } => "waiting",
            Verdict::Unmatched { .. } => "unmatched",
            Verdict::Dead { .. } => "dead",
            Verdict::Superseded { .. } => "superseded",
            Verdict::NoExecution { .. } => "no_execution",
            Verdict::NotSent { .. } => "not_sent",
            Verdict::NotSeen { .. } => "not_seen",
            Verdict::Unverified { .. } => "unverified",
        }
    }
}

/// What the verdicts are decided from.
pub(super) struct Context<'a> {
    pub(super) records: &'a [Record],
    pub(super) events: &'a [Event],
    pub(super) gate: Option<&'a Client>,
    pub(super) application: &'a str,
    pub(super) verifications: &'a [crate::store::verify::Verification],
}

impl Context<'_> {
    /// A rebuild event, followed by the newest image event of the same image after it.
    pub(super) async fn of_image_chain(&self, rebuild: &Event) -> Verdict {
        let image_event = self.events.iter().find(|e| {
            e.kind == "image" && e.image == rebuild.image && e.created_at >= rebuild.created_at
        });
        match image_event {
            Some(e) => self.of_event(e).await,
            None => self.of_event(rebuild).await,
        }
    }

    /// The records replaced (transitively) by `event`'s record while they waited, oldest
    /// first.
    pub(super) fn superseded_on_the_way(&self, event: &Event) -> Vec<i64> {
        let Some(head) = self
            .records
            .iter()
            .find(|r| r.event_id.as_deref() == Some(event.id.as_str()))
        else {
            return Vec::new();
        };
        let mut chain = vec![head.id];
        let mut by_id: Vec<&Record> = self.records.iter().collect();
        by_id.sort_by_key(|r| std::cmp::Reverse(r.id));
        for r in by_id {
            if r.superseded_by.is_some_and(|by| chain.contains(&by)) {
                chain.push(r.id);
            }
        }
        chain.remove(0);
        chain.reverse();
        chain
    }

    /// What `event` led to.
    pub(super) async fn of_event(&self, event: &Event) -> Verdict {
        let detail = event.correlation.detail.clone().unwrap_or_default();
        let record = self
            .records
            .iter()
            .find(|r| r.event_id.as_deref() == Some(event.id.as_str()));
        match record {
            _ if detail.contains("rejected at commit") => Verdict::Rejected { detail },
            None if detail.contains("baseline at commit") => Verdict::Baseline { detail },
            None if detail.contains("unchanged") => Verdict::Unchanged { detail },
            None => Verdict::NotSent { detail },
            Some(r) => self.of_record(event, r).await,
        }
    }

    async fn of_record(&self, event: &Event, r: &Record) -> Verdict {
        match r.state {
            State::Pending
                if r.last_error
                    .as_deref()
                    .is_some_and(|e| e.starts_with(WAITING)) =>
            {
                let reason = r.last_error.as_deref().unwrap_or_default();
                return Verdict::Waiting {
                    record: r.id,
                    until: r.next_attempt_at,
                    reason: reason.trim_start_matches(WAITING).to_owned(),
                };
            }
            State::Pending => {
                return Verdict::Retrying {
                    record: r.id,
                    attempts: r.attempts,
                    last_error: r.last_error.clone(),
                    next_attempt_at: r.next_attempt_at,
                };
            }
            State::Dead => {
                return Verdict::Dead {
                    record: r.id,
                    attempts: r.attempts,
                    last_error: r.last_error.clone(),
                };
            }
            State::Superseded => {
                return Verdict::Superseded {
                    record: r.id,
                    by: r.superseded_by,
                };
            }
            State::Delivered => {}
        }
        let c = &event.correlation;
        let mut ids = vec![format!("outbox record {}", r.id)];
        if r.kind == JENKINS_BUILD {
            if let Some(q) = c.jenkins_queue_id {
                ids.push(format!("Jenkins queue item {q}"));
            }
            if let Some(b) = c.build_number {
                let result = c.build_result.as_deref().unwrap_or("running");
                ids.push(format!("build #{b} ({result})"));
            }
            return Verdict::Delivered {
                ids: ids.join(", "),
            };
        }
        if r.kind != SPINNAKER_WEBHOOK {
            return Verdict::Delivered {
                ids: ids.join(", "),
            };
        }
        let echo = c
            .spinnaker_event_id
            .clone()
            .or_else(|| r.response.as_ref()?["eventId"].as_str().map(str::to_owned));
        let Some(echo) = echo else {
            return Verdict::Unverified {
                reason: format!("outbox record {} has no Echo event id", r.id),
            };
        };
        ids.push(format!("Echo event {echo}"));
        let unmatched = self
            .verifications
            .iter()
            .find(|v| v.event_id == event.id && v.state == "unmatched");
        if let (Some(v), Some(gate)) = (unmatched, self.gate) {
            let Verdict::NoExecution { reasons, .. } =
                self.no_execution(gate, r, echo.clone()).await
            else {
                return Verdict::Unverified {
                    reason: format!("outbox record {}: payload is not a Spinnaker webhook", r.id),
                };
            };
            return Verdict::Unmatched {
                spinnaker_event_id: echo,
                missing: v
                    .missing
                    .as_deref()
                    .unwrap_or_default()
                    .split(", ")
                    .map(str::to_owned)
                    .collect(),
                reasons,
            };
        }
        if let Some(x) = &c.execution_id {
            let status = c.execution_status.as_deref().unwrap_or("?");
            ids.push(format!("execution {x} ({status})"));
            return Verdict::Delivered {
                ids: ids.join(", "),
            };
        }
        let Some(gate) = self.gate else {
            return Verdict::Unverified {
                reason: format!(
                    "{}; executions not checked: the config has no spinnaker: section",
                    ids.join(", ")
                ),
            };
        };
        match gate.find_executions_by_event(self.application, &echo).await {
            Ok(found) if !found.is_empty() => {
                for x in found {
                    let name = x.name.as_deref().unwrap_or("?");
                    ids.push(format!("execution {} of {name} ({:?})", x.id, x.status));
                }
                Verdict::Delivered {
                    ids: ids.join(", "),
                }
            }
            Ok(_) => self.no_execution(gate, r, echo).await,
            Err(e) => Verdict::Unverified {
                reason: format!(
                    "{}; Gate executions search failed: {}",
                    ids.join(", "),
                    baton_http::chain(&e)
                ),
            },
        }
    }

    async fn no_execution(&self, gate: &Client, r: &Record, echo: String) -> Verdict {
        let Ok(Effect::SpinnakerWebhook { source, body }) = Effect::from_record(r) else {
            return Verdict::Unverified {
                reason: format!("outbox record {}: payload is not a Spinnaker webhook", r.id),
            };
        };
        let reasons = match gate.pipeline_configs(self.application).await {
            Ok(pipelines) => super::triggers::why_not(&pipelines, &source, &body),
            Err(e) => vec![format!(
                "pipeline configs of {} could not be fetched from Gate: {}",
                self.application,
                baton_http::chain(&e)
            )],
        };
        Verdict::NoExecution {
            spinnaker_event_id: echo,
            reasons,
        }
    }
}
