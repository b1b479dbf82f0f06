//! The `baton` command line: `serve`, `check`, and the operator verbs that talk to a daemon's
//! HTTP API (`status`, `sync`, `rebuild`).

mod check;
pub mod client;
mod probe;
mod serve;
mod signals;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Hands work from Jenkins to Spinnaker for Kubernetes delivery.
#[derive(Debug, Parser)]
#[command(name = "baton", version, about)]
pub struct Cli {
    /// The config file (YAML or TOML).
    #[arg(
        long,
        global = true,
        env = "BATON_CONFIG",
        default_value = "baton.yaml"
    )]
    pub config: PathBuf,
    /// Log as JSON lines instead of text.
    #[arg(long, global = true)]
    pub log_json: bool,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: HTTP API and outbox delivery.
    Serve {
        /// How long shutdown waits for in-flight work before exiting.
        #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
        drain: Duration,
        /// Folder for the git and chart caches (rebuilt when lost). Default: `cache/` next to
        /// a SQLite state file, else a folder in the system's temporary folder.
        #[arg(long, env = "BATON_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
    },
    /// Validate the config and probe what can be probed; exit 1 on any failure.
    Check {
        /// Skip the network probes (Jenkins, Gate, registries, git remotes, Helm repos).
        #[arg(long)]
        offline: bool,
    },
    /// Show what was delivered, images, and outbox counts.
    Status {
        /// The daemon to talk to.
        #[command(flatten)]
        server: client::Server,
        /// Print the daemon's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Run the chart sync of PRODUCT now.
    Sync {
        /// The daemon to talk to.
        #[command(flatten)]
        server: client::Server,
        /// Product name.
        product: String,
        /// Deliver even if this content was delivered before.
        #[arg(long)]
        force: bool,
        /// Sync to this commit instead of the branch head.
        #[arg(long)]
        commit: Option<String>,
    },
    /// List, retry or drop outbox records.
    Outbox {
        /// The daemon to talk to.
        #[command(flatten)]
        server: client::Server,
        /// What to do.
        #[command(subcommand)]
        action: OutboxAction,
    },
    /// History with correlation ids (commit/digest -> queue item -> build -> execution).
    Events {
        /// The daemon to talk to.
        #[command(flatten)]
        server: client::Server,
        /// Only this product.
        product: Option<String>,
        /// Print the daemon's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Trigger the Jenkins build of IMAGE of PRODUCT now.
    Rebuild {
        /// The daemon to talk to.
        #[command(flatten)]
        server: client::Server,
        /// Product name.
        product: String,
        /// Image name.
        image: String,
    },
}

/// `baton outbox ...`.
#[derive(Debug, Subcommand)]
pub enum OutboxAction {
    /// Records, newest first.
    List {
        /// Only pending, delivered or dead records.
        #[arg(long)]
        state: Option<String>,
        /// Print the daemon's JSON.
        #[arg(long)]
        json: bool,
    },
    /// Make a dead record due again now, with a fresh attempt budget.
    Retry {
        /// Record id.
        id: i64,
    },
    /// Forget a pending or dead record.
    Drop {
        /// Record id.
        id: i64,
    },
}

/// Runs the parsed command line; the exit code says whether it worked.
pub async fn run(cli: Cli) -> ExitCode {
    let result = match cli.command {
        Command::Serve { drain, cache_dir } => serve::run(&cli.config, drain, cache_dir).await,
        Command::Check { offline } => return check::run(&cli.config, offline).await,
        Command::Status { server, json } => client::status(&server, json).await,
        Command::Sync {
            server,
            product,
            force,
            commit,
        } => client::sync(&server, &product, force, commit).await,
        Command::Rebuild {
            server,
            product,
            image,
        } => client::rebuild(&server, &product, &image).await,
        Command::Outbox { server, action } => client::outbox(&server, action).await,
        Command::Events {
            server,
            product,
            json,
        } => client::events(&server, product.as_deref(), json).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// Sets up logging to stderr (`RUST_LOG` filters; default `info`).
pub fn init_logging(json: bool) {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr)
        // When stderr is gone (its reader exited), drop log lines instead of reporting the
        // failure with eprintln!, which panics and would kill the task that logged.
        .log_internal_errors(false)
        .with_ansi(std::io::IsTerminal::is_terminal(&std::io::stderr()));
    if json {
        builder.json().init();
    } else {
        builder.init();
    }
}
