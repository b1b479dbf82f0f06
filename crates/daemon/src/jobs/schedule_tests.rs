//! Schedules as pure functions of `now`, and the source loop with paused time.

use super::*;
use std::sync::Mutex;
use time::macros::datetime;

fn cron(expr: &str) -> croner::Cron {
    baton_core::config::parse_cron(expr).unwrap()
}

/// A loop's settings without store, turns or limit.
fn bare(source: &str, schedule: Schedule, clock: &Clock) -> LoopSettings {
    LoopSettings {
        source: source.into(),
        schedule,
        clock: clock.clone(),
        metrics: Arc::new(Metrics::default()),
        store: None,
        turns: None,
        limit: None,
        recorded_error: false,
    }
}

/// When each check of a loop started, with its trigger (`None` for a scheduled one).
type Starts<T> = Arc<Mutex<Vec<(OffsetDateTime, Option<T>)>>>;

/// Spawns [`run_loop`] with a check that notes when it started (on `clock`) and its trigger,
/// then answers what `then(n)` answers (`n` counts the checks from 1); the fifth check shuts
/// the loop down.
fn five_checks<T, Fut>(
    settings: LoopSettings,
    triggers: mpsc::Receiver<T>,
    clock: &Clock,
    then: impl Fn(usize) -> Fut + Send + Sync + 'static,
) -> (tokio::task::JoinHandle<()>, Starts<T>)
where
    T: Send + 'static,
    Fut: Future<Output = anyhow::Result<&'static str>> + Send + 'static,
{
    let starts: Starts<T> = Arc::default();
    let shutdown = CancellationToken::new();
    let (c, k, stop, then) = (
        starts.clone(),
        clock.clone(),
        shutdown.clone(),
        Arc::new(then),
    );
    let task = tokio::spawn(run_loop(settings, triggers, shutdown, move |t| {
        let (c, k, stop, then) = (c.clone(), k.clone(), stop.clone(), then.clone());
        async move {
            let n = {
                let mut c = c.lock().unwrap();
                c.push((k.now(), t));
                c.len()
            };
            let answer = then(n).await;
            if n >= 5 {
                stop.cancel();
            }
            answer
        }
    }));
    (task, starts)
}

#[test]
fn cron_checks_spread_over_the_first_half_of_the_interval() {
    let every_minute = Schedule::Cron(Arc::new(cron("* * * * *")));
    let now = datetime!(2026-11-29 12:00:10 UTC);
    let fire = datetime!(2026-11-29 12:01:00 UTC);
    let mut offsets = Vec::new();
    for i in 0..1000 {
        let at = every_minute.next_check(&format!("base:p/i{i}"), now);
        assert!(at >= fire && at < fire + Duration::from_secs(30), "{at}");
        assert_eq!(at, every_minute.next_check(&format!("base:p/i{i}"), now));
        offsets.push((at - fire).whole_seconds());
    }
    // Spread, not a burst: every 5-second slot of the first half gets some checks.
    for slot in 0..6 {
        let n = offsets.iter().filter(|o| **o / 5 == slot).count();
        assert!((100..=240).contains(&n), "slot {slot}: {n} of 1000");
    }
    let every = Schedule::Every(Duration::from_secs(30));
    assert_eq!(every.next_check("x", now), now + Duration::from_secs(30));
}

#[test]
fn next_fire_is_a_pure_function_of_now() {
    let c = cron("*/15 * * * *");
    assert_eq!(
        next_fire(&c, datetime!(2026-11-29 12:00:00 UTC)),
        Some(datetime!(2026-11-29 12:15:00 UTC))
    );
    assert_eq!(
        next_fire(&c, datetime!(2026-11-29 12:14:59.5 UTC)),
        Some(datetime!(2026-11-29 12:15:00 UTC))
    );
    assert_eq!(
        next_fire(&c, datetime!(2026-11-29 23:59:00 UTC)),
        Some(datetime!(2026-11-30 00:00:00 UTC))
    );
    let six = cron("30 0 3 * * *");
    assert_eq!(
        next_fire(&six, datetime!(2026-11-29 03:00:30 UTC)),
        Some(datetime!(2026-11-30 03:00:30 UTC))
    );
}

#[test]
fn error_delays_grow_are_jittered_and_bounded() {
    let mut rng = rand::rng();
    let minute = Duration::from_secs(60);
    for _ in 0..200 {
        let d1 = error_delay(minute, 1, &mut rng);
        assert!(
            d1 >= Duration::from_secs(5) && d1 <= Duration::from_secs(10),
            "{d1:?}"
        );
        let d3 = error_delay(minute, 3, &mut rng);
        assert!(
            d3 >= Duration::from_secs(20) && d3 <= Duration::from_secs(40),
            "{d3:?}"
        );
        let d20 = error_delay(minute, 20, &mut rng);
        assert!(d20 >= Duration::from_secs(30) && d20 <= minute, "{d20:?}");
        let long = error_delay(Duration::from_secs(3600), 30, &mut rng);
        assert!(long <= MAX_ERROR_DELAY, "{long:?}");
    }
}

#[tokio::test(start_paused = true)]
async fn cron_loop_fires_on_schedule_retries_errors_and_stops_on_shutdown() {
    let t0 = datetime!(2026-11-29 12:00:05 UTC);
    let clock = Clock::starting_at(t0);
    let metrics = Arc::new(Metrics::default());
    let (tx, rx) = mpsc::channel::<u8>(4);
    let settings = LoopSettings {
        metrics: metrics.clone(),
        ..bare(
            "base-image:p/i",
            Schedule::Cron(Arc::new(cron("*/15 * * * *"))),
            &clock,
        )
    };
    let (task, calls) = five_checks(settings, rx, &clock, |n| async move {
        // The second check fails: the loop retries soon instead of waiting 15 min.
        if n == 2 {
            anyhow::bail!("registry down");
        }
        Ok("unchanged")
    });
    // Wait until the first (start-up) check ran, then trigger one by hand.
    while calls.lock().unwrap().is_empty() {
        tokio::task::yield_now().await;
    }
    tx.send(7).await.unwrap();
    tokio::time::timeout(Duration::from_secs(24 * 3600), task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
    let calls = calls.lock().unwrap().clone();
    let at: Vec<_> = calls.iter().map(|(t, _)| *t).collect();
    assert_eq!(calls[0], (t0, None), "checks at start");
    assert_eq!(calls[1], (t0, Some(7)), "a trigger checks at once");
    // After the failure: a retry within [5, 10] s (first failure: 10 s with equal jitter),
    // not at 12:15.
    let retry = at[2] - at[1];
    assert!(
        retry >= time::Duration::seconds(5) && retry <= time::Duration::seconds(10),
        "{retry:?}"
    );
    // Then each fire plus this source's fixed offset into the interval.
    let off = spread("base-image:p/i", Duration::from_secs(900));
    assert!(
        off > Duration::ZERO && off < Duration::from_secs(450),
        "{off:?}"
    );
    assert_eq!(at[3], datetime!(2026-11-29 12:15:00 UTC) + off);
    assert_eq!(at[4], datetime!(2026-11-29 12:30:00 UTC) + off);
}

/// A poll interval is measured from the start of one check to the start of the next: a 1 s
/// poll whose checks take 300 ms starts every second, not every 1.3 s; a check longer than
/// the interval is followed by the next at once.
#[tokio::test(start_paused = true)]
async fn poll_intervals_run_start_to_start() {
    let t0 = datetime!(2026-11-29 12:00:00 UTC);
    let clock = Clock::starting_at(t0);
    let (_tx, rx) = mpsc::channel::<()>(1);
    let settings = bare(
        "chart-source:p",
        Schedule::Every(Duration::from_secs(1)),
        &clock,
    );
    let (task, starts) = five_checks(settings, rx, &clock, |n| async move {
        // The third check takes longer than the interval.
        let took = if n == 3 { 1500 } else { 300 };
        tokio::time::sleep(Duration::from_millis(took)).await;
        Ok("unchanged")
    });
    tokio::time::timeout(Duration::from_secs(60), task)
        .await
        .expect("the loop stops on shutdown")
        .unwrap();
    let ms: Vec<i128> = starts
        .lock()
        .unwrap()
        .iter()
        .map(|(t, _)| (*t - t0).whole_milliseconds())
        .collect();
    assert_eq!(ms, vec![0, 1000, 2000, 3500, 4500]);
}

/// Runs one loop for `source` until its second check (a trigger after the start-up one), so
/// the first check's bookkeeping is done.
async fn two_checks(store: &Store, source: &str, recorded_error: bool) {
    let (tx, rx) = mpsc::channel(1);
    let shutdown = CancellationToken::new();
    let settings = LoopSettings {
        source: source.into(),
        schedule: Schedule::Every(Duration::from_secs(3600)),
        clock: Clock::system(),
        metrics: Arc::new(Metrics::default()),
        store: Some(store.clone()),
        turns: None,
        limit: Some(CheckLimit::new(1)),
        recorded_error,
    };
    let (calls, stop) = (Arc::new(Mutex::new(0)), shutdown.clone());
    let task = tokio::spawn(run_loop(settings, rx, shutdown, move |_: Option<()>| {
        let (calls, stop) = (calls.clone(), stop.clone());
        async move {
            let mut n = calls.lock().unwrap();
            *n += 1;
            if *n == 2 {
                stop.cancel();
            }
            Ok("unchanged")
        }
    }));
    tx.send(()).await.unwrap();
    tokio::time::timeout(Duration::from_secs(30), task)
        .await
        .expect("the loop stops after its second check")
        .unwrap();
}

#[tokio::test]
async fn a_success_clears_an_error_recorded_by_an_earlier_run_and_writes_nothing_otherwise() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(&format!("sqlite://{}", dir.path().join("s.db").display()))
        .await
        .unwrap();
    let earlier = Observation {
        source: "base-image:p/failed#error".into(),
        value: "base image r/b:1: connection refused".into(),
        observed_at: OffsetDateTime::now_utc(),
    };
    store.record_observation(&earlier).await.unwrap();
    let failing = store.failing_sources().await.unwrap();
    assert_eq!(
        failing.into_iter().collect::<Vec<_>>(),
        ["base-image:p/failed"]
    );

    two_checks(&store, "base-image:p/failed", true).await;
    two_checks(&store, "base-image:p/fine", false).await;
    let cleared = store
        .observation("base-image:p/failed#error")
        .await
        .unwrap()
        .expect("the row stays, emptied");
    assert_eq!(cleared.value, "", "the recovered source's error is cleared");
    assert!(store.failing_sources().await.unwrap().is_empty());
    assert_eq!(
        store.observation("base-image:p/fine#error").await.unwrap(),
        None,
        "a source with no recorded error wrote nothing"
    );
    store.close().await;
}
