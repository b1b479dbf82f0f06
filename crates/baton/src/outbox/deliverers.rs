//! Routes each record to the deliverer of its kind.
//!
//! This build has no deliverer yet: the Jenkins (`jenkins.build`) and Spinnaker
//! (`spinnaker.webhook`) deliverers arrive with their clients. Until then the worker claims
//! nothing and records of those kinds stay pending — recorded, never lost, delivered once a
//! build with the deliverers runs against the same store.

use std::future::Future;

use super::{Deliver, Delivered, DeliveryError, JENKINS_BUILD, SPINNAKER_WEBHOOK};
use crate::store::outbox::Record;

/// The deliverers configured in this process.
#[derive(Debug, Default)]
pub struct Deliverers {}

impl Deliverers {
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
        Vec::new()
    }

    fn deliver(
        &self,
        record: &Record,
    ) -> impl Future<Output = Result<Delivered, DeliveryError>> + Send {
        let message = format!("no deliverer for kind {:?} in this process", record.kind);
        async move { Err(DeliveryError::permanent(message)) }
    }
}
