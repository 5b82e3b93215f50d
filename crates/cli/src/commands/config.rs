//! `supra-sync config reference`: every setting of this build with its default and
//! environment variable — the text of `docs/CONFIG.md`, generated from the config structs.

use std::process::ExitCode;

use clap::Subcommand;

/// Configuration helpers.
#[derive(Subcommand, Debug)]
pub enum ConfigCommand {
    /// Print every setting with its default and environment variable (Markdown).
    Reference,
}

/// Runs one `config` command.
pub fn run(command: ConfigCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConfigCommand::Reference => {
            print!("{}", crate::config::reference()?);
            Ok(ExitCode::SUCCESS)
        }
    }
}
