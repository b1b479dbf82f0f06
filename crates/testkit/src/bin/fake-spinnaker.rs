//! `fake-spinnaker`: runs the Spinnaker stand-in (Gate + Echo + the parts of Orca baton
//! observes) as a server until Ctrl-C. See `crates/testkit/SPINNAKER.md`.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::Parser;
use testkit::spinnaker::FakeSpinnaker;

/// Spinnaker stand-in for baton tests and demos.
#[derive(Debug, Parser)]
#[command(version)]
struct Args {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8084")]
    listen: SocketAddr,
    /// Pipeline config JSON files (one config or a list per file); may repeat.
    #[arg(long = "pipelines")]
    pipelines: Vec<PathBuf>,
    /// Milliseconds between accepting a webhook and matching it (Echo handles events asynchronously).
    #[arg(long, default_value_t = 500)]
    match_delay_ms: u64,
    /// Milliseconds between Echo's pipeline cache polls (Echo's
    /// `front50.polling-interval-ms`); pipelines saved through Gate are matched after the next.
    #[arg(long, default_value_t = 30_000)]
    cache_refresh_ms: u64,
    /// Require credentials for webhooks (Gate's `security.webhooks.default-auth-enabled`).
    #[arg(long)]
    webhook_auth: bool,
    /// Milliseconds each bake/deploy stage runs.
    #[arg(long, default_value_t = 200)]
    stage_duration_ms: u64,
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    tracing_subscriber::fmt()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .init();
    let args = Args::parse();
    let mut builder = FakeSpinnaker::builder()
        .match_delay(Duration::from_millis(args.match_delay_ms))
        .cache_refresh(Duration::from_millis(args.cache_refresh_ms))
        .webhook_auth(args.webhook_auth)
        .stage_duration(Duration::from_millis(args.stage_duration_ms));
    for file in &args.pipelines {
        builder = builder
            .pipelines_from_file(file)
            .map_err(anyhow::Error::msg)?;
    }
    let listener = tokio::net::TcpListener::bind(args.listen)
        .await
        .map_err(|e| anyhow::anyhow!("cannot listen on {}: {e}", args.listen))?;
    let fake = builder.start(listener).await?;
    println!("fake-spinnaker: Gate at {}", fake.url());
    tokio::signal::ctrl_c().await?;
    fake.shutdown().await;
    Ok(())
}
