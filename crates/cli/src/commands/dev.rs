//! `supra-sync dev …`: development helpers.
//!
//! * `dev seed` — creates the legacy schema `cf_quere_pro` in the legacy database and fills
//!   it with a deterministic, realistic fixture (see `supra-sync-fixture`).
//! * `dev migrate` — applies the SUPRA schema and the sync tables to the SUPRA database.

use std::io::IsTerminal;
use std::process::ExitCode;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use indicatif::{ProgressBar, ProgressStyle};
use supra_sync_fixture::{FixtureConfig, SeedReport};

use crate::options::{GlobalOptions, Side};
use crate::output::outln;

/// Development helpers.
#[derive(Subcommand, Debug)]
pub enum DevCommand {
    /// Create cf_quere_pro in the legacy database and seed it with a deterministic fixture.
    Seed(SeedArgs),
    /// Apply every pending SUPRA and sync migration to the SUPRA database (idempotent).
    Migrate,
}

/// Runs one `dev` command.
pub async fn run(global: &GlobalOptions, command: DevCommand) -> anyhow::Result<ExitCode> {
    match command {
        DevCommand::Seed(args) => seed(global, args).await,
        DevCommand::Migrate => migrate(global).await,
    }
}

/// `dev seed` options. Defaults reproduce seed 000's table-per-process counts.
#[derive(Args, Debug)]
pub struct SeedArgs {
    /// Service contracts ("accounts") to generate; everything else scales from it.
    #[arg(long, value_name = "N")]
    accounts: u64,
    /// Random seed: the same seed and counts give the same rows.
    #[arg(long, value_name = "S", default_value_t = 42)]
    seed: u64,
    /// `tmp_deuda_<id>` tables to create.
    #[arg(long, value_name = "N", default_value_t = supra_sync_fixture::SEED_TMP_DEUDA)]
    tmp_deuda: u32,
    /// `aux_varscreditored_<id>` tables to create.
    #[arg(long, value_name = "N", default_value_t = supra_sync_fixture::SEED_AUX_VARSCREDITORED)]
    aux_varscreditored: u32,
    /// `tmpbb_<id>` tables to create.
    #[arg(long, value_name = "N", default_value_t = supra_sync_fixture::SEED_TMPBB)]
    tmpbb: u32,
    /// How many of the table-per-process tables hold rows (in-flight processes).
    #[arg(long, value_name = "K", default_value_t = FixtureConfig::default().nonempty_transient)]
    nonempty_transient: u32,
    /// Parallel COPY connections.
    #[arg(long, value_name = "N", default_value_t = FixtureConfig::default().connections as u64, value_parser = clap::value_parser!(u64).range(1..=64))]
    connections: u64,
    /// Drop an existing cf_quere_pro (and everything in it) first.
    #[arg(long)]
    reset: bool,
}

/// `dev seed`.
async fn seed(global: &GlobalOptions, args: SeedArgs) -> anyhow::Result<ExitCode> {
    let (db, client) = global.connect(Side::Legacy).await?;
    let connect: tokio_postgres::Config = global
        .conninfo(Side::Legacy)?
        .parse()
        .context("cannot open loading connections")?;
    let config = FixtureConfig {
        accounts: args.accounts,
        seed: args.seed,
        tmp_deuda: args.tmp_deuda,
        aux_varscreditored: args.aux_varscreditored,
        tmpbb: args.tmpbb,
        nonempty_transient: args.nonempty_transient,
        connections: args.connections as usize,
        connect: Some(connect),
    };
    if supra_sync_fixture::legacy_schema_exists(&client).await? {
        if !args.reset {
            bail!(
                "{} already exists in the {}\nhint: pass --reset to drop it and seed again, or point --legacy at an empty database",
                supra_sync_fixture::LEGACY_SCHEMA,
                db.describe()
            );
        }
        supra_sync_fixture::reset_legacy_schema(&client).await?;
        outln!("dropped the existing {}", supra_sync_fixture::LEGACY_SCHEMA)?;
    }
    let started = Instant::now();
    supra_sync_fixture::apply_legacy_schema(&client).await?;
    outln!(
        "created {} in the {} in {:.1?}",
        supra_sync_fixture::LEGACY_SCHEMA,
        db.describe(),
        started.elapsed()
    )?;
    let bar = seed_progress(config.family_tables());
    let mut total: u64 = 0;
    let mut per_table: std::collections::HashMap<String, u64> = Default::default();
    let report = supra_sync_fixture::seed(&client, &config, |table, rows| {
        if table == "families" {
            bar.set_position(rows);
        } else {
            let before = per_table.insert(table.to_string(), rows).unwrap_or(0);
            total += rows.saturating_sub(before);
            bar.set_message(format!(
                "{total} rows in {} tables (last: {table})",
                per_table.len()
            ));
        }
    })
    .await;
    bar.finish_and_clear();
    print_seed_report(&report?, started.elapsed())?;
    Ok(ExitCode::SUCCESS)
}

/// A bar over the table-per-process instances with the row count as its message; hidden
/// when stderr is not a terminal.
fn seed_progress(family_tables: u64) -> ProgressBar {
    if !std::io::stderr().is_terminal() {
        return ProgressBar::hidden();
    }
    let bar = ProgressBar::new(family_tables.max(1));
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed:>4} families [{bar:24}] {pos}/{len}  {wide_msg}",
        )
        .expect("static template")
        .progress_chars("=> "),
    );
    bar.enable_steady_tick(Duration::from_millis(120));
    bar
}

/// Every table with its row count (by name), the families and the totals.
fn print_seed_report(report: &SeedReport, elapsed: Duration) -> std::io::Result<()> {
    let width = report
        .tables
        .keys()
        .map(String::len)
        .max()
        .unwrap_or(5)
        .max(5);
    outln!("{:<width$} {:>12}", "table", "rows")?;
    for (table, rows) in &report.tables {
        outln!("{table:<width$} {rows:>12}")?;
    }
    for (table, rows) in &report.families.nonempty {
        outln!("{table:<width$} {rows:>12}")?;
    }
    let families = &report.families;
    outln!(
        "families: {} tmp_deuda_*, {} aux_varscreditored_*, {} tmpbb_* ({} non-empty)",
        families.tmp_deuda,
        families.aux_varscreditored,
        families.tmpbb,
        families.nonempty.len()
    )?;
    outln!(
        "seeded {} accounts, {} persons, {} rows, {} tables in cf_quere_pro in {:.1}s ({} connection(s))",
        report.accounts,
        report.persons,
        report.total_rows(),
        report.table_count,
        elapsed.as_secs_f64(),
        report.connections
    )
}

/// `dev migrate`.
async fn migrate(global: &GlobalOptions) -> anyhow::Result<ExitCode> {
    let started = Instant::now();
    // Reaching the server first keeps an unreachable database within --connect-timeout.
    let (db, _client) = global.connect(Side::Supra).await?;
    supra_sync_postgres::migrate::migrate_supra(&db)
        .await
        .with_context(|| format!("cannot migrate the {}", db.describe()))?;
    outln!(
        "migrated the {} in {:.1?}",
        db.describe(),
        started.elapsed()
    )?;
    Ok(ExitCode::SUCCESS)
}
