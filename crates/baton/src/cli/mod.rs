//! The `baton` command line: `serve`, `check`, the operator verbs that talk to a daemon's
//! HTTP API (`status`, `sync`, `rebuild`, `promote`, `outbox`, `events`), the one-shot source
//! probes (`probe`) and `completions`.

mod check;
pub mod client;
pub mod config;
pub mod matrix;
pub mod pipelines;
mod probe;
mod serve;
mod signals;
mod sources;
mod status;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use clap::{Parser, Subcommand};

/// Hands work from Jenkins to Spinnaker for Kubernetes delivery.
#[derive(Debug, Parser)]
#[command(
    name = "baton",
    version,
    about,
    long_about = "Hands work from Jenkins to Spinnaker for Kubernetes delivery.\n\n\
        `baton serve` runs the daemon; the operator verbs (status, sync, rebuild, promote, \
        outbox, events) talk to a daemon's HTTP API: --server URL (or BATON_SERVER) and the \
        token in BATON_TOKEN.",
    after_help = "Examples:\n  baton check --config baton.yaml\n  baton serve --config baton.yaml\n  \
        BATON_TOKEN=... baton status --server http://baton:8080\n  \
        baton status micro-gw --output json\n  \
        baton promote micro-gw staging --input 'release 3.0.1'\n  \
        baton completions bash > /etc/bash_completion.d/baton"
)]
pub struct Cli {
    /// The config file: YAML, TOML or JSON, by its extension.
    #[arg(
        long,
        global = true,
        env = "BATON_CONFIG",
        default_value = "baton.yaml"
    )]
    pub config: PathBuf,
    /// Log format on stderr: text, or json (one JSON object per line).
    #[arg(long, global = true, value_enum, default_value_t = LogFormat::Text, env = "BATON_LOG_FORMAT")]
    pub log_format: LogFormat,
    /// How reading verbs (status, events, explain, outbox list, check, probe, pipelines lint)
    /// print: table (text for people), or json (for scripts; the API's JSON unchanged where
    /// the verb asks the daemon).
    #[arg(long, global = true, value_enum, default_value_t = Output::Table, env = "BATON_OUTPUT")]
    pub output: Output,
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// `--log-format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum LogFormat {
    /// Human-readable lines.
    Text,
    /// One JSON object per line, with span fields (request id, method, path).
    Json,
}

/// `--output`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Output {
    /// Text for people: tables and lines.
    #[value(alias = "text")]
    Table,
    /// JSON for scripts.
    Json,
}

/// Subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Run the daemon: HTTP API and outbox delivery.
    Serve {
        /// How long shutdown waits for in-flight work before exiting.
        #[arg(long, default_value = "20s", value_parser = humantime::parse_duration)]
        drain: Duration,
        /// Folder for the git and chart caches (rebuilt when lost); each running replica takes
        /// its own `replica-N` folder in it. Default: `cache/` next to a SQLite state file,
        /// else a folder in the system's temporary folder.
        #[arg(long, env = "BATON_CACHE_DIR")]
        cache_dir: Option<PathBuf>,
        /// Once every task runs, write the bound address (`IP:PORT`) to this file, and the
        /// probe listener's on a second line when `api.probe_listen` is set: a readiness
        /// signal for supervisors and tests (the file is replaced atomically).
        #[arg(long)]
        ready_file: Option<PathBuf>,
    },
    /// Validate the config and probe what can be probed; exit 1 on any failure.
    Check {
        /// Only the config, its secret files and a SQLite state file: no network, no PostgreSQL.
        #[arg(long)]
        offline: bool,
    },
    /// Show what was delivered, images, and outbox counts; with PRODUCT, its environment
    /// matrix: what runs where, what waits for a judgment, and whether each environment may be
    /// promoted now (and why not).
    Status {
        /// The daemon to talk to.
        #[command(flatten)]
        server: client::Server,
        /// Only this product's environment matrix.
        product: Option<String>,
        /// Print the daemon's JSON (same as --output json).
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
        /// Sync the values files at this commit of the chart source's branch (full or
        /// abbreviated id) instead of at its head; a commit not on the branch is refused. It
        /// does not pin the branch: the next check follows the head again.
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
        /// Print the daemon's JSON (same as --output json).
        #[arg(long)]
        json: bool,
    },
    /// For the newest change of each source of PRODUCT: delivered, or why not.
    Explain {
        /// The daemon to talk to.
        #[command(flatten)]
        server: client::Server,
        /// Product name.
        product: String,
        /// Print the daemon's JSON (same as --output json).
        #[arg(long)]
        json: bool,
    },
    /// Spinnaker pipeline JSON from the config: render, lint, apply.
    Pipelines {
        /// What to do.
        #[command(subcommand)]
        action: pipelines::PipelinesAction,
    },
    /// Give the manual judgment ENV's pipeline of PRODUCT waits in (continue, or --stop).
    ///
    /// Continuing is refused while the environment before ENV (in the product's
    /// `environments:` order) has no SUCCEEDED execution of the same chart digest (and image
    /// digest, for image events), whatever the values; --force overrides and is recorded.
    Promote {
        /// The daemon to talk to.
        #[command(flatten)]
        server: client::Server,
        /// Product name.
        product: String,
        /// Environment name, e.g. staging or prod.
        env: String,
        /// Stop the pipeline instead: the judgment stage and the execution end TERMINAL.
        #[arg(long)]
        stop: bool,
        /// Text recorded as the judgment input.
        #[arg(long)]
        input: Option<String>,
        /// Continue even if the environment before has not succeeded with the same artifact.
        #[arg(long)]
        force: bool,
    },
    /// The config file's JSON Schema and reference, generated from the config types.
    Config {
        /// What to print.
        #[command(subcommand)]
        action: config::ConfigAction,
    },
    /// One-shot source checks with the daemon's code: image digests, a chart, a git head.
    Probe(sources::ProbeArgs),
    /// Print a shell completion script (bash, zsh, fish, elvish or powershell) to stdout.
    Completions {
        /// The shell.
        shell: clap_complete::Shell,
    },
    /// Walk through the whole hand-off on this machine, no external services needed: a
    /// values change deployed to dev, staging promoted, a moved base image rebuilt. Prints
    /// the dashboard's URL; with --keep it keeps serving it after the walkthrough.
    Demo {
        /// Keep the daemon, its dashboard and the stand-ins running after the walkthrough,
        /// until ctrl-c.
        #[arg(long)]
        keep: bool,
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
        /// Only pending, delivered, dead or superseded records.
        #[arg(long)]
        state: Option<String>,
        /// Print the daemon's JSON (same as --output json).
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
    let as_json = cli.output == Output::Json;
    let result = match cli.command {
        Command::Serve {
            drain,
            cache_dir,
            ready_file,
        } => {
            let args = serve::ServeArgs {
                drain,
                cache_dir,
                ready_file,
            };
            serve::run(&cli.config, args).await
        }
        Command::Check { offline } => return check::run(&cli.config, offline, as_json).await,
        Command::Status {
            server,
            product,
            json,
        } => {
            let json = json || as_json;
            match product {
                Some(p) => client::environments(&server, &p, json).await,
                None => client::status(&server, json).await,
            }
        }
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
        Command::Promote {
            server,
            product,
            env,
            stop,
            input,
            force,
        } => client::promote(&server, &product, &env, stop, input, force).await,
        Command::Completions { shell } => {
            print!("{}", completions(shell));
            Ok(())
        }
        #[cfg(feature = "demo")]
        Command::Demo { keep } => crate::demo::run(keep).await,
        #[cfg(not(feature = "demo"))]
        Command::Demo { .. } => Err(anyhow::anyhow!(
            "this baton was built without the `demo` feature (release images leave the \
             stand-ins out); run the demo from a checkout: cargo run -p baton -- demo"
        )),
        Command::Config { action } => config::run(action),
        Command::Probe(args) => sources::run(&cli.config, args, as_json).await,
        Command::Outbox { server, action } => client::outbox(&server, action, as_json).await,
        Command::Pipelines { action } => pipelines::run(&cli.config, action, as_json).await,
        Command::Events {
            server,
            product,
            json,
        } => client::events(&server, product.as_deref(), json || as_json).await,
        Command::Explain {
            server,
            product,
            json,
        } => client::explain(&server, &product, json || as_json).await,
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}

/// The completion script of `shell` for `baton`.
pub fn completions(shell: clap_complete::Shell) -> String {
    use clap::CommandFactory;
    let mut out = Vec::new();
    clap_complete::generate(shell, &mut Cli::command(), "baton", &mut out);
    String::from_utf8_lossy(&out).into_owned()
}

/// Sets up logging to stderr (`RUST_LOG` filters; default `info`), unless a subscriber is
/// already set (the demo sets its own).
pub fn init_logging(format: LogFormat) {
    let json = format == LogFormat::Json;
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
        let _ = builder.json().try_init();
    } else {
        let _ = builder.try_init();
    }
}
