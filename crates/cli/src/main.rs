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
mod config;
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
    /// Configuration reference: every setting, its default and environment variable.
    #[command(subcommand)]
    Config(commands::config::ConfigCommand),
    /// Check both servers and create publications, slots, origins and sync tables.
    Setup(commands::sync::SetupArgs),
    /// Remove slots and publications (so no abandoned slot retains WAL).
    Teardown(commands::sync::TeardownArgs),
    /// Queue a (re-)snapshot of entities; the running service performs it.
    Snapshot(commands::sync::SnapshotArgs),
    /// Run the always-on sync service until SIGTERM / Ctrl-C.
    Run(commands::sync::RunArgs),
    /// Embedded demo: local clusters, seeded legacy fixture, live sync you can watch.
    Demo(commands::demo::DemoArgs),
    /// Replay Kafka topics into SUPRA through the mappings (backfill, rebuild, re-process).
    #[cfg(feature = "kafka")]
    Replay(commands::replay::ReplayArgs),
    /// Cutover stage per entity (shadow, dual, supra_primary, legacy_readonly, retired).
    #[command(subcommand)]
    Stage(commands::stage::StageCommand),
    /// Compare both databases through the mappings (online); --fix re-syncs what differs.
    Reconcile(commands::reconcile::ReconcileArgs),
    /// Review and settle conflicts between legacy and SUPRA: list, show, resolve.
    #[command(subcommand)]
    Conflicts(commands::conflicts::ConflictsCommand),
    /// Browse the operation log (sync_log), e.g. the failed changes.
    Log(commands::log::LogArgs),
    /// Re-run failed changes through the current mappings.
    Retry(commands::log::RetryArgs),
    /// Both pipelines on one screen; exit code 3 when unhealthy (for scripts and probes).
    Status(commands::status::StatusArgs),
}

/// Runs one parsed command.
async fn dispatch(global: &GlobalOptions, command: Command) -> anyhow::Result<ExitCode> {
    match command {
        Command::Dev(cmd) => commands::dev::run(global, cmd).await,
        Command::Mappings(cmd) => commands::mappings::run(global, cmd).await,
        Command::Cleanup(args) => commands::cleanup::run(global, args).await,
        Command::Config(cmd) => commands::config::run(cmd),
        Command::Setup(args) => commands::sync::setup(global, args).await,
        Command::Teardown(args) => commands::sync::teardown(global, args).await,
        Command::Snapshot(args) => commands::sync::snapshot(global, args).await,
        Command::Run(args) => commands::sync::run(global, args).await,
        Command::Demo(args) => commands::demo::run(global, args).await,
        #[cfg(feature = "kafka")]
        Command::Replay(args) => commands::replay::run(global, args).await,
        Command::Stage(cmd) => commands::stage::run(global, cmd).await,
        Command::Reconcile(args) => commands::reconcile::run(global, args).await,
        Command::Conflicts(cmd) => commands::conflicts::run(global, cmd).await,
        Command::Log(args) => commands::log::run_log(global, args).await,
        Command::Retry(args) => commands::log::run_retry(global, args).await,
        Command::Status(args) => commands::status::run(global, args).await,
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
