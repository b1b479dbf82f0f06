//! `baton`: the daemon and operator CLI.

use std::process::ExitCode;

use clap::Parser;

#[tokio::main]
async fn main() -> ExitCode {
    let cli = baton::cli::Cli::parse();
    #[cfg(feature = "demo")]
    if matches!(cli.command, baton::cli::Command::Demo { .. }) {
        baton::demo::logs::init();
    }
    baton::cli::init_logging(cli.log_format);
    baton::cli::run(cli).await
}
