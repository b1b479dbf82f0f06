//! `baton check`: config, secrets and state store, as a table (or `--output json`); exit 1 on
//! any failure.
//!
//! Then, unless `--offline`, the state store and every endpoint the config names are probed
//! (see [`super::probe`]); an unreachable or refusing endpoint is a failure.
//!
//! `--offline` checks only what needs no network: the config, its secret files and a SQLite
//! state file (a PostgreSQL store is neither opened nor probed), e.g. for a config rendered into
//! a ConfigMap.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use baton_core::config::{self, Loaded, secrets::Secrets};
use baton_daemon::store::{Store, redact};

#[derive(PartialEq)]
enum Outcome {
    Ok,
    Fail,
    Skip,
}

struct Row {
    check: String,
    target: String,
    outcome: Outcome,
    note: String,
}

pub(super) async fn run(config_file: &Path, offline: bool, json: bool) -> ExitCode {
    let mut rows = Vec::new();
    let mut row = |check: &str, target: &str, outcome: Outcome, note: String| {
        // Every cell goes through the one redaction helper: targets are config URLs, notes
        // carry error texts that may quote them.
        rows.push(Row {
            check: check.into(),
            target: baton_http::redact::text(target),
            outcome,
            note: baton_http::redact::text(&note),
        });
    };
    let file = config_file.display().to_string();
    match config::load(config_file) {
        Err(e) => {
            for p in &e.problems {
                let at = if p.path.is_empty() {
                    file.clone()
                } else {
                    format!("{file}: {}", p.path)
                };
                row("config", &at, Outcome::Fail, p.message.clone());
            }
        }
        Ok(loaded) => {
            row(
                "config",
                &file,
                Outcome::Ok,
                format!("{} product(s)", loaded.config.products.len()),
            );
            let secrets = match Secrets::load(&loaded) {
                Ok(s) => {
                    row("secrets", "*_file", Outcome::Ok, "all readable".into());
                    Some(s)
                }
                Err(e) => {
                    for p in &e.problems {
                        row("secrets", &p.path, Outcome::Fail, p.message.clone());
                    }
                    None
                }
            };
            let state = &loaded.config.state;
            // A SQLite file is local: probing it (read-only) needs no network.
            if offline && state.sqlite_file().is_none() {
                row(
                    "state store",
                    &state.to_string(),
                    Outcome::Skip,
                    "not probed (--offline)".into(),
                );
            } else {
                probe_store(&state.connect_url(), &mut row).await;
            }
            match (&secrets, offline) {
                (Some(secrets), false) => {
                    for (check, target, result) in super::probe::all(&loaded, secrets).await {
                        match result {
                            Ok(note) => row(check, &target, Outcome::Ok, note),
                            Err(problem) => row(check, &target, Outcome::Fail, problem),
                        }
                    }
                }
                (_, offline) => {
                    let why = if offline {
                        "not probed: --offline"
                    } else {
                        "not probed: fix the secrets first"
                    };
                    for (check, target) in endpoints(&loaded) {
                        row(check, &target, Outcome::Skip, why.into());
                    }
                }
            }
        }
    }
    if json {
        print_json(&rows);
    } else {
        print_table(&rows);
    }
    if rows.iter().any(|r| r.outcome == Outcome::Fail) {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    }
}

async fn probe_store(state: &str, row: &mut impl FnMut(&str, &str, Outcome, String)) {
    match Store::probe(state, Duration::from_secs(5)).await {
        Ok(None) => row(
            "state store",
            &redact(state),
            Outcome::Ok,
            "file will be created by serve".into(),
        ),
        Ok(Some(v)) => row(
            "state store",
            &redact(state),
            Outcome::Ok,
            format!("reachable, schema version {v}"),
        ),
        Err(e) => row("state store", &redact(state), Outcome::Fail, e.to_string()),
    }
}

fn endpoints(l: &Loaded) -> Vec<(&'static str, String)> {
    let c = &l.config;
    let mut out = Vec::new();
    if let Some(j) = &c.jenkins {
        out.push(("jenkins", j.url.to_string()));
    }
    if let Some(s) = &c.spinnaker {
        out.push(("gate", s.gate_url.to_string()));
    }
    for r in &c.registries {
        out.push(("registry", r.host.clone()));
    }
    for p in &c.products {
        if let Some(ch) = &p.chart {
            out.push(("helm repo", ch.repository.to_string()));
        }
        if let Some(cs) = &p.chart_source {
            out.push(("git remote", cs.git.to_string()));
        }
        for i in &p.images {
            if let Some(a) = &i.artifact_source {
                out.push(("git remote", a.git.to_string()));
            }
        }
    }
    out.sort();
    out.dedup();
    out
}

impl Outcome {
    fn word(&self) -> &'static str {
        match self {
            Outcome::Ok => "ok",
            Outcome::Fail => "FAIL",
            Outcome::Skip => "skip",
        }
    }
}

/// `--output json`: one object per check, `result` as in the table (`ok`, `FAIL`, `skip`).
fn print_json(rows: &[Row]) {
    let rows: Vec<_> = rows
        .iter()
        .map(|r| {
            serde_json::json!({
                "check": r.check, "target": r.target, "result": r.outcome.word(), "note": r.note,
            })
        })
        .collect();
    println!("{}", serde_json::json!({ "checks": rows }));
}

fn print_table(rows: &[Row]) {
    let w0 = rows.iter().map(|r| r.check.len()).max().unwrap_or(0).max(5);
    let w1 = rows
        .iter()
        .map(|r| r.target.len())
        .max()
        .unwrap_or(0)
        .max(6);
    println!("{:w0$}  {:w1$}  {:6}  NOTE", "CHECK", "TARGET", "RESULT");
    for r in rows {
        let result = r.outcome.word();
        println!("{:w0$}  {:w1$}  {result:6}  {}", r.check, r.target, r.note);
    }
}
