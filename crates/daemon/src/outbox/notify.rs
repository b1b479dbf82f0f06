//! Notifications through the outbox: a [`Notice`] (what happened) becomes one `notify.webhook`
//! record per `notifications.targets[]` entry that wants its kind, with the body already in
//! the target's format, keyed `notify:<target>:<kind>:<subject>` so the same notice is sent
//! once however often (and on however many replicas) it is raised. The [`NotifyDeliverer`]
//! posts it; retries, `Retry-After` and dead records are the outbox's.
//!
//! The record holds the target's *name*, never its URL: a Slack-compatible URL is a credential
//! (`url_file`), so it stays in [`baton_core::config::secrets::Secrets`] and out of the store, the
//! logs and every error message (transport errors are stripped of the URL).

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use secrecy::{ExposeSecret, SecretString};
use serde_json::{Value, json};

use super::{Delivered, DeliveryError, Effect, Outbox};
use crate::store::outbox::Record;
use baton_core::config::notifications::{NotifyKind, NotifyTarget};

/// Something worth telling people, in the words of the notification.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Notice {
    /// The kind targets filter on (`event_unmatched`, `judgment_waiting`, ...).
    pub kind: String,
    /// Product (Spinnaker application).
    pub product: String,
    /// The baton event it is about, if any.
    pub event: Option<String>,
    /// What makes it unique within its kind (an event id, an execution id): the dedupe key.
    pub subject: String,
    /// One line for humans.
    pub summary: String,
    /// Details, shown as `key: value` lines (an artifact, a command line, ...).
    pub fields: BTreeMap<String, String>,
}

/// The body a target of format `kind` receives for `n`.
pub fn body(kind: NotifyKind, n: &Notice, at: time::OffsetDateTime) -> Value {
    let at = at
        .format(&time::format_description::well_known::Rfc3339)
        .unwrap_or_default();
    match kind {
        NotifyKind::Webhook => json!({
            "kind": n.kind, "product": n.product, "event": n.event,
            "summary": n.summary, "fields": n.fields, "at": at,
        }),
        NotifyKind::Slack => {
            let mut text = format!("*{}* · {}", n.product, n.summary);
            for (k, v) in &n.fields {
                text.push_str(&format!("\n• {k}: `{v}`"));
            }
            json!({
                "text": format!("baton: {} · {}", n.product, n.summary),
                "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
            })
        }
    }
}

/// The `delivery_dead` notice of a record that went dead; none for a notification (a dead
/// receiver would only feed itself).
pub fn dead_notice(record: &Record, error: &str) -> Option<Notice> {
    if record.kind == super::NOTIFY {
        return None;
    }
    let product = record
        .payload
        .pointer("/body/application")
        .and_then(Value::as_str)
        .or_else(|| record.target.rsplit(':').next())
        .unwrap_or_default();
    Some(Notice {
        kind: "delivery_dead".into(),
        product: product.to_owned(),
        event: record.event_id.clone(),
        // One notice per death: a record retried by hand and dead again is told again.
        subject: format!(
            "{}:{}",
            record.id,
            time::OffsetDateTime::now_utc().unix_timestamp()
        ),
        summary: format!(
            "outbox record {} ({}) is dead: {error}",
            record.id, record.target
        ),
        fields: BTreeMap::from([
            ("record".to_owned(), record.id.to_string()),
            (
                "retry".to_owned(),
                format!("baton outbox retry {}", record.id),
            ),
        ]),
    })
}

/// Raises notices: enqueues them for every target that wants their kind.
#[derive(Debug, Clone)]
pub struct Notifier {
    outbox: Outbox,
    targets: Arc<Vec<NotifyTarget>>,
}

impl Notifier {
    /// A notifier enqueueing into `outbox` for `targets`.
    pub fn new(outbox: Outbox, targets: Vec<NotifyTarget>) -> Self {
        Self {
            outbox,
            targets: Arc::new(targets),
        }
    }

    /// Whether any target wants `kind` (callers skip Gate calls for nothing).
    pub fn wants(&self, kind: &str) -> bool {
        self.targets.iter().any(|t| t.wants(kind))
    }

    /// Enqueues `n` for each target that wants it. Failures are logged: a notice must never
    /// fail the work that raised it.
    pub async fn send(&self, n: &Notice) {
        let now = self.outbox.clock().now();
        for t in self.targets.iter().filter(|t| t.wants(&n.kind)) {
            let effect = Effect::Notification {
                notify: t.name.clone(),
                body: body(t.kind, n, now),
            };
            let key = format!("notify:{}:{}:{}", t.name, n.kind, n.subject);
            match self
                .outbox
                .enqueue(&effect, &n.product, &key, n.event.as_deref())
                .await
            {
                Ok((r, true)) => {
                    tracing::info!(record = r.id, target = %t.name, kind = %n.kind, "notification queued")
                }
                Ok((_, false)) => {}
                Err(e) => {
                    tracing::warn!(target = %t.name, kind = %n.kind, error = %e, "cannot queue the notification")
                }
            }
        }
    }
}

/// Delivers `notify.webhook` records to the configured receivers.
#[derive(Debug, Clone)]
pub struct NotifyDeliverer {
    http: reqwest::Client,
    urls: Arc<BTreeMap<String, SecretString>>,
}

impl NotifyDeliverer {
    /// A deliverer for `targets` with their URLs (`urls[i]` belongs to `targets[i]`, as
    /// [`baton_core::config::secrets::Secrets::notify_urls`] holds them); `timeout` bounds each POST.
    pub fn new(
        targets: &[NotifyTarget],
        urls: &[Option<SecretString>],
        timeout: Duration,
    ) -> Result<Self, String> {
        // Receivers may redirect (a chat service's webhook URL); reqwest's default follows 10.
        let http =
            baton_http::client_builder(concat!("baton/", env!("CARGO_PKG_VERSION")), timeout)
                .redirect(reqwest::redirect::Policy::default())
                .build()
                .map_err(|e| format!("notifications: cannot build the HTTP client: {e}"))?;
        let mut map = BTreeMap::new();
        for (i, t) in targets.iter().enumerate() {
            let url = urls.get(i).cloned().flatten().ok_or_else(|| {
                format!("notifications.targets[{i}]: the receiver URL was not loaded")
            })?;
            map.insert(t.name.clone(), url);
        }
        Ok(Self {
            http,
            urls: Arc::new(map),
        })
    }

    /// Posts the record's body to its target once.
    pub async fn deliver(&self, record: &Record) -> Result<Delivered, DeliveryError> {
        let (notify, body) = Effect::for_delivery(record, "a notification", |e| match e {
            Effect::Notification { notify, body } => Some((notify, body)),
            _ => None,
        })?;
        let Some(url) = self.urls.get(&notify) else {
            return Err(DeliveryError::permanent(format!(
                "notification target {notify:?} is no longer in notifications.targets; \
                 add it back and `baton outbox retry {}`, or drop the record",
                record.id
            )));
        };
        let sent = self
            .http
            .post(url.expose_secret())
            .header("Idempotency-Key", &record.key)
            .json(&body)
            .send()
            .await
            // reqwest names the URL in its errors; the URL is a secret.
            .map_err(|e| {
                DeliveryError::transient(format!("notification to {notify}: {}", e.without_url()))
            })?;
        let status = sent.status();
        if status.is_success() {
            return Ok(Delivered {
                response: Some(json!({"status": status.as_u16()})),
            });
        }
        let after = sent
            .headers()
            .get(reqwest::header::RETRY_AFTER)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| super::policy::parse_retry_after(v, std::time::SystemTime::now()));
        Err(DeliveryError::from_status(
            status.as_u16(),
            after,
            format!("notification to {notify}: the receiver answered {status}"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn both_formats_carry_the_summary_and_fields() {
        let n = Notice {
            kind: "judgment_waiting".into(),
            product: "micro-gw".into(),
            event: Some("ev-1".into()),
            subject: "x1".into(),
            summary: "staging waits for a judgment".into(),
            fields: BTreeMap::from([("command".into(), "baton promote micro-gw staging".into())]),
        };
        let at = time::OffsetDateTime::UNIX_EPOCH;
        let g = body(NotifyKind::Webhook, &n, at);
        assert_eq!(g["kind"], "judgment_waiting");
        assert_eq!(g["fields"]["command"], "baton promote micro-gw staging");
        assert_eq!(g["at"], "1970-01-01T00:00:00Z");
        let s = body(NotifyKind::Slack, &n, at);
        assert_eq!(s["text"], "baton: micro-gw · staging waits for a judgment");
        let block = s["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            block.contains("• command: `baton promote micro-gw staging`"),
            "{block}"
        );
    }
}
