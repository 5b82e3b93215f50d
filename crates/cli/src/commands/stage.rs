//! `supra-sync stage …`: where each entity is in its cutover, and moving it on.
//!
//! * `stage show [--check] [--json]` — every entity's stage, direction, the conflict policy
//!   in force, who set it, when and why; `--check` adds whether the next stage's
//!   preconditions hold now, and why not.
//! * `stage set <entity> <stage> --reason …` — moves an entity; the running service applies
//!   the new stage from its next batch (no restart). A refused transition prints every failed
//!   precondition and exits 1; `--force` records it anyway, with what it overrode.
//! * `stage history <entity>` — every change with who, when and why.

use std::process::ExitCode;

use clap::Subcommand;
use supra_sync_engine::stage::transition::{self, StageError};
use supra_sync_engine::stage::{Stage, StageBook};

use crate::options::{GlobalOptions, Side};
use crate::output::outln;

/// Stage commands.
#[derive(Subcommand, Debug)]
pub enum StageCommand {
    /// Every entity's stage, direction and conflict policy in force.
    Show {
        /// Also tell whether each entity could move to its next stage now, and why not.
        #[arg(long)]
        check: bool,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// Move an entity to a stage: shadow, dual, supra_primary, legacy_readonly or retired.
    Set {
        /// Entity (the `entity` of a mapping file, e.g. `persona`).
        entity: String,
        /// Target stage.
        #[arg(value_parser = parse_stage)]
        stage: Stage,
        /// Why (recorded in the history).
        #[arg(long)]
        reason: String,
        /// Who (recorded in the history); defaults to $USER.
        #[arg(
            long,
            env = "USER",
            hide_env_values = true,
            default_value = "supra-sync"
        )]
        by: String,
        /// Record the transition even though preconditions fail (they are recorded too).
        #[arg(long)]
        force: bool,
    },
    /// The stage history of an entity, oldest first.
    History {
        /// Entity.
        entity: String,
        /// JSON instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn parse_stage(s: &str) -> Result<Stage, String> {
    s.parse()
        .map_err(|e: supra_sync_engine::stage::UnknownStage| e.to_string())
}

/// Runs one `stage` command.
pub async fn run(global: &GlobalOptions, command: StageCommand) -> anyhow::Result<ExitCode> {
    let mappings = super::sync::load_mappings(global)?;
    let (_, mut supra) = global.connect(Side::Supra).await?;
    match command {
        StageCommand::Show { check, json } => {
            let rows = transition::overview(&supra, &mappings).await?;
            let book = StageBook::load(&supra).await?;
            let mut readiness = Vec::new();
            if check {
                for e in mappings.entities() {
                    let ladder = Stage::allowed(e.direction());
                    let at = book.stage(e);
                    let next = ladder.iter().copied().find(|s| *s > at);
                    let problems = match next {
                        Some(n) => transition::check(&supra, &mappings, e, n).await?,
                        None => Vec::new(),
                    };
                    readiness.push((e.name().to_string(), next, problems));
                }
            }
            if json {
                let doc = serde_json::json!({
                    "entities": rows,
                    "next": readiness.iter().map(|(e, n, p)| serde_json::json!({
                        "entity": e, "next": n, "ready": p.is_empty(), "reasons": p,
                    })).collect::<Vec<_>>(),
                });
                outln!("{}", serde_json::to_string_pretty(&doc)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = vec![vec![
                "ENTITY".to_string(),
                "DIRECTION".into(),
                "STAGE".into(),
                "POLICY".into(),
                "SINCE".into(),
                "BY".into(),
                "REASON".into(),
            ]];
            for r in &rows {
                table.push(vec![
                    r.entity.clone(),
                    r.direction.into(),
                    if r.recorded {
                        r.stage.to_string()
                    } else {
                        format!("{} (default)", r.stage)
                    },
                    r.policy.into(),
                    r.changed_at
                        .map(|t| t.format("%Y-%m-%d %H:%M").to_string())
                        .unwrap_or_default(),
                    r.changed_by.clone().unwrap_or_default(),
                    r.reason.clone().unwrap_or_default(),
                ]);
            }
            print_table(&table)?;
            for (entity, next, problems) in &readiness {
                match (next, problems.is_empty()) {
                    (None, _) => outln!("{entity}: at its last stage")?,
                    (Some(n), true) => outln!("{entity}: ready for {n}")?,
                    (Some(n), false) => {
                        outln!("{entity}: not ready for {n}:")?;
                        for p in problems {
                            outln!("  * {p}")?;
                        }
                    }
                }
            }
            Ok(ExitCode::SUCCESS)
        }
        StageCommand::Set {
            entity,
            stage,
            reason,
            by,
            force,
        } => {
            match transition::set(&mut supra, &mappings, &entity, stage, &by, &reason, force).await
            {
                Ok(t) => {
                    outln!(
                        "{}: {} → {} (the running service applies it from its next batch)",
                        t.entity,
                        t.from,
                        t.to
                    )?;
                    for o in &t.overridden {
                        outln!("  forced past: {o}")?;
                    }
                    Ok(ExitCode::SUCCESS)
                }
                Err(e @ (StageError::Refused { .. } | StageError::Unchanged { .. })) => {
                    eprintln!("{e}");
                    if matches!(e, StageError::Refused { .. }) {
                        eprintln!(
                            "hint: fix the reasons above, or pass --force to record it anyway"
                        );
                    }
                    Ok(ExitCode::from(1))
                }
                Err(e) => Err(e.into()),
            }
        }
        StageCommand::History { entity, json } => {
            if mappings.entity(&entity).is_none() {
                anyhow::bail!("unknown entity {entity:?}");
            }
            let history = transition::history(&supra, &entity).await?;
            if json {
                outln!("{}", serde_json::to_string_pretty(&history)?)?;
                return Ok(ExitCode::SUCCESS);
            }
            let mut table = vec![vec![
                "WHEN".to_string(),
                "FROM".into(),
                "TO".into(),
                "BY".into(),
                "REASON".into(),
            ]];
            for h in history {
                table.push(vec![
                    h.changed_at.format("%Y-%m-%d %H:%M:%S").to_string(),
                    h.from.unwrap_or_else(|| "-".into()),
                    h.to,
                    h.changed_by,
                    h.reason,
                ]);
            }
            print_table(&table)?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

/// Prints rows as left-aligned columns (the last column unpadded).
pub(crate) fn print_table(rows: &[Vec<String>]) -> std::io::Result<()> {
    let columns = rows.iter().map(Vec::len).max().unwrap_or(0);
    let widths: Vec<usize> = (0..columns)
        .map(|c| {
            rows.iter()
                .filter_map(|r| r.get(c))
                .map(|s| s.chars().count())
                .max()
                .unwrap_or(0)
        })
        .collect();
    for row in rows {
        let mut line = String::new();
        for (c, cell) in row.iter().enumerate() {
            if c + 1 == row.len() {
                line.push_str(cell);
            } else {
                line.push_str(cell);
                line.push_str(&" ".repeat(widths[c] - cell.chars().count() + 2));
            }
        }
        outln!("{}", line.trim_end())?;
    }
    Ok(())
}
