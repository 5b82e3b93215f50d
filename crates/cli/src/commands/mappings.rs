//! `supra-sync mappings …`: check and explain the declarative mapping files.
//!
//! * `mappings check` — parses and validates every file of `--mappings` (no database); with
//!   `--db`, also checks tables, columns and types against the live legacy and SUPRA catalogs.
//! * `mappings explain <entity>` — where each column of an entity comes from.
//!
//! The report text and the exit status (0 fine, 1 problems found) come from
//! `supra_sync_mapping`; runtime failures (unreachable database…) exit 2 like every command.

use std::process::ExitCode;

use clap::Subcommand;
use supra_sync_mapping::CheckOutcome;

use crate::options::{GlobalOptions, Side};
use crate::output::out;

/// Mapping file commands.
#[derive(Subcommand, Debug)]
pub enum MappingsCommand {
    /// Parse and validate every mapping file; exit code 1 on any problem.
    Check {
        /// Also check tables, columns and types against both live databases.
        #[arg(long)]
        db: bool,
    },
    /// Show, column by column, where an entity's values come from.
    Explain {
        /// Entity name (the `entity` field of a mapping file, e.g. `persona`).
        entity: String,
    },
}

/// Runs one `mappings` command.
pub async fn run(global: &GlobalOptions, command: MappingsCommand) -> anyhow::Result<ExitCode> {
    let dir = &global.mappings;
    let outcome = match command {
        MappingsCommand::Check { db: false } => supra_sync_mapping::check_dir(dir),
        MappingsCommand::Check { db: true } => {
            let (_, legacy) = global.connect(Side::Legacy).await?;
            let (_, supra) = global.connect(Side::Supra).await?;
            supra_sync_mapping::check_dir_with_db(dir, &legacy, &supra).await
        }
        MappingsCommand::Explain { entity } => supra_sync_mapping::explain_dir(dir, &entity),
    };
    finish(outcome)
}

/// Prints the report and turns the outcome's status into the exit code.
fn finish(outcome: CheckOutcome) -> anyhow::Result<ExitCode> {
    out!("{}", outcome.report)?;
    Ok(match outcome.exit_code {
        0 => ExitCode::SUCCESS,
        code => ExitCode::from(u8::try_from(code).unwrap_or(1)),
    })
}
