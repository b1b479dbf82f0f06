//! `baton config schema|docs`: the config file's JSON Schema (for editors and CI checks of config
//! repositories) and the reference page docs/configuration.md, both generated from the config
//! types so they cannot drift from what `baton serve` accepts.

use clap::Subcommand;

use baton_core::config::docs;

/// `baton config ...`.
#[derive(Debug, Subcommand)]
pub enum ConfigAction {
    /// Print the JSON Schema (draft 2020-12) of the config file.
    Schema,
    /// Print the Markdown reference of every key (docs/configuration.md).
    Docs,
}

/// Runs `baton config ACTION`, printing to stdout.
pub fn run(action: ConfigAction) -> anyhow::Result<()> {
    match action {
        ConfigAction::Schema => println!("{}", serde_json::to_string_pretty(&docs::schema())?),
        ConfigAction::Docs => print!("{}", docs::markdown()),
    }
    Ok(())
}
