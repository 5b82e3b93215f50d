//! `supra-sync cleanup …`: the legacy cleanup phases (seeds 000, 001/002, 004) as planned,
//! resumable, verified jobs against the legacy database.
//!
//! ```text
//!  --mappings ─► legacy tables the sync reads ─┐
//!  legacy publications ─► published tables ────┼─► CleanupConfig.protected_tables
//!  --cleanup-config FILE (TOML) ───────────────┘          │
//!                                                         ▼
//!  inventory · plan · apply (confirm, progress bar) · verify · rollback · status · monitor
//! ```
//!
//! Cleanup never touches a table the sync reads: when the mapping files cannot be loaded the
//! command refuses to run.

use std::io::{BufRead, IsTerminal, Write};
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};
use supra_sync_cleanup::{Cleanup, CleanupConfig, CleanupError, Phase, Progress, TerminalProgress};
use supra_sync_mapping::MappingSet;

use crate::options::{GlobalOptions, Side};
use crate::output::{out, outln};

/// `supra-sync cleanup [options] <command>`.
#[derive(Args, Debug)]
pub struct CleanupArgs {
    /// Cleanup settings (TOML; lock timeouts, batch sizes, approved tables…). Defaults follow
    /// the seeds.
    #[arg(long, value_name = "FILE", env = "SUPRA_SYNC_CLEANUP_CONFIG")]
    cleanup_config: Option<PathBuf>,

    /// Where rollback DDL, archives and reports are written (overrides the config file).
    #[arg(long, value_name = "DIR")]
    archive_dir: Option<PathBuf>,

    /// What to do.
    #[command(subcommand)]
    command: CleanupCommand,
}

/// The cleanup commands.
#[derive(Subcommand, Debug)]
pub enum CleanupCommand {
    /// Summarise the legacy schema by cleanup category (read-only).
    Inventory,
    /// Show what `apply` would do for a phase: statements, rows, blockers (dry run).
    Plan {
        /// Phase: 1, 2 or final.
        #[arg(value_parser = parse_phase)]
        phase: Phase,
    },
    /// Run a phase, resuming where a previous run stopped.
    Apply {
        /// Phase: 1, 2 or final.
        #[arg(value_parser = parse_phase)]
        phase: Phase,
        /// Do not ask for confirmation before destructive steps (required without a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Run a phase's acceptance checks; exit code 1 when any fails.
    Verify {
        /// Phase: 1, 2 or final.
        #[arg(value_parser = parse_phase)]
        phase: Phase,
    },
    /// Revert what `apply` recorded for a phase, newest step first.
    Rollback {
        /// Phase: 1, 2 or final.
        #[arg(value_parser = parse_phase)]
        phase: Phase,
        /// Do not ask for confirmation (required without a terminal).
        #[arg(long, short = 'y')]
        yes: bool,
    },
    /// Show every step's state and whether a run is in progress.
    Status,
    /// One re-accumulation / partition-maintenance pass; exit code 1 on an alert.
    Monitor,
}

/// Parses a phase name for clap.
fn parse_phase(text: &str) -> Result<Phase, String> {
    text.parse()
        .map_err(|_| format!("unknown phase `{text}`: phases are 1, 2 and final"))
}

/// Runs one `cleanup` command.
pub async fn run(global: &GlobalOptions, args: CleanupArgs) -> anyhow::Result<ExitCode> {
    // Prove the server is reachable (bounded by --connect-timeout) before anything else.
    let (db, client) = global.connect(Side::Legacy).await?;
    let config = config(global, &args, &client).await?;
    drop(client);
    let cleanup = Cleanup::connect(&global.conninfo(Side::Legacy)?, config)
        .await
        .with_context(|| format!("cannot start cleanup on the {}", db.describe()))?;
    match args.command {
        CleanupCommand::Inventory => print(cleanup.inventory().await?),
        CleanupCommand::Plan { phase } => print(cleanup.plan(phase).await?),
        CleanupCommand::Apply { phase, yes } => apply(&cleanup, phase, yes).await,
        CleanupCommand::Verify { phase } => verify(&cleanup, phase).await,
        CleanupCommand::Rollback { phase, yes } => rollback(&cleanup, phase, yes).await,
        CleanupCommand::Status => print(cleanup.status().await?),
        CleanupCommand::Monitor => {
            let report = cleanup.monitor().await?;
            out!("{report}")?;
            Ok(if report.alert {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            })
        }
    }
}

/// Prints a report and succeeds.
fn print(report: impl std::fmt::Display) -> anyhow::Result<ExitCode> {
    out!("{report}")?;
    Ok(ExitCode::SUCCESS)
}

/// The configuration file (or the defaults), with every table the sync reads or the legacy
/// server publishes added to `protected_tables`.
async fn config(
    global: &GlobalOptions,
    args: &CleanupArgs,
    client: &tokio_postgres::Client,
) -> anyhow::Result<CleanupConfig> {
    let mut config = match &args.cleanup_config {
        Some(path) => read_config(path)?,
        None => CleanupConfig::default(),
    };
    if let Some(dir) = &args.archive_dir {
        config.archive_dir = dir.clone();
    }
    let set = MappingSet::load_dir(&global.mappings).map_err(|diagnostics| {
        anyhow::anyhow!(
            "cannot tell which legacy tables the sync reads: the mappings in {} do not load\n{}hint: cleanup never runs without knowing them; fix the files (see `supra-sync mappings check`) or pass --mappings DIR",
            global.mappings.display(),
            diagnostics
        )
    })?;
    config.protected_tables.extend(
        set.legacy_tables()
            .iter()
            .map(|t| format!("{}.{}", t.schema, t.name)),
    );
    let published = client
        .query(
            "SELECT DISTINCT schemaname || '.' || tablename FROM pg_publication_tables",
            &[],
        )
        .await
        .context("cannot list the tables the legacy server publishes")?;
    config
        .protected_tables
        .extend(published.iter().map(|row| row.get::<_, String>(0)));
    tracing::info!(
        tables = config.protected_tables.len(),
        "protected from cleanup"
    );
    Ok(config)
}

/// Reads a TOML [`CleanupConfig`].
fn read_config(path: &Path) -> anyhow::Result<CleanupConfig> {
    let text = std::fs::read_to_string(path)
        .with_context(|| format!("cannot read the cleanup configuration {}", path.display()))?;
    toml::from_str(&text)
        .with_context(|| format!("the cleanup configuration {} is not valid", path.display()))
}

/// `cleanup apply <phase>`: plan, confirm, run with a progress bar, report.
async fn apply(cleanup: &Cleanup, phase: Phase, yes: bool) -> anyhow::Result<ExitCode> {
    let plan = cleanup.plan(phase).await?;
    let pending: Vec<_> = plan.steps.iter().filter(|s| !s.done).collect();
    let statements: usize = pending.iter().map(|s| s.statements.len()).sum();
    let frees: i64 = pending.iter().map(|s| s.freed.tables).sum();
    // Only steps that would change something need a yes; bookkeeping steps do not.
    if statements > 0 || frees > 0 {
        let summary = format!(
            "phase {phase}: {} pending step(s), {statements} statement(s); frees {}{}",
            pending.len(),
            plan.freed(),
            match plan.blockers().len() {
                0 => String::new(),
                n => format!("; {n} blocker(s) will stop their steps"),
            }
        );
        confirm(&summary, "apply", phase, yes)?;
    }
    let bar = TerminalProgress::new();
    let outcome = cleanup.apply(phase, &progress_sink(&bar)).await;
    bar.finish();
    match outcome {
        Ok(report) => print(report),
        // The steps that could run did; the rest wait for the operator.
        Err(e @ CleanupError::Incomplete { .. }) => {
            crate::exit::report(&e.into());
            Ok(ExitCode::FAILURE)
        }
        Err(e) => Err(e.into()),
    }
}

/// `cleanup verify <phase>`: one line per check, exit code 1 when any fails.
async fn verify(cleanup: &Cleanup, phase: Phase) -> anyhow::Result<ExitCode> {
    let checks = cleanup.verify(phase).await?;
    for check in &checks {
        outln!("{check}")?;
    }
    let failed = checks.iter().filter(|c| !c.passed).count();
    outln!("phase {phase}: {} check(s), {failed} failed", checks.len())?;
    Ok(if failed == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// `cleanup rollback <phase>`: confirm, replay the recorded rollback, report.
async fn rollback(cleanup: &Cleanup, phase: Phase, yes: bool) -> anyhow::Result<ExitCode> {
    confirm(
        &format!("phase {phase}: revert every step that apply recorded"),
        "roll back",
        phase,
        yes,
    )?;
    let bar = TerminalProgress::new();
    let outcome = cleanup.rollback(phase, &progress_sink(&bar)).await;
    bar.finish();
    print(outcome?)
}

/// Where progress reports go: the bar on a terminal, info-level log events otherwise.
fn progress_sink(bar: &TerminalProgress) -> impl Fn(Progress) + Send + Sync + '_ {
    let on_terminal = std::io::stderr().is_terminal();
    move |p: Progress| {
        if on_terminal {
            bar.update(&p);
        } else {
            tracing::info!(step = %p.step, done = p.done, total = p.total, "{}", p.message);
        }
    }
}

/// Asks before a destructive operation; `--yes` skips the question, and without a terminal
/// there is nobody to ask, so the command refuses.
fn confirm(summary: &str, verb: &str, phase: Phase, yes: bool) -> anyhow::Result<()> {
    if yes {
        return Ok(());
    }
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to {verb} phase {phase} without confirmation: standard input is not a terminal\ndetail: {summary}\nhint: review `supra-sync cleanup plan {phase}`, then run again with --yes"
        );
    }
    eprint!("{summary}\n{verb} phase {phase} now? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut answer)
        .context("cannot read the answer")?;
    match answer.trim().to_ascii_lowercase().as_str() {
        "y" | "yes" => Ok(()),
        _ => bail!("cancelled; nothing was changed"),
    }
}
