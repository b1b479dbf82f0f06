//! Self-test of the rig (`scripts/rig up`): every component answers, with the behaviour baton's
//! tests rely on. Skips when the rig is not up, fails under CI.
//!
//! - `registry`: the three registries, auth, pushes, indexes, the Accept-list gotcha.
//! - `helm`: the seeded chart over HTTP and OCI, a test's own Helm repository.
//! - `git`: both git transports, the seeded repos.
//! - `postgres`: a fresh database takes queries.

use std::process::Command;

use anyhow::{Context, bail};
use testkit::rig::Rig;

mod git;
mod helm;
mod postgres;
mod registry;

/// Runs a command; its stdout (trimmed) or an error with its stderr.
fn run(cmd: &mut Command) -> anyhow::Result<String> {
    let out = cmd.output().with_context(|| format!("running {cmd:?}"))?;
    if !out.status.success() {
        bail!(
            "{cmd:?} failed ({}): {}",
            out.status,
            String::from_utf8_lossy(&out.stderr)
        );
    }
    Ok(String::from_utf8_lossy(&out.stdout).trim().to_string())
}

/// The digest skopeo reports for `reference` (`host/repo:tag`).
fn skopeo_digest(rig: &Rig, reference: &str) -> anyhow::Result<String> {
    run(Command::new(&rig.skopeo).args([
        "inspect",
        "--tls-verify=false",
        "--format",
        "{{.Digest}}",
        &format!("docker://{reference}"),
    ]))
}

fn rand_u32() -> u32 {
    rand::random()
}
