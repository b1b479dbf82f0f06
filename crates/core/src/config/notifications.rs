//! The optional `notifications:` section: where baton tells people what happened (a judgment
//! waits, a delivery went dead, an event started no pipeline, a build failed or succeeded).
//!
//! Each target is a receiver URL in one format (a generic JSON webhook, or a Slack-compatible
//! incoming webhook) with a filter of event kinds. The URL of a Slack-compatible webhook *is* its
//! credential, so it comes from a file (`url_file`) and is read with the other secrets; a
//! generic webhook may name its URL inline. Notifications go through the outbox
//! (`baton_daemon::outbox::notify`), so they are retried and sent once per key.

use std::collections::HashSet;
use std::path::{Path, PathBuf};
use std::time::Duration;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use super::Problem;

/// Event kinds baton notifies about itself. Any other kind a target names is matched against
/// the kind of events recorded in the store (e.g. `judgment_deadline`).
pub const KINDS: &[&str] = &[
    "judgment_waiting",
    "judgment_given",
    "judgment_stopped",
    "delivery_dead",
    "event_unmatched",
    "rebuild_failed",
    "build_succeeded",
];

/// The `notifications:` section.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct Notifications {
    /// Receivers, each with the event kinds it wants.
    #[serde(default)]
    pub targets: Vec<NotifyTarget>,
    /// How often baton looks for what to tell (with ±20 % jitter): judgments that wait (one
    /// Gate call per product, only while a target wants `judgment_waiting`) and recent events
    /// (judgments given or stopped, rebuild results, other event kinds). `event_unmatched`
    /// and `delivery_dead` are sent when they happen. Between 1s and 10m.
    #[serde(default = "default_check_every", with = "humantime_serde")]
    #[schemars(with = "super::docs::HumanDuration")]
    pub check_every: Duration,
}

impl Default for Notifications {
    fn default() -> Self {
        Self {
            targets: Vec::new(),
            check_every: default_check_every(),
        }
    }
}

fn default_check_every() -> Duration {
    Duration::from_secs(15)
}

/// The range `notifications.check_every` must be in.
const CHECK_EVERY: std::ops::RangeInclusive<Duration> =
    Duration::from_secs(1)..=Duration::from_secs(600);

/// One receiver of notifications.
#[derive(Debug, Clone, Deserialize, Serialize, JsonSchema)]
#[serde(deny_unknown_fields)]
pub struct NotifyTarget {
    /// Unique name; part of each notification's outbox key and target.
    #[schemars(example = &"ops-slack")]
    pub name: String,
    /// The body format.
    pub kind: NotifyKind,
    /// The receiver's URL (generic webhooks only; a Slack URL is a secret: use `url_file`).
    #[schemars(example = &"https://hooks.example.com/baton")]
    pub url: Option<super::types::HttpUrl>,
    /// File holding the receiver's URL (a Slack incoming-webhook URL is its credential).
    #[schemars(example = "/etc/baton/secrets/slack-webhook-url")]
    pub url_file: Option<PathBuf>,
    /// Event kinds to send: `judgment_waiting`, `judgment_given`, `judgment_stopped`,
    /// `delivery_dead`, `event_unmatched`, `rebuild_failed`, `build_succeeded`, or the kind of
    /// any event baton records (e.g. `judgment_deadline`). Empty: every kind baton notifies
    /// about itself.
    #[serde(default)]
    pub events: Vec<String>,
}

impl NotifyTarget {
    /// Whether this target wants `kind`.
    pub fn wants(&self, kind: &str) -> bool {
        if self.events.is_empty() {
            KINDS.contains(&kind)
        } else {
            self.events.iter().any(|e| e == kind)
        }
    }
}

/// A notification body format.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Deserialize, Serialize)]
#[serde(rename_all = "snake_case", try_from = "String")]
pub enum NotifyKind {
    /// `POST` of a JSON object: `{kind, product, event, summary, fields, at}`.
    Webhook,
    /// A Slack-compatible incoming webhook: `{text, blocks}` (Slack, Mattermost, Rocket.Chat).
    Slack,
}

super::model::named_variants!(NotifyKind {
    "webhook" => Webhook: "Generic JSON: `{kind, product, event, summary, fields, at}`.",
    "slack" => Slack: "Slack-compatible incoming webhook: `{text, blocks}`.",
});

/// Checks the section without reading secrets: names, URLs, one URL source per target.
pub(super) fn validate(n: &Notifications, out: &mut Vec<Problem>) {
    if !CHECK_EVERY.contains(&n.check_every) {
        out.push(Problem::new(
            "notifications.check_every",
            format!(
                "{} is out of range: give a duration between 1s and 10m",
                humantime::format_duration(n.check_every)
            ),
        ));
    }
    let mut names = HashSet::new();
    for (i, t) in n.targets.iter().enumerate() {
        let at = |key: &str| format!("notifications.targets[{i}].{key}");
        if !super::validate::is_name(&t.name) {
            out.push(Problem::new(
                at("name"),
                format!("{:?} must be lowercase letters, digits and '-'", t.name),
            ));
        } else if !names.insert(t.name.as_str()) {
            out.push(Problem::new(
                at("name"),
                format!("{:?} is used by two targets; names must be unique", t.name),
            ));
        }
        match (&t.url, &t.url_file, t.kind) {
            (Some(_), _, NotifyKind::Slack) => out.push(Problem::new(
                at("url"),
                "a Slack-compatible webhook URL is its credential; put it in a file and name it \
                 with url_file",
            )),
            (Some(_), Some(_), _) => {
                out.push(Problem::new(at("url"), "give url or url_file, not both"))
            }
            // Parsed at load (`HttpUrl`); the loader reported a bad one with its key.
            (Some(_), None, _) => {}
            (None, None, _) => out.push(Problem::new(
                at("url_file"),
                "is required: name the file holding the receiver's URL",
            )),
            (None, Some(_), _) => {}
        }
        for (j, e) in t.events.iter().enumerate() {
            let ok = !e.is_empty() && e.chars().all(|c| c.is_ascii_lowercase() || c == '_');
            if !ok {
                out.push(Problem::new(
                    at(&format!("events[{j}]")),
                    format!(
                        "{e:?} is not an event kind; use snake_case names such as {}",
                        KINDS.join(", ")
                    ),
                ));
            }
        }
    }
}

/// Parses a receiver URL: absolute `http` or `https` with a host. The error never repeats the
/// URL (callers decide whether it may be shown).
pub fn parse_url(u: &str) -> Result<url::Url, String> {
    let url = url::Url::parse(u.trim()).map_err(|e| format!("is not a URL ({e})"))?;
    if !matches!(url.scheme(), "http" | "https") || url.host_str().is_none() {
        return Err("is not an http(s) URL with a host, e.g. https://hooks.example.com/…".into());
    }
    Ok(url)
}

/// Makes relative `url_file`s relative to the config's folder.
pub(super) fn resolve(n: &mut Notifications, base: &Path) {
    for t in &mut n.targets {
        if let Some(p) = t.url_file.as_mut()
            && p.is_relative()
        {
            *p = base.join(&*p);
        }
    }
}
