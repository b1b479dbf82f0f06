//! `fake-jenkins`: runs the Jenkins stand-in as a server.
//!
//! ```text
//! fake-jenkins --listen 127.0.0.1:8081 --spec crates/testkit/examples/fake-jenkins.yaml
//! ```
//! It prints `fake-jenkins listening on <url>` once ready and stops on Ctrl-C or SIGTERM.
//! Without `--spec` it serves one user `baton` (token from `--token`, default `baton-token`)
//! and a job `demo/image-build` with a `BASE_DIGEST` string parameter.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;
use clap::Parser;
use testkit::jenkins::{BuildScript, FakeJenkins, JobSpec, ParamSpec, ServerSpec, UserSpec};

/// Command line.
#[derive(Debug, Parser)]
#[command(
    name = "fake-jenkins",
    about = "Jenkins stand-in for tests, demos and manual trials"
)]
struct Args {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081")]
    listen: SocketAddr,
    /// YAML or JSON file with users and jobs (see testkit::jenkins::spec).
    #[arg(long)]
    spec: Option<PathBuf>,
    /// API token of user `baton` when no --spec is given.
    #[arg(
        long,
        env = "FAKE_JENKINS_TOKEN",
        default_value = "baton-token",
        hide_env_values = true
    )]
    token: String,
}

fn default_spec(token: &str) -> ServerSpec {
    ServerSpec {
        users: vec![UserSpec::new("baton", token)],
        jobs: vec![
            JobSpec::new("demo/image-build")
                .param(ParamSpec::string("BASE_DIGEST", ""))
                .quiet_period(Duration::from_secs(1))
                .script(
                    BuildScript::new(Duration::from_secs(5), "SUCCESS").console(&[
                        "Pulling base image",
                        "Building",
                        "Pushing image",
                    ]),
                ),
        ],
        ..ServerSpec::default()
    }
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let spec = match &args.spec {
        Some(path) => ServerSpec::from_file(path)?,
        None => default_spec(&args.token),
    };
    let jenkins = FakeJenkins::builder()
        .spec(spec)
        .bind(args.listen)
        .await
        .with_context(|| format!("--listen {}", args.listen))?;
    println!("fake-jenkins listening on {}", jenkins.url());
    shutdown_signal().await;
    jenkins.shutdown().await;
    Ok(())
}

async fn shutdown_signal() {
    #[cfg(unix)]
    {
        let mut term =
            match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
                Ok(s) => s,
                Err(_) => {
                    let _ = tokio::signal::ctrl_c().await;
                    return;
                }
            };
        tokio::select! {
            _ = tokio::signal::ctrl_c() => {}
            _ = term.recv() => {}
        }
    }
    #[cfg(not(unix))]
    {
        let _ = tokio::signal::ctrl_c().await;
    }
}
