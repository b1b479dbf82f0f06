//! Routes each record to the deliverer of its kind: [`SpinnakerDeliverer`] for
//! `spinnaker.webhook`, [`JenkinsDeliverer`] for `jenkins.build` (see their modules for what is
//! sent, what is recorded and how failures are classified).
//!
//! A kind whose section (`spinnaker:` / `jenkins:`) is absent from the config has no deliverer:
//! the worker does not claim its records, so they stay pending — recorded, never lost — until a
//! daemon configured for them runs against the same store.

use std::time::Duration;

use super::jenkins::JenkinsDeliverer;
use super::notify::NotifyDeliverer;
use super::spinnaker::SpinnakerDeliverer;
use super::{Deliver, Delivered, DeliveryError, JENKINS_BUILD, NOTIFY, SPINNAKER_WEBHOOK};
use crate::store::Store;
use crate::store::outbox::Record;
use baton_core::config::Loaded;
use baton_core::config::secrets::Secrets;

/// The deliverers configured in this process.
#[derive(Debug, Default)]
pub struct Deliverers {
    /// Delivers `spinnaker.webhook` records.
    pub spinnaker: Option<SpinnakerDeliverer>,
    /// Delivers `jenkins.build` records.
    pub jenkins: Option<JenkinsDeliverer>,
    /// Delivers `notify.webhook` records (when `notifications.targets` is not empty).
    pub notify: Option<NotifyDeliverer>,
}

/// Longest time one request to Jenkins or Gate may take.
pub const REQUEST_TIMEOUT: Duration = Duration::from_secs(30);

impl Deliverers {
    /// Builds the deliverers of every configured receiver. Each request's timeout is
    /// [`REQUEST_TIMEOUT`] for Jenkins and `spinnaker.webhook_timeout` for Echo, or less when
    /// the outbox lease is short (a delivery must finish well inside its lease). Errors name
    /// the config key to fix.
    pub fn from_config(loaded: &Loaded, secrets: &Secrets, store: &Store) -> Result<Self, String> {
        let c = &loaded.config;
        let timeout = REQUEST_TIMEOUT.min(c.outbox.lease.mul_f64(0.5));
        let spinnaker = c
            .spinnaker
            .as_ref()
            .map(|s| {
                let timeout = s.webhook_timeout.min(c.outbox.lease.mul_f64(0.5));
                SpinnakerDeliverer::client_from_config(s, secrets.gate.as_ref(), timeout)
                    .map(|client| SpinnakerDeliverer::new(client, store.clone()))
            })
            .transpose()
            .map_err(|e| format!("{}: {e}", loaded.file.display()))?;
        let jenkins = c
            .jenkins
            .as_ref()
            .map(|j| {
                JenkinsDeliverer::client_from_config(j, secrets.jenkins_token.as_ref(), timeout)
                    .map(|client| JenkinsDeliverer::new(client, store.clone()))
            })
            .transpose()
            .map_err(|e| format!("{}: {e}", loaded.file.display()))?;
        let targets = &c.notifications.targets;
        let notify = (!targets.is_empty())
            .then(|| NotifyDeliverer::new(targets, &secrets.notify_urls, timeout))
            .transpose()
            .map_err(|e| format!("{}: {e}", loaded.file.display()))?;
        Ok(Self {
            spinnaker,
            jenkins,
            notify,
        })
    }

    /// Record kinds nobody in this process delivers.
    pub fn missing_kinds(&self) -> Vec<&'static str> {
        let have = self.kinds();
        [SPINNAKER_WEBHOOK, JENKINS_BUILD]
            .into_iter()
            .filter(|k| !have.contains(k))
            .collect()
    }
}

impl Deliver for Deliverers {
    fn kinds(&self) -> Vec<&'static str> {
        let mut kinds = Vec::new();
        if self.spinnaker.is_some() {
            kinds.push(SPINNAKER_WEBHOOK);
        }
        if self.jenkins.is_some() {
            kinds.push(JENKINS_BUILD);
        }
        if self.notify.is_some() {
            kinds.push(NOTIFY);
        }
        kinds
    }

    async fn deliver(&self, record: &Record) -> Result<Delivered, DeliveryError> {
        let kind = record.kind.as_str();
        match (kind, &self.spinnaker, &self.jenkins, &self.notify) {
            (SPINNAKER_WEBHOOK, Some(s), _, _) => s.deliver(record).await,
            (JENKINS_BUILD, _, Some(j), _) => j.deliver(record).await,
            (NOTIFY, _, _, Some(n)) => n.deliver(record).await,
            _ => Err(DeliveryError::permanent(format!(
                "no deliverer for kind {kind:?} in this process; configure its section \
                 (spinnaker: / jenkins: / notifications:) and `baton outbox retry {}`",
                record.id
            ))),
        }
    }
}
