//! The poll path (issue 13): `poll: 1s`, no webhook; commit -> chart webhook at the stand-in.
//! Each commit lands at a random moment of the interval, so the samples spread over it: the
//! goal is detection within the interval plus 50 ms (the interval measured start to start).

use std::time::{Duration, SystemTime};

use super::{Bench, bench_setup, chart_hooks, commit, next_hook, row};
use rand::Rng as _;

pub async fn latency(bin: &str, samples: usize) -> anyhow::Result<()> {
    let Bench {
        _dir,
        spinnaker,
        repo,
        daemon,
        ..
    } = bench_setup(bin, "1s").await?;
    let mut lat = Vec::new();
    for i in 0..samples {
        let pause = rand::rng().random_range(0..1000);
        tokio::time::sleep(Duration::from_millis(pause)).await;
        let n = chart_hooks(&spinnaker).len();
        // The clock starts once the commit is on the server (the push returned).
        commit(
            &repo,
            &format!("replicas: {}\n", 20_000 + i),
            "dev via poll",
        )?;
        let t0 = SystemTime::now();
        lat.push(next_hook(&spinnaker, n, t0).await?);
    }
    drop(daemon);
    let within = lat
        .iter()
        .filter(|d| **d <= Duration::from_millis(1050))
        .count();
    println!("| path | n | min | p50 | p99 | max |");
    println!("| --- | --- | --- | --- | --- | --- |");
    let mut sorted = lat.clone();
    sorted.sort();
    let p90 = sorted[((sorted.len() * 9).div_ceil(10)).clamp(1, sorted.len()) - 1];
    println!(
        "{}",
        row("commit -> chart webhook, `poll: 1s`, no trigger", lat)
    );
    println!();
    println!(
        "p90 {:.1} ms; {within} of {samples} within the interval + 50 ms (1,050 ms)",
        p90.as_secs_f64() * 1000.0
    );
    spinnaker.shutdown().await;
    Ok(())
}
