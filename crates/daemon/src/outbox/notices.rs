//! The notices baton raises by looking, not at the moment something happens: a judgment that
//! waits (from Gate, through [`Promoter::pending`]), and what recent events say — a judgment
//! given or stopped (`promote` events, read through the [`JudgmentNote`] promotion wrote, so
//! the notice names the artifact and says when it was forced), a rebuild's result (`rebuild` events once the build
//! follower recorded it), and any other event kind a target subscribes to by name (e.g.
//! `judgment_deadline`), so a new kind of event is notified without code here.
//!
//! Every replica may look; the outbox key of each notice makes it one record. Events are read
//! back [`WINDOW`] (the build follower's longest follow), so a restart misses nothing recent.

use std::collections::{BTreeMap, HashSet};
use std::sync::Arc;
use std::time::Duration;

use rand::Rng;
use serde_json::Value;
use time::OffsetDateTime;
use tokio_util::sync::CancellationToken;

use super::notify::{Notice, Notifier};
use crate::promote::Promoter;
use crate::promote::note::{FORCED, JudgmentNote};
use crate::store::Store;
use crate::store::events::Event;
use baton_core::config::notifications::KINDS;

/// How far back events are turned into notices.
pub const WINDOW: Duration = Duration::from_secs(6 * 3600);

/// The notice an event gives, if any.
pub fn of_event(e: &Event) -> Option<Notice> {
    let c = &e.correlation;
    let detail = c.detail.clone().unwrap_or_default();
    let mut fields = BTreeMap::new();
    let kind = match e.kind.as_str() {
        "promote" => return judgment(e),
        "rebuild" => {
            let result = c.build_result.as_deref()?;
            fields.insert("result".to_owned(), result.to_owned());
            if let Some(url) = &c.build_url {
                fields.insert("build".to_owned(), url.clone());
            }
            if result == "SUCCESS" {
                "build_succeeded"
            } else {
                "rebuild_failed"
            }
        }
        // Kinds baton raises itself are not events; any other event kind is its own notice.
        other if KINDS.contains(&other) => return None,
        other => other,
    };
    if let Some(image) = &e.image {
        fields.insert("image".to_owned(), image.clone());
    }
    let summary = match (kind, detail.is_empty()) {
        ("build_succeeded" | "rebuild_failed", _) => format!(
            "rebuild of {} ended {}",
            e.image.as_deref().unwrap_or("the image"),
            fields["result"]
        ),
        (_, false) => detail,
        (_, true) => format!("{} event {}", e.kind, e.id),
    };
    Some(about(e, kind, summary, fields))
}

/// A notice of `kind` about event `e` (its subject: one notice per event and kind).
fn about(e: &Event, kind: &str, summary: String, fields: BTreeMap<String, String>) -> Notice {
    Notice {
        kind: kind.to_owned(),
        product: e.product.clone(),
        event: Some(e.id.clone()),
        subject: e.id.clone(),
        summary,
        fields,
    }
}

/// The `judgment_given` or `judgment_stopped` notice of a `promote` event, read through the
/// [`JudgmentNote`] promotion wrote: the artifact, and whether it was forced.
fn judgment(e: &Event) -> Option<Notice> {
    let n = JudgmentNote::parse(e.correlation.detail.as_deref()?)?;
    let (kind, done) = match n.judgment.as_str() {
        "continue" => ("judgment_given", "continued"),
        _ => ("judgment_stopped", "stopped"),
    };
    let mut summary = format!("{}/{} {done} by {}", n.product, n.environment, n.by);
    let mut fields = BTreeMap::from([
        ("environment".to_owned(), n.environment.clone()),
        ("by".to_owned(), n.by.clone()),
    ]);
    if n.forced {
        summary.push_str(", forced past the rule by artifact");
        fields.insert("forced".to_owned(), FORCED.to_owned());
    }
    let optional = [
        ("artifact", n.artifact),
        ("input", n.input),
        ("execution", e.correlation.execution_id.clone()),
        ("started_by", n.source_event),
    ];
    for (key, value) in optional {
        if let Some(v) = value {
            fields.insert(key.to_owned(), v);
        }
    }
    Some(about(e, kind, summary, fields))
}

/// The artifact a webhook body carries, in one line.
pub fn artifact(body: &Value) -> Option<String> {
    let p = &body["parameters"];
    match (p["chart"].as_str(), p["image"].as_str()) {
        (Some(chart), _) => Some(format!(
            "chart {chart} {}",
            p["chartVersion"].as_str().unwrap_or("?")
        )),
        (None, Some(image)) => Some(format!(
            "image {image}@{}",
            p["digest"].as_str().unwrap_or("?")
        )),
        _ => None,
    }
}

/// Looks every `every` (`notifications.check_every`, with ±20 % jitter) until `shutdown`.
pub async fn watch(
    notifier: Notifier,
    store: Store,
    promoter: Option<Arc<Promoter>>,
    every: Duration,
    shutdown: CancellationToken,
) {
    let mut done: HashSet<String> = HashSet::new();
    while !shutdown.is_cancelled() {
        if let Some(p) = promoter
            .as_ref()
            .filter(|_| notifier.wants("judgment_waiting"))
        {
            waiting(&notifier, &store, p, &mut done).await;
        }
        match store.events(None, 500).await {
            Ok(events) => {
                let since = OffsetDateTime::now_utc() - WINDOW;
                for e in events.iter().filter(|e| e.created_at >= since) {
                    let Some(n) = of_event(e) else { continue };
                    let key = format!("{}:{}", n.kind, n.subject);
                    if notifier.wants(&n.kind) && !done.contains(&key) {
                        notifier.send(&n).await;
                        done.insert(key);
                    }
                }
            }
            Err(e) => tracing::warn!(error = %e, "notifications: cannot read recent events"),
        }
        let sleep = every.mul_f64(rand::rng().random_range(0.8..1.2));
        tokio::select! {
            _ = shutdown.cancelled() => {}
            _ = tokio::time::sleep(sleep) => {}
        }
    }
}

async fn waiting(notifier: &Notifier, store: &Store, p: &Promoter, done: &mut HashSet<String>) {
    let pending = match p.pending().await {
        Ok(p) => p,
        Err(e) => {
            tracing::warn!(error = %baton_http::chain(&e), "notifications: cannot list waiting judgments");
            return;
        }
    };
    for w in pending {
        let subject = format!("{}:{}", w.execution_id, w.stage_id);
        if !done.insert(subject.clone()) {
            continue;
        }
        let mut fields = BTreeMap::from([
            ("environment".to_owned(), w.environment.clone()),
            ("execution".to_owned(), w.execution_id.clone()),
            (
                "command".to_owned(),
                format!("baton promote {} {}", w.product, w.environment),
            ),
        ]);
        if let Some(ev) = &w.baton_event
            && let Ok(Some(body)) = store.webhook_of_event(ev).await
            && let Some(a) = artifact(&body)
        {
            fields.insert("artifact".to_owned(), a);
        }
        let stage = w
            .stage_name
            .clone()
            .unwrap_or_else(|| "manual judgment".into());
        notifier
            .send(&Notice {
                kind: "judgment_waiting".into(),
                product: w.product.clone(),
                event: w.baton_event.clone(),
                subject,
                summary: format!("{} waits for a judgment: {stage}", w.environment),
                fields,
            })
            .await;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::events::Correlation;

    fn promote_event(note: &JudgmentNote) -> Event {
        Event {
            id: "ev-2".into(),
            product: "micro-gw".into(),
            kind: "promote".into(),
            image: None,
            created_at: OffsetDateTime::UNIX_EPOCH,
            correlation: Correlation {
                execution_id: Some("01EXEC".into()),
                detail: Some(note.detail()),
                ..Default::default()
            },
        }
    }

    #[test]
    fn a_forced_promotion_is_told_as_forced_with_its_artifact() {
        let note = JudgmentNote {
            judgment: "continue".into(),
            product: "micro-gw".into(),
            environment: "prod".into(),
            by: "alice".into(),
            source_event: Some("ev-1".into()),
            artifact: Some("chart microgateway 3.0.2 (sha256:5d0c8e1f2a3b)".into()),
            forced: true,
            input: None,
        };
        let n = of_event(&promote_event(&note)).unwrap();
        assert_eq!(n.kind, "judgment_given");
        assert_eq!(
            n.summary,
            "micro-gw/prod continued by alice, forced past the rule by artifact"
        );
        assert_eq!(n.fields["forced"], FORCED);
        assert_eq!(
            n.fields["artifact"],
            "chart microgateway 3.0.2 (sha256:5d0c8e1f2a3b)"
        );
        assert_eq!(n.fields["execution"], "01EXEC");
        assert_eq!(n.fields["started_by"], "ev-1");

        // Not forced: no such word, even when the input says it; a stop is its own kind.
        let note = JudgmentNote {
            judgment: "stop".into(),
            forced: false,
            input: Some(format!("not {FORCED}")),
            ..note
        };
        let n = of_event(&promote_event(&note)).unwrap();
        assert_eq!(n.kind, "judgment_stopped");
        assert_eq!(n.summary, "micro-gw/prod stopped by alice");
        assert!(!n.fields.contains_key("forced"), "{n:?}");
    }
}
