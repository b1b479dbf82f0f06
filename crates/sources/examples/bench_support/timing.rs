//! Small timing helpers: medians of repeated runs, external commands, peak RSS.

use std::process::Command;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};

/// Median of `samples`.
pub fn median(mut samples: Vec<Duration>) -> Duration {
    samples.sort();
    samples[samples.len() / 2]
}

/// Runs `cmd` once and returns its wall time; fails on a non-zero exit.
pub fn time_command(cmd: &mut Command) -> anyhow::Result<Duration> {
    let start = Instant::now();
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    let took = start.elapsed();
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(took)
}

/// Median wall time of `n` runs of the command built by `make`.
pub fn median_command(n: usize, mut make: impl FnMut() -> Command) -> anyhow::Result<Duration> {
    let mut v = Vec::with_capacity(n);
    for _ in 0..n {
        v.push(time_command(&mut make())?);
    }
    Ok(median(v))
}

/// Wall time and peak RSS (KiB) of one run, measured by GNU time.
pub fn time_and_rss(
    program: &str,
    args: &[&str],
    envs: &[(&str, &str)],
) -> anyhow::Result<(Duration, u64)> {
    let out = Command::new("/usr/bin/time")
        .args(["-f", "BENCH %e %M", program])
        .args(args)
        .envs(envs.iter().copied())
        .output()
        .context("running /usr/bin/time")?;
    let stderr = String::from_utf8_lossy(&out.stderr);
    if !out.status.success() {
        bail!("{program} {args:?} failed: {stderr}");
    }
    let line = stderr
        .lines()
        .rev()
        .find(|l| l.starts_with("BENCH "))
        .context("no GNU time line")?;
    let mut it = line.split_whitespace().skip(1);
    let secs: f64 = it.next().context("secs")?.parse()?;
    let kib: u64 = it.next().context("rss")?.parse()?;
    Ok((Duration::from_secs_f64(secs), kib))
}

/// `1.23 ms` style.
pub fn ms(d: Duration) -> String {
    format!("{:.2} ms", d.as_secs_f64() * 1e3)
}
