//! The cron group with paused time: the schedule of each source, the daemon-wide limit, retries
//! and shutdown.

use super::*;
use crate::jobs::schedule::spread;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::macros::datetime;

const SOURCES: usize = 200;
const LIMIT: usize = 8;

/// 200 sources on one cron line through a limit of 8: each is checked at start, then at each
/// fire plus its own offset; the one failure is retried within its backoff, not at the next
/// fire; never more than 8 checks run at once; shutdown ends the group.
#[tokio::test(start_paused = true)]
async fn each_source_runs_on_its_own_schedule_within_the_limit() {
    let t0 = datetime!(2026-11-29 12:00:05 UTC);
    let clock = Clock::starting_at(t0);
    let calls: Arc<Mutex<Vec<(usize, OffsetDateTime)>>> = Arc::default();
    let (in_flight, most) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let metrics = Arc::new(Metrics::default());
    let group = Group {
        schedule: Schedule::Cron(Arc::new(
            baton_core::config::parse_cron("*/15 * * * *").unwrap(),
        )),
        clock: clock.clone(),
        metrics: metrics.clone(),
        store: None,
        turns: None,
        limit: CheckLimit::new(LIMIT),
    };
    let sources = (0..SOURCES)
        .map(|i| (format!("base-image:p/i{i}"), false))
        .collect();
    let shutdown = CancellationToken::new();
    let (c, k, f, m) = (
        calls.clone(),
        clock.clone(),
        in_flight.clone(),
        most.clone(),
    );
    let task = tokio::spawn(run_group(group, sources, shutdown.clone(), move |i| {
        let (c, k, f, m) = (c.clone(), k.clone(), f.clone(), m.clone());
        async move {
            let n = f.fetch_add(1, Ordering::SeqCst) + 1;
            m.fetch_max(n, Ordering::SeqCst);
            let first = {
                let mut c = c.lock().unwrap();
                c.push((i, k.now()));
                c.iter().filter(|(j, _)| *j == i).count() == 1
            };
            tokio::time::sleep(Duration::from_millis(100)).await;
            f.fetch_sub(1, Ordering::SeqCst);
            if i == 3 && first {
                anyhow::bail!("registry down");
            }
            Ok("unchanged")
        }
    }));
    // Until just before the 12:45 fire: the 12:15 and 12:30 fires (plus offsets below 7.5 min).
    clock.sleep_until(datetime!(2026-11-29 12:44:59 UTC)).await;
    shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(1), task)
        .await
        .expect("the group stops on shutdown")
        .unwrap();

    assert_eq!(
        most.load(Ordering::SeqCst),
        LIMIT,
        "checks in flight at most"
    );
    let calls = calls.lock().unwrap().clone();
    let interval = Duration::from_secs(900);
    for i in 0..SOURCES {
        let at: Vec<OffsetDateTime> = calls
            .iter()
            .filter(|(j, _)| *j == i)
            .map(|(_, t)| *t)
            .collect();
        // Start-up: 200 checks of 100 ms through 8 permits take 2.5 s.
        assert!(
            at[0] >= t0 && at[0] < t0 + Duration::from_secs(3),
            "{i}: {at:?}"
        );
        let off = spread(&format!("base-image:p/i{i}"), interval);
        let fires = [
            datetime!(2026-11-29 12:15:00 UTC) + off,
            datetime!(2026-11-29 12:30:00 UTC) + off,
        ];
        let regular = if i == 3 {
            // The failure is retried within [5, 10] s of its end (first failure: 10 s with
            // equal jitter), not at 12:15.
            let retry = at[1] - (at[0] + Duration::from_millis(100));
            assert!(
                retry >= time::Duration::seconds(5) && retry <= time::Duration::seconds(10),
                "{retry:?}"
            );
            &at[2..]
        } else {
            &at[1..]
        };
        assert_eq!(regular, fires, "source {i}");
    }
    assert_eq!(calls.len(), 3 * SOURCES + 1);
}
