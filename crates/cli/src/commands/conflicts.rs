//! `supra-sync conflicts …`: review and settle the disagreements between legacy and SUPRA.
//!
//! * `list` — open conflicts (or any status), filtered, paginated; a table or `--json`.
//! * `show <id>` — both versions side by side in both schemas' column names.
//! * `resolve <id> | --entity/--type/--older-than/--all` — apply one side's version (or a
//!   merge) to both databases, mark it resolved, release the held changes; `--dry-run` first.
//! * `refresh <id>` — record the rows as they are now in a stale conflict.
//! * `release <id>` — replay what is still held behind a resolved conflict.
//!
//! Ids are UUIDs; a unique prefix of 4 or more characters is enough.

mod resolve;
mod show;

use std::path::{Path, PathBuf};
use std::process::ExitCode;

use anyhow::Context;
use clap::{Args, Subcommand};
use supra_sync_engine::resolve::conflicts::{self, ConflictFilter};
use supra_sync_engine::resolve::{Operator, refresh, release};
use supra_sync_postgres::names::ObjectNames;

use super::table::{Paint, Table, cut, parse_age};
use crate::config::RunConfig;
use crate::options::{GlobalOptions, Side};
use crate::output::outln;

/// Where the service's settings come from (prefix of origins and slots, tenant).
#[derive(Args, Debug, Clone)]
pub struct ServiceConfig {
    /// Service configuration file (TOML); `SUPRA_SYNC_PREFIX` / `SUPRA_SYNC_TENANT` override it.
    #[arg(long, value_name = "FILE", env = "SUPRA_SYNC_CONFIG")]
    pub config: Option<PathBuf>,
}

/// Conflict commands.
#[derive(Subcommand, Debug)]
pub enum ConflictsCommand {
    /// List conflicts, oldest first (open ones unless --status says otherwise).
    List(ListArgs),
    /// Show one conflict: both versions side by side, the last synced one, what moved since.
    Show {
        /// Conflict id (or a unique prefix).
        id: String,
        /// One JSON document instead of text.
        #[arg(long)]
        json: bool,
        #[command(flatten)]
        service: ServiceConfig,
    },
    /// Apply one version to both databases and close the conflict (one by id, or in bulk).
    Resolve(resolve::ResolveArgs),
    /// Record the rows as they are now in a stale conflict, to review and resolve it again.
    Refresh {
        /// Conflict id (or a unique prefix).
        id: String,
        #[command(flatten)]
        service: ServiceConfig,
    },
    /// Replay the changes still held behind a resolved conflict (after an interrupted resolve).
    Release {
        /// Conflict id (or a unique prefix).
        id: String,
        #[command(flatten)]
        service: ServiceConfig,
    },
}

/// Filters shared by `list` and bulk `resolve`.
#[derive(Args, Debug, Clone, Default)]
pub struct FilterArgs {
    /// Only this entity (e.g. persona).
    #[arg(long)]
    pub entity: Option<String>,
    /// Only this conflict type (concurrent_update, update_missing, unique_violation, …).
    #[arg(long = "type", value_name = "TYPE")]
    pub conflict_type: Option<String>,
    /// Only conflicts detected longer ago than this (30m, 2h, 3d, 1w).
    #[arg(long, value_name = "AGE", value_parser = parse_age)]
    pub older_than: Option<chrono::Duration>,
}

impl FilterArgs {
    fn filter(&self) -> ConflictFilter {
        ConflictFilter {
            entity: self.entity.clone(),
            conflict_type: self.conflict_type.clone(),
            status: None,
            detected_before: self.older_than.map(|a| chrono::Utc::now() - a),
            limit: 50,
            offset: 0,
        }
    }
}

/// `conflicts list`.
#[derive(Args, Debug)]
pub struct ListArgs {
    #[command(flatten)]
    filter: FilterArgs,
    /// open, resolved, superseded or all.
    #[arg(long, default_value = "open")]
    status: String,
    /// Rows per page.
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// Rows to skip (the next page starts at offset + limit).
    #[arg(long, default_value_t = 0)]
    offset: i64,
    /// One JSON document instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    service: ServiceConfig,
}

/// Connects the operator library to both databases with the service's names and tenant.
pub async fn operator(global: &GlobalOptions, config: Option<&Path>) -> anyhow::Result<Operator> {
    let config = RunConfig::load(config)?;
    let mappings = super::sync::load_mappings(global)?;
    // Proves both databases reachable within --connect-timeout, with the usual messages.
    global.connect(Side::Legacy).await?;
    global.connect(Side::Supra).await?;
    Ok(Operator::connect(
        global.db(Side::Legacy)?,
        global.db(Side::Supra)?,
        mappings,
        ObjectNames::with_prefix(&config.prefix),
        config.tenant,
    )
    .await?)
}

/// Runs one `conflicts` command.
pub async fn run(global: &GlobalOptions, command: ConflictsCommand) -> anyhow::Result<ExitCode> {
    match command {
        ConflictsCommand::List(args) => list(global, args).await,
        ConflictsCommand::Show { id, json, service } => {
            let op = operator(global, service.config.as_deref()).await?;
            show::run(&op, &id, json).await
        }
        ConflictsCommand::Resolve(args) => resolve::run(global, args).await,
        ConflictsCommand::Refresh { id, service } => {
            let mut op = operator(global, service.config.as_deref()).await?;
            let r = refresh::refresh(&mut op, &id).await?;
            if r.superseded {
                outln!(
                    "conflict {}: both rows are gone; marked superseded (release its held changes with `supra-sync conflicts release {}`)",
                    r.conflict,
                    r.conflict
                )?;
            } else if r.moved.is_empty() {
                outln!(
                    "conflict {}: the rows had not moved; nothing to refresh",
                    r.conflict
                )?;
            } else {
                for (side, cols) in &r.moved {
                    outln!(
                        "conflict {}: recorded the current {side} row (changed: {})",
                        r.conflict,
                        cols.join(", ")
                    )?;
                }
                outln!(
                    "review it again with `supra-sync conflicts show {}`",
                    r.conflict
                )?;
            }
            Ok(ExitCode::SUCCESS)
        }
        ConflictsCommand::Release { id, service } => {
            let mut op = operator(global, service.config.as_deref()).await?;
            let r = release::release(&mut op, &id).await?;
            outln!(
                "released: {} superseded, {} applied, {} failed, {} skipped, {} held again",
                r.superseded,
                r.applied,
                r.failed,
                r.skipped,
                r.held_again
            )?;
            Ok(ExitCode::SUCCESS)
        }
    }
}

async fn list(global: &GlobalOptions, args: ListArgs) -> anyhow::Result<ExitCode> {
    let op = operator(global, args.service.config.as_deref()).await?;
    let mut filter = args.filter.filter();
    filter.status = match args.status.as_str() {
        "all" => None,
        s @ ("open" | "resolved" | "superseded") => Some(s.to_string()),
        other => {
            anyhow::bail!("unknown status {other:?}\nhint: use open, resolved, superseded or all")
        }
    };
    filter.limit = args.limit.max(1);
    filter.offset = args.offset.max(0);
    let (rows, total) = conflicts::list(&op.supra, &filter).await?;
    if args.json {
        let doc = serde_json::json!({"total": total, "offset": filter.offset, "conflicts": rows});
        outln!(
            "{}",
            serde_json::to_string_pretty(&doc).context("encoding JSON")?
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    let paint = Paint::detect();
    if rows.is_empty() {
        outln!("no {} conflicts match", args.status)?;
        return Ok(ExitCode::SUCCESS);
    }
    let mut table = Table::new(&[
        "ID",
        "ENTITY",
        "KEY",
        "TYPE",
        "STATUS",
        "POLICY",
        "HELD",
        "DETECTED",
        "RESOLVED BY",
    ]);
    for c in &rows {
        table.row(vec![
            c.id.to_string(),
            c.entity.clone(),
            cut(&c.entity_id, 24),
            c.conflict_type.clone(),
            match &c.resolution {
                Some(r) => format!("{} ({r})", c.status),
                None => c.status.clone(),
            },
            c.policy.clone(),
            c.held_changes.to_string(),
            c.detected_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            c.resolved_by.clone().unwrap_or_default(),
        ]);
    }
    crate::output::out!("{}", table.render(paint))?;
    let shown = filter.offset + rows.len() as i64;
    if shown < total {
        outln!(
            "{}",
            paint.dim(&format!(
                "{}–{shown} of {total}; next page: --offset {shown}",
                filter.offset + 1
            ))
        )?;
    } else {
        outln!("{}", paint.dim(&format!("{total} conflict(s)")))?;
    }
    Ok(ExitCode::SUCCESS)
}
