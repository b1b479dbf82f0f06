//! `baton`: the daemon and operator CLI.

use clap::Parser;

/// Hands work from Jenkins to Spinnaker for Kubernetes delivery.
#[derive(Parser, Debug)]
#[command(name = "baton", version, about)]
struct Cli {}

fn main() -> anyhow::Result<()> {
    let _cli = Cli::parse();
    Ok(())
}
