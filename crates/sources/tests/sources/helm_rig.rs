//! Chart checks against the rig: the classic repository served by nginx (ETag / 304) and the
//! same chart pushed to the OCI registry by helm. Skips when the rig is not up; fails under CI.

use std::sync::Arc;
use std::time::Duration;

use baton_sources::CheckOutcome;
use baton_sources::helm::{ChartWatch, HelmClient};
use baton_sources::registry::{Registries, RegistryConfig};
use sha2::Digest as _;
use testkit::rig::Rig;

fn client(rig: &Rig, cache: &tempfile::TempDir) -> HelmClient {
    let mut oci = RegistryConfig::anonymous(&rig.registry);
    oci.insecure = true;
    let regs = Arc::new(Registries::new(vec![oci]).expect("registries"));
    HelmClient::new(
        cache.path().to_path_buf(),
        regs,
        &[],
        Duration::from_secs(30),
    )
    .expect("client")
}

/// The rig's seeded chart at its seeded version, in `repository`.
fn seeded(rig: &Rig, repository: &str) -> ChartWatch {
    ChartWatch {
        repository: repository.to_owned(),
        name: rig.chart_name.clone(),
        version: rig.chart_version.parse().expect("the rig's chart version"),
        prereleases: false,
    }
}

/// What a first check found; panics (showing the outcome) on anything else.
fn first_seen<T: std::fmt::Debug>(outcome: &CheckOutcome<T>) -> &T {
    match outcome {
        CheckOutcome::Changed { old: None, new } => new,
        other => panic!("expected a first observation, got {other:?}"),
    }
}

fn sha256_of_file(path: &std::path::Path) -> String {
    format!(
        "sha256:{}",
        hex::encode(sha2::Sha256::digest(
            std::fs::read(path).expect("read chart")
        ))
    )
}

#[tokio::test]
async fn classic_repository_then_one_304() {
    let Some(rig) = Rig::for_test() else { return };
    let cache = tempfile::tempdir().expect("cache");
    let c = client(&rig, &cache);
    let watch = seeded(&rig, &rig.helm_repo_url);
    let first = watch.check(&c, None).await;
    let new = first_seen(&first.outcome);
    assert_eq!(
        (new.name.as_str(), new.version.as_str()),
        (rig.chart_name.as_str(), rig.chart_version.as_str())
    );
    let file = rig
        .helm_repo_dir
        .join(format!("{}-{}.tgz", rig.chart_name, rig.chart_version));
    assert_eq!(new.digest, sha256_of_file(&file));
    assert_eq!(
        ChartWatch::load(&c, new).expect("cached").digest,
        new.digest
    );

    let before = c.request_counts();
    let second = watch.check(&c, Some(new)).await;
    assert!(
        matches!(second.outcome, CheckOutcome::Unchanged { .. }),
        "{:?}",
        second.outcome
    );
    let after = c.request_counts();
    assert_eq!(
        after.index_not_modified - before.index_not_modified,
        1,
        "{after:?}"
    );
    assert_eq!(
        (after.index_full, after.downloads),
        (before.index_full, before.downloads),
        "a 304 costs nothing more"
    );

    // A range picks the same (only) version.
    let ranged = ChartWatch {
        version: "^3.0".parse().expect("a range"),
        ..watch.clone()
    };
    let r = ranged.observe(&c, None).await.expect("range");
    assert_eq!(r.version, rig.chart_version);
}

#[tokio::test]
async fn oci_repository() {
    let Some(rig) = Rig::for_test() else { return };
    let cache = tempfile::tempdir().expect("cache");
    let c = client(&rig, &cache);
    let watch = seeded(&rig, &rig.helm_oci);
    let first = watch.check(&c, None).await;
    let new = first_seen(&first.outcome);
    assert_eq!(new.version, rig.chart_version);
    assert!(new.manifest_digest.is_some());
    let chart = ChartWatch::load(&c, new).expect("cached");
    assert!(chart.tgz.len() > 100);
    let again = watch.check(&c, Some(new)).await;
    assert!(
        matches!(again.outcome, CheckOutcome::Unchanged { .. }),
        "{:?}",
        again.outcome
    );

    let ranged = ChartWatch {
        version: ">=3.0.0".parse().expect("a range"),
        ..watch.clone()
    };
    assert_eq!(
        ranged
            .observe(&c, None)
            .await
            .expect("range via tag list")
            .version,
        rig.chart_version
    );
}
