//! `baton pipelines render | lint | apply`.

use std::path::{Path, PathBuf};
use std::time::Duration;

use anyhow::Context as _;
use clap::Subcommand;

use baton_core::config;
use baton_core::pipelines::{self, lint};
use baton_daemon::pipelines::apply;

/// `baton pipelines ...`.
#[derive(Debug, Subcommand)]
pub enum PipelinesAction {
    /// Write `<out>/<app>/application.json` and one `<pipeline id>.json` per pipeline.
    Render {
        /// Output folder.
        #[arg(long, default_value = "spinnaker")]
        out: PathBuf,
        /// Write nothing; exit 1 if the files in `--out` differ from what would be written.
        #[arg(long)]
        check: bool,
    },
    /// Lint pipeline JSON files (default: the pipelines rendered from the config) against the
    /// events baton posts for the config; exit 1 on any finding.
    Lint {
        /// Pipeline files (one pipeline or an array each); `application.json` files are skipped.
        files: Vec<PathBuf>,
    },
    /// Save the rendered pipelines through Gate; unchanged ones are not re-saved, ones edited
    /// in Spinnaker are reported (exit 1) and kept unless `--force`.
    Apply {
        /// Overwrite pipelines edited in Spinnaker.
        #[arg(long)]
        force: bool,
        /// Save nothing; print what would happen.
        #[arg(long)]
        dry_run: bool,
        /// Timeout of each Gate request.
        #[arg(long, default_value = "30s", value_parser = humantime::parse_duration)]
        timeout: Duration,
    },
}

pub(super) async fn run(
    config_file: &Path,
    action: PipelinesAction,
    json: bool,
) -> anyhow::Result<()> {
    let loaded = config::load(config_file)?;
    let apps = pipelines::render(&loaded.config)?;
    match action {
        PipelinesAction::Render { out, check: true } => {
            let drift = pipelines::drift(&out, &apps)?;
            if !drift.is_empty() {
                anyhow::bail!(
                    "{} is out of date with {}:\n  {}\nrun `baton pipelines render --out {}`",
                    out.display(),
                    config_file.display(),
                    drift.join("\n  "),
                    out.display()
                );
            }
            println!("{} matches the config", out.display());
        }
        PipelinesAction::Render { out, check: false } => {
            for path in pipelines::write(&out, &apps)? {
                println!("wrote {}", path.display());
            }
        }
        PipelinesAction::Lint { files } => {
            let files: Vec<PathBuf> = files
                .into_iter()
                .filter(|f| {
                    f.file_name()
                        .is_none_or(|n| n != pipelines::APPLICATION_FILE)
                })
                .collect();
            let configs = if files.is_empty() {
                apps.iter().flat_map(|a| a.pipelines.clone()).collect()
            } else {
                lint::read_files(&files)?
            };
            let findings = lint::lint_against(&loaded.config, &configs)?;
            if json {
                let list: Vec<_> = findings
                    .iter()
                    .map(|f| {
                        serde_json::json!({
                            "pipeline": f.pipeline, "path": f.path, "message": f.message, "fix": f.fix,
                        })
                    })
                    .collect();
                println!(
                    "{}",
                    serde_json::json!({"pipelines": configs.len(), "findings": list})
                );
            } else {
                for f in &findings {
                    println!("{f}");
                }
            }
            if !findings.is_empty() {
                anyhow::bail!(
                    "{} lint finding(s) in {} pipeline(s)",
                    findings.len(),
                    configs.len()
                );
            }
            if !json {
                println!("{} pipeline(s): no findings", configs.len());
            }
        }
        PipelinesAction::Apply {
            force,
            dry_run,
            timeout,
        } => {
            let configs: Vec<_> = apps.iter().flat_map(|a| a.pipelines.clone()).collect();
            let findings = lint::lint_against(&loaded.config, &configs)?;
            if !findings.is_empty() {
                for f in &findings {
                    eprintln!("{f}");
                }
                anyhow::bail!("not applying: the rendered pipelines have lint findings");
            }
            let gate = apply::gate_client(&loaded, timeout)?;
            let report = apply::apply(&gate, &apps, apply::Options { force, dry_run })
                .await
                .context("applying pipelines")?;
            if !dry_run && let Some(w) = apply::record_saves(&loaded, &report).await {
                eprintln!("warning: {w}");
            }
            let prefix = if dry_run { "(dry run) " } else { "" };
            for line in &report {
                println!("{prefix}{line}");
            }
            let drifted = report
                .iter()
                .filter(|r| matches!(r.outcome, apply::Outcome::Drifted(_)))
                .count();
            if drifted > 0 {
                anyhow::bail!("{drifted} pipeline(s) edited in Spinnaker were not overwritten");
            }
        }
    }
    Ok(())
}
