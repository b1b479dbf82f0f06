//! The lower bound for `bench/run-start`'s config decode: for each config file, the time its
//! format's parser alone takes to read the text (no typed structs: serde-saphyr under baton's
//! YAML limits into `IgnoredAny`, or serde_json into `IgnoredAny`) next to the time
//! `baton_core::config::load` takes (parse, typed decode, environment overrides, validation).
//! The difference is what baton adds on top of the parser. Best and median of RUNS, in one
//! process, files alternated. The parser column reads the named file only: for a config with
//! `product_files`, compare the load column. Not a test.
//!
//! `cargo run --release -p baton --example bench_decode -- [--runs N] CONFIG...`

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use anyhow::{Context as _, bail};
use baton_sources::yaml::{YamlLimits, validate};
use serde::de::IgnoredAny;

fn main() -> anyhow::Result<()> {
    let mut runs = 10;
    let mut files = Vec::new();
    let mut args = std::env::args().skip(1);
    while let Some(arg) = args.next() {
        if arg == "--runs" {
            let n = args.next().context("--runs takes a number")?;
            runs = n
                .parse()
                .with_context(|| format!("--runs {n}: not a number"))?;
        } else {
            files.push(PathBuf::from(arg));
        }
    }
    if files.is_empty() || runs == 0 {
        bail!("usage: bench_decode [--runs N] CONFIG... (N > 0)");
    }
    let mut parse = vec![Vec::new(); files.len()];
    let mut load = vec![Vec::new(); files.len()];
    for _ in 0..runs {
        for (i, file) in files.iter().enumerate() {
            parse[i].push(timed(|| parse_only(file))?);
            load[i].push(timed(|| {
                baton_core::config::load(file)
                    .map(drop)
                    .map_err(|e| anyhow::anyhow!("{e}"))
            })?);
        }
    }
    println!(
        "| config | bytes | parser alone, best / median | baton's load, best / median | load / parser |"
    );
    println!("| --- | --- | --- | --- | --- |");
    for (i, file) in files.iter().enumerate() {
        let (pb, pm) = best_median(&mut parse[i]);
        let (lb, lm) = best_median(&mut load[i]);
        println!(
            "| {} | {} | {:.1} / {:.1} ms | {:.1} / {:.1} ms | {:.2}x |",
            file.display(),
            std::fs::metadata(file)?.len(),
            ms(pb),
            ms(pm),
            ms(lb),
            ms(lm),
            lm.as_secs_f64() / pm.as_secs_f64()
        );
    }
    Ok(())
}

/// Reads `file` and runs its format's parser over the text, building nothing.
fn parse_only(file: &Path) -> anyhow::Result<()> {
    let text =
        std::fs::read_to_string(file).with_context(|| format!("reading {}", file.display()))?;
    match file.extension().and_then(|e| e.to_str()) {
        Some("yaml" | "yml") => validate(text.as_bytes(), &YamlLimits::default())
            .map_err(|p| anyhow::anyhow!("{}: {p:?}", file.display())),
        Some("json") => serde_json::from_str::<IgnoredAny>(&text)
            .map(drop)
            .with_context(|| format!("{}", file.display())),
        _ => bail!(
            "{}: only .yaml, .yml and .json are measured",
            file.display()
        ),
    }
}

fn timed(f: impl FnOnce() -> anyhow::Result<()>) -> anyhow::Result<Duration> {
    let start = Instant::now();
    f()?;
    Ok(start.elapsed())
}

fn best_median(times: &mut [Duration]) -> (Duration, Duration) {
    times.sort();
    (times[0], times[times.len() / 2])
}

fn ms(d: Duration) -> f64 {
    d.as_secs_f64() * 1e3
}
