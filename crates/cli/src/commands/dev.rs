//! `supra-sync dev …`: development helpers.
//!
//! * `dev migrate` — applies the SUPRA schema and the sync tables to the SUPRA database.

use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Subcommand;

use crate::options::{GlobalOptions, Side};

/// Development helpers.
#[derive(Subcommand, Debug)]
pub enum DevCommand {
    /// Apply every pending SUPRA and sync migration to the SUPRA database (idempotent).
    Migrate,
}

/// Runs one `dev` command.
pub async fn run(global: &GlobalOptions, command: DevCommand) -> anyhow::Result<ExitCode> {
    match command {
        DevCommand::Migrate => migrate(global).await,
    }
}

/// `dev migrate`.
async fn migrate(global: &GlobalOptions) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // Reaching the server first keeps an unreachable database within --connect-timeout.
    let (db, _client) = global.connect(Side::Supra).await?;
    supra_sync_postgres::migrate::migrate_supra(&db)
        .await
        .with_context(|| format!("cannot migrate the {}", db.describe()))?;
    println!(
        "migrated the {} in {:.1?}",
        db.describe(),
        started.elapsed()
    );
    Ok(ExitCode::SUCCESS)
}
