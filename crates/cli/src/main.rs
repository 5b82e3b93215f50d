//! The `supra-sync` binary: argument parsing and wiring only.
//!
//! ```text
//!  argv ──clap──► Cli { global options, Command } ──dispatch──► commands::<group>::run
//!                                                                  │
//!  stderr ◄── exit::finish (error: … / hint: …, exit code) ◄───────┘
//! ```
//!
//! Each command group lives in its own module under [`commands`]; adding a group means one
//! variant in [`Command`] and one arm in [`dispatch`].

mod commands;
mod exit;
mod logging;
mod options;
mod output;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::options::GlobalOptions;

/// supra-sync keeps AquaCIS (cf_quere_pro) and SUPRA in step during the migration.
#[derive(Parser, Debug)]
#[command(name = "supra-sync", version, about, propagate_version = true)]
struct Cli {
    /// Connections, mappings and logging, shared by every command.
    #[command(flatten)]
    global: GlobalOptions,
    /// What to do.
    #[command(subcommand)]
    command: Command,
}

/// The command groups.
#[derive(Subcommand, Debug)]
enum Command {
    /// Development helpers: seed a legacy fixture, migrate a SUPRA database.
    #[command(subcommand)]
    Dev(commands::dev::DevCommand),
    /// Check and explain the mapping files.
    #[command(subcommand)]
    Mappings(commands::mappings::MappingsCommand),
    /// Legacy cleanup phases: inventory, plan, apply, verify, rollback, status, monitor.
    Cleanup(commands::cleanup::CleanupArgs),
}

/// Runs one parsed command.
async fn dispatch(global: &GlobalOptions, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Dev(cmd) => commands::dev::run(global, cmd).await,
        Command::Mappings(cmd) => commands::mappings::run(global, cmd).await,
        Command::Cleanup(args) => commands::cleanup::run(global, args).await,
    }
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    logging::init(&cli.global);
    let result = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
        .map_err(anyhow::Error::from)
        .and_then(|runtime| runtime.block_on(dispatch(&cli.global, cli.command)));
    exit::finish(result)
}
