//! Scheduled checks shared by replicas (issue 13): turns taken in batches go to exactly one
//! replica each, on both backends; three daemons on one PostgreSQL check each base image once
//! per cron fire between them, and their counters add up to the requests they sent.

use std::collections::HashSet;
use std::time::{Duration, Instant};

use baton_daemon::store::Store;
use baton_harness::flow;
use baton_harness::on_both_backends;
use testkit::rig::Rig;
use time::OffsetDateTime;
use time::macros::datetime;

use super::scale::{metrics, start, sum, until_checks_equal_heads, watched_tags};

const T0: OffsetDateTime = datetime!(2026-11-29 12:00:00 UTC);

on_both_backends!(batched_turns_go_to_one_replica_each);

/// Two replicas take the turns of the same 1,200 sources at once (more than one statement
/// each, in different orders): every turn goes to exactly one of them, and without a deadlock.
/// Until the turns end only their holder takes them again; then anyone may.
async fn batched_turns_go_to_one_replica_each(store: Store) {
    let until = T0 + Duration::from_secs(60);
    let names: Vec<(String, OffsetDateTime)> = (0..1200)
        .map(|i| (format!("source:base-image:p/i{i}"), until))
        .collect();
    let reversed: Vec<_> = names.iter().rev().cloned().collect();
    let (a, b) = tokio::join!(
        store.try_leases(&names, "a", T0),
        store.try_leases(&reversed, "b", T0)
    );
    let (a, b) = (a.unwrap(), b.unwrap());
    assert!(
        a.is_disjoint(&b),
        "{} turns went to both",
        a.intersection(&b).count()
    );
    assert_eq!(
        a.len() + b.len(),
        names.len(),
        "every turn went to one of them"
    );

    let soon = T0 + Duration::from_secs(1);
    let holder_of_first = if a.contains(&names[0].0) { "a" } else { "b" };
    let other = if holder_of_first == "a" { "b" } else { "a" };
    let first = &names[..1];
    assert_eq!(
        store.try_leases(first, other, soon).await.unwrap(),
        HashSet::new()
    );
    assert_eq!(
        store
            .try_leases(first, holder_of_first, soon)
            .await
            .unwrap()
            .len(),
        1,
        "the holder takes its next turn early"
    );
    let later = until + Duration::from_secs(60);
    let next: Vec<_> = names.iter().map(|(n, _)| (n.clone(), later)).collect();
    assert_eq!(
        store.try_leases(&next, "c", until).await.unwrap().len(),
        names.len(),
        "ended turns are free"
    );
}

const IMAGES: usize = 12;
const REPLICAS: usize = 3;

/// Checks per base image, summed over the replicas' `/metrics`.
async fn checks_by_source(urls: &[String]) -> Vec<u64> {
    let mut per = vec![0; IMAGES];
    for url in urls {
        let m = metrics(url).await;
        for (i, n) in per.iter_mut().enumerate() {
            let source = format!("source=\"base-image:p/i{i}\"");
            *n += sum(&m, "baton_source_checks_total", &[&source]);
        }
    }
    per
}

/// Waits (at most 60 s) until the replicas counted `n` base-image checks between them, then
/// returns the checks per image as they stand between two fires: two reads 200 ms apart that
/// agree. (A read in the middle of a fire catches some images' checks of that fire and not
/// others', which would skew each image's count by one at either end of a window.)
async fn until_checks(urls: &[String], n: u64) -> Vec<u64> {
    let what = format!("{n} base-image checks, read between two fires");
    flow::wait_for(&what, 60, || async {
        let per = checks_by_source(urls).await;
        if per.iter().sum::<u64>() < n {
            return None;
        }
        tokio::time::sleep(Duration::from_millis(200)).await;
        (checks_by_source(urls).await == per).then_some(per)
    })
    .await
}

/// Three daemons on one PostgreSQL, 12 base images checked every second: over a few seconds
/// each image is checked once per second between them (not once per replica, not twice
/// around a lost turn), and the replicas' check counters add up to the HEADs they sent.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn three_replicas_check_each_image_once_per_fire_and_count_exactly() {
    let Some(rig) = Rig::for_test() else { return };
    let state = rig.new_database("scale_turns").await.unwrap();
    let images = watched_tags(&rig, "scale-turns", IMAGES, "* * * * * *").await;
    let dir = tempfile::tempdir().unwrap();
    let (mut daemons, mut urls) = (Vec::new(), Vec::new());
    for r in 0..REPLICAS {
        let own = dir.path().join(format!("r{r}"));
        std::fs::create_dir_all(&own).unwrap();
        let (d, url) = start(&own, Some(&state), &rig.registry, &images).await;
        daemons.push(d);
        urls.push(url);
    }
    // Settled once the baselines are written; then count over at least six cron fires.
    let before = until_checks(&urls, 2 * IMAGES as u64).await;
    let from = Instant::now();
    let after = until_checks(&urls, before.iter().sum::<u64>() + 6 * IMAGES as u64).await;
    let secs = from.elapsed().as_secs_f64();
    for (i, (b, a)) in before.iter().zip(&after).enumerate() {
        let n = (a - b) as f64;
        assert!(
            (n - secs).abs() <= 1.5,
            "image i{i}: {n} checks in {secs:.1} s between {REPLICAS} replicas ({before:?} -> {after:?})"
        );
    }
    // Counters equal the checks made: each check is one HEAD, counted once.
    until_checks_equal_heads(&urls).await;
    for d in daemons {
        d.stop().await.expect("the daemon stops");
    }
}
