//! The negative cache of chart archives (issue 17). An archive that failed the checks (a tar
//! bomb, a size cap, paths outside the chart, a digest mismatch, a `Chart.yaml` naming another
//! chart) used to be downloaded and inflated to the limit again on every poll. It is now
//! remembered by what names it in the repository *before* a download: the index entry's digest
//! (its URL and creation time when the index gives no digest), or the OCI manifest digest. A
//! later check that selects the same archive fails at once with [`Error::RefusedBefore`] and
//! downloads nothing, until the repository publishes another archive for that version.
//!
//! The caller keeps the record between checks ([`ChartWatch::check_remembering`]); the daemon
//! keeps it in its state store, so a restart or another replica does not download it again.

use std::future::Future;

use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use super::client::HelmClient;
use super::watch::{ChartObservation, ChartWatch};
use crate::{CheckOutcome, CheckReport, Error, ErrorKind};

/// A chart archive that failed the checks, and what named it before the download.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct RefusedArchive {
    /// Repository as configured.
    pub repository: String,
    /// Chart name.
    pub name: String,
    /// The version the watch selected.
    pub version: String,
    /// `sha256:<hex>` of the index entry, `<url> created <time>` when the index has no digest,
    /// or the OCI manifest digest.
    pub key: String,
    /// Why it was refused (the check's error).
    pub reason: String,
    /// When it was refused.
    #[serde(with = "time::serde::rfc3339")]
    pub at: OffsetDateTime,
}

/// The refusal known before one check, and the one it made, if any.
#[derive(Debug, Default)]
pub(crate) struct Guard {
    known: Option<RefusedArchive>,
    refused: Option<RefusedArchive>,
}

impl Guard {
    /// Fails with [`Error::RefusedBefore`] when `version` with `key` was refused before.
    pub(crate) fn skip(&self, watch: &ChartWatch, version: &str, key: &str) -> Result<(), Error> {
        match &self.known {
            Some(k)
                if k.repository == watch.repository
                    && k.name == watch.name
                    && k.version == version
                    && k.key == key =>
            {
                Err(Error::RefusedBefore {
                    name: k.name.clone(),
                    version: k.version.clone(),
                    at: k
                        .at
                        .format(&time::format_description::well_known::Rfc3339)
                        .unwrap_or_default(),
                    reason: k.reason.clone(),
                })
            }
            _ => Ok(()),
        }
    }

    /// Runs `fetch` (download and checks of the archive `key`); remembers a failure of the
    /// content (not of the network: that may pass).
    pub(crate) async fn fetch<T>(
        &mut self,
        watch: &ChartWatch,
        version: &str,
        key: String,
        fetch: impl Future<Output = Result<T, Error>>,
    ) -> Result<T, Error> {
        let r = fetch.await;
        if let Err(e) = &r
            && e.kind() == ErrorKind::InvalidContent
        {
            self.refused = Some(RefusedArchive {
                repository: watch.repository.clone(),
                name: watch.name.clone(),
                version: version.to_owned(),
                key,
                reason: match CheckOutcome::<()>::from_error(e) {
                    CheckOutcome::Error { message, .. } => message,
                    _ => e.to_string(),
                },
                at: OffsetDateTime::now_utc(),
            });
        }
        r
    }
}

impl ChartWatch {
    /// [`ChartWatch::check`] with the negative cache: `refused` is the archive refused before
    /// (skipped without a download while the repository still offers it) and, after the
    /// check, the one to remember: a newly refused archive, the same one while it is skipped
    /// or the check failed elsewhere, `None` once a check succeeds.
    pub async fn check_remembering(
        &self,
        client: &HelmClient,
        last: Option<&ChartObservation>,
        refused: &mut Option<RefusedArchive>,
    ) -> CheckReport<ChartObservation> {
        let mut guard = Guard {
            known: refused.clone(),
            refused: None,
        };
        let report = CheckReport::timed(
            last,
            |old, new| old.digest == new.digest && old.version == new.version,
            self.observe_guarded(client, last, &mut guard),
        )
        .await;
        match (&report.outcome, guard.refused) {
            (CheckOutcome::Error { .. }, Some(new)) => *refused = Some(new),
            (CheckOutcome::Error { .. }, None) => {}
            _ => *refused = None,
        }
        report
    }
}
