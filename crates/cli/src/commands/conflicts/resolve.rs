//! `conflicts resolve`: one conflict by id, or every open conflict matching a filter (after a
//! confirmation, or `--yes`). `--dry-run` prints the statements and the rows before and after
//! without changing anything.

use std::io::{BufRead, IsTerminal, Write};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{ArgGroup, Args};
use serde_json::Value as Json;
use supra_sync_engine::resolve::conflicts;
use supra_sync_engine::resolve::execute::{self, ResolveOptions, ResolveOutcome};
use supra_sync_engine::resolve::{Choice, MergeSpec, Operator};

use super::{FilterArgs, ServiceConfig, operator};
use crate::commands::table::{Paint, cell};
use crate::options::GlobalOptions;
use crate::output::{out, outln};

/// `conflicts resolve`.
#[derive(Args, Debug)]
#[command(group(ArgGroup::new("choice").required(true).args(["legacy_wins", "supra_wins", "merge"])))]
pub struct ResolveArgs {
    /// Conflict id (or a unique prefix). Without it, every open conflict matching the filter
    /// flags is resolved the same way.
    id: Option<String>,
    /// Keep the legacy version: write it to SUPRA through the mapping.
    #[arg(long)]
    legacy_wins: bool,
    /// Keep the SUPRA version: write it to legacy through the reverse mapping.
    #[arg(long)]
    supra_wins: bool,
    /// Column by column: `column=side,…` (SUPRA or legacy column names; `*=side` for the
    /// rest), or a file holding the same one item per line.
    #[arg(long, value_name = "SPEC|FILE")]
    merge: Option<String>,
    /// Who resolves (stored in sync_conflicts.resolved_by); default $USER.
    #[arg(long, value_name = "NAME")]
    by: Option<String>,
    /// Why (stored in sync_conflicts.resolution_note).
    #[arg(long, value_name = "TEXT")]
    note: Option<String>,
    /// Print the statements and the rows before/after; change nothing.
    #[arg(long)]
    dry_run: bool,
    #[command(flatten)]
    filter: FilterArgs,
    /// Bulk: every open conflict (when no other filter is given).
    #[arg(long)]
    all: bool,
    /// Bulk: do not ask for confirmation.
    #[arg(long)]
    yes: bool,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    service: ServiceConfig,
}

fn choice(args: &ResolveArgs) -> anyhow::Result<Choice> {
    Ok(match (&args.merge, args.legacy_wins, args.supra_wins) {
        (Some(spec), _, _) => {
            let text = if Path::new(spec).is_file() {
                std::fs::read_to_string(spec)
                    .with_context(|| format!("reading the merge file {spec}"))?
            } else {
                spec.clone()
            };
            Choice::Merge(MergeSpec::parse(&text)?)
        }
        (None, true, _) => Choice::LegacyWins,
        (None, _, true) => Choice::SupraWins,
        _ => bail!("choose --legacy-wins, --supra-wins or --merge"),
    })
}

/// Runs `conflicts resolve`.
pub async fn run(global: &GlobalOptions, args: ResolveArgs) -> anyhow::Result<ExitCode> {
    let choice = choice(&args)?;
    let by = args
        .by
        .clone()
        .or_else(|| std::env::var("USER").ok())
        .filter(|b| !b.trim().is_empty())
        .context("who is resolving? pass --by NAME (or set USER)")?;
    let opts = ResolveOptions {
        choice,
        by,
        note: args.note.clone(),
        dry_run: args.dry_run,
    };
    let mut op = operator(global, args.service.config.as_deref()).await?;
    let paint = Paint::detect();
    if let Some(id) = &args.id {
        let outcome = execute::resolve(&mut op, id, &opts).await?;
        print(&outcome, args.json, paint)?;
        return Ok(ExitCode::SUCCESS);
    }
    let f = &args.filter;
    if !args.all && f.entity.is_none() && f.conflict_type.is_none() && f.older_than.is_none() {
        bail!(
            "give a conflict id, or select conflicts with --entity / --type / --older-than (or --all)"
        );
    }
    bulk(&mut op, &args, &opts, paint).await
}

async fn bulk(
    op: &mut Operator,
    args: &ResolveArgs,
    opts: &ResolveOptions,
    paint: Paint,
) -> anyhow::Result<ExitCode> {
    let ids = conflicts::open_ids(&op.supra, &args.filter.filter()).await?;
    if ids.is_empty() {
        outln!("no open conflicts match")?;
        return Ok(ExitCode::SUCCESS);
    }
    if !opts.dry_run && !args.yes && !confirm(ids.len(), opts.choice.resolution())? {
        outln!("nothing was changed")?;
        return Ok(ExitCode::from(1));
    }
    let mut failed = 0;
    for id in ids {
        match execute::resolve(op, &id.to_string(), opts).await {
            Ok(outcome) => print(&outcome, args.json, paint)?,
            Err(e) => {
                failed += 1;
                let first = e.to_string();
                let first = first.lines().next().unwrap_or_default();
                if args.json {
                    outln!(
                        "{}",
                        serde_json::json!({"conflict": id, "error": e.to_string()})
                    )?;
                } else {
                    outln!("{} {id}: {first}", paint.red("not resolved"))?;
                }
            }
        }
    }
    if failed > 0 {
        eprintln!("{failed} conflict(s) were not resolved (see above); the others were");
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Asks on the terminal; refuses without one.
fn confirm(n: usize, resolution: &str) -> anyhow::Result<bool> {
    if !std::io::stdin().is_terminal() {
        bail!(
            "refusing to resolve {n} conflict(s) without confirmation\nhint: review them with `supra-sync conflicts list`, then pass --yes"
        );
    }
    eprint!("resolve {n} open conflict(s) as {resolution}? [y/N] ");
    std::io::stderr().flush().ok();
    let mut answer = String::new();
    std::io::stdin().lock().read_line(&mut answer)?;
    Ok(matches!(
        answer.trim().to_ascii_lowercase().as_str(),
        "y" | "yes"
    ))
}

fn print(o: &ResolveOutcome, json: bool, paint: Paint) -> anyhow::Result<()> {
    if json {
        outln!(
            "{}",
            serde_json::to_string_pretty(o).context("encoding JSON")?
        )?;
        return Ok(());
    }
    let head = format!("conflict {} ({} {})", o.conflict, o.entity, o.entity_id);
    if o.dry_run {
        outln!(
            "{} {head} would be resolved as {}",
            paint.yellow("dry run — nothing was changed:"),
            o.resolution
        )?;
        outln!()?;
        for stmt in o.plan.statements.iter().chain(&o.bookkeeping) {
            outln!("{stmt}")?;
        }
        outln!()?;
        out!(
            "{}",
            changes("legacy", &o.plan.legacy_before, &o.plan.legacy_after)
        )?;
        out!(
            "{}",
            changes("SUPRA", &o.plan.supra_before, &o.plan.supra_after)
        )?;
        if o.held > 0 {
            outln!("then {} held change(s) would be released in order", o.held)?;
        }
        return Ok(());
    }
    outln!("{} {head} as {}", paint.green("resolved"), o.resolution)?;
    let writes = |n: usize| {
        if n == 0 {
            "unchanged".to_string()
        } else {
            format!("{n} write(s)")
        }
    };
    outln!(
        "  legacy: {}   SUPRA: {}{}",
        writes(o.plan.legacy_ops.len()),
        writes(o.plan.supra_ops.len()),
        if o.origins.is_empty() {
            String::new()
        } else {
            format!("   (origin {})", o.origins.join(", "))
        }
    )?;
    if let Some(r) = &o.released {
        outln!(
            "  held changes: {} superseded by the resolution, {} applied, {} failed, {} skipped, {} held again",
            r.superseded,
            r.applied,
            r.failed,
            r.skipped,
            r.held_again
        )?;
    }
    Ok(())
}

/// `side: column before → after` for the columns a resolution changes.
fn changes(side: &str, before: &Option<Json>, after: &Option<Json>) -> String {
    match (before, after) {
        (None, None) => format!("{side}: no row, none written\n"),
        (Some(_), None) => format!("{side}: the row is deleted\n"),
        (None, Some(a)) => format!("{side}: the row is created: {a}\n"),
        (Some(b), Some(a)) => {
            let mut lines = String::new();
            if let (Some(b), Some(a)) = (b.as_object(), a.as_object()) {
                for (col, new) in a {
                    let old = b.get(col).unwrap_or(&Json::Null);
                    if old != new {
                        lines.push_str(&format!(
                            "  {col}: {} → {}\n",
                            cell(old.as_str(), 40),
                            cell(new.as_str(), 40)
                        ));
                    }
                }
            }
            if lines.is_empty() {
                format!("{side}: unchanged\n")
            } else {
                format!("{side}:\n{lines}")
            }
        }
    }
}
