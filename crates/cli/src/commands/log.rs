//! `supra-sync log` (browse `sync_log`) and `supra-sync retry` (re-run failed changes through
//! the current mappings).

use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::Args;
use supra_sync_engine::resolve::log::{self, LogFilter};
use supra_sync_engine::resolve::replay::Replayer;
use supra_sync_engine::resolve::retry;

use super::conflicts::{ServiceConfig, operator};
use super::table::{Paint, Table, cut, parse_age};
use crate::options::GlobalOptions;
use crate::output::{out, outln};

/// `supra-sync log`.
#[derive(Args, Debug)]
pub struct LogArgs {
    /// Only this entity.
    #[arg(long)]
    entity: Option<String>,
    /// Only this legacy key.
    #[arg(long, value_name = "KEY")]
    key: Option<String>,
    /// Only this status: applied, failed, skipped, held, retried.
    #[arg(long)]
    status: Option<String>,
    /// Only failed changes (the ones `retry` takes).
    #[arg(long, conflicts_with = "status")]
    failed: bool,
    /// Only rows logged within this age (30m, 2h, 3d) or since this RFC 3339 time.
    #[arg(long, value_name = "AGE|TIME")]
    since: Option<String>,
    /// At most this many rows (newest first).
    #[arg(long, default_value_t = 50)]
    limit: i64,
    /// One JSON document instead of a table.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    service: ServiceConfig,
}

/// `supra-sync retry`.
#[derive(Args, Debug)]
#[command(group(clap::ArgGroup::new("which").required(true).args(["id", "all_failed"])))]
pub struct RetryArgs {
    /// The sync_log id of a failed change (see `supra-sync log --failed`).
    id: Option<i64>,
    /// Every failed change, oldest first.
    #[arg(long)]
    all_failed: bool,
    /// With --all-failed: only this entity.
    #[arg(long, requires = "all_failed")]
    entity: Option<String>,
    /// JSON instead of text.
    #[arg(long)]
    json: bool,
    #[command(flatten)]
    service: ServiceConfig,
}

fn since(text: &str) -> anyhow::Result<chrono::DateTime<chrono::Utc>> {
    if let Ok(t) = chrono::DateTime::parse_from_rfc3339(text) {
        return Ok(t.with_timezone(&chrono::Utc));
    }
    match parse_age(text) {
        Ok(age) => Ok(chrono::Utc::now() - age),
        Err(e) => bail!("--since {text:?}: {e}, or an RFC 3339 time (2025-03-01T08:00:00Z)"),
    }
}

/// Runs `log`.
pub async fn run_log(global: &GlobalOptions, args: LogArgs) -> anyhow::Result<ExitCode> {
    let filter = LogFilter {
        entity: args.entity.clone(),
        entity_id: args.key.clone(),
        status: if args.failed {
            Some("failed".into())
        } else {
            args.status.clone()
        },
        since: args.since.as_deref().map(since).transpose()?,
        limit: args.limit.max(1),
    };
    if let Some(s) = &filter.status
        && !["applied", "failed", "skipped", "held", "retried"].contains(&s.as_str())
    {
        bail!("unknown status {s:?}\nhint: use applied, failed, skipped, held or retried");
    }
    let op = operator(global, args.service.config.as_deref()).await?;
    let rows = log::list(&op.supra, &filter).await?;
    if args.json {
        outln!(
            "{}",
            serde_json::to_string_pretty(&rows).context("encoding JSON")?
        )?;
        return Ok(ExitCode::SUCCESS);
    }
    if rows.is_empty() {
        outln!("no sync_log rows match")?;
        return Ok(ExitCode::SUCCESS);
    }
    let paint = Paint::detect();
    let mut table = Table::new(&[
        "ID",
        "LOGGED",
        "ENTITY",
        "KEY",
        "DIRECTION",
        "OP",
        "STATUS",
        "RETRY OF",
        "ERROR",
    ]);
    for r in &rows {
        let cells = vec![
            r.id.to_string(),
            r.synced_at.format("%Y-%m-%d %H:%M:%S").to_string(),
            r.entity.clone(),
            cut(&r.entity_id, 20),
            r.direction.replace('_', " "),
            r.operation.clone(),
            r.status.clone(),
            r.retry_of.map(|i| i.to_string()).unwrap_or_default(),
            cut(
                r.error
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or(""),
                80,
            ),
        ];
        if r.status == "failed" {
            table.painted(cells, Paint::red);
        } else {
            table.row(cells);
        }
    }
    out!("{}", table.render(paint))?;
    if rows.iter().any(|r| r.status == "failed") {
        outln!("{}", paint.dim("retry a failed change with `supra-sync retry <ID>` (or --all-failed) once its cause is fixed"))?;
    }
    Ok(ExitCode::SUCCESS)
}

/// Runs `retry`: exit 0 when every retried change was applied (or recognised as
/// superseded), 1 when some failed again.
pub async fn run_retry(global: &GlobalOptions, args: RetryArgs) -> anyhow::Result<ExitCode> {
    let mut op = operator(global, args.service.config.as_deref()).await?;
    let mut replayer = Replayer::new(&op);
    let ids = match args.id {
        Some(id) => vec![id],
        None => retry::failed_ids(&op, args.entity.as_deref()).await?,
    };
    if ids.is_empty() {
        outln!("no failed changes")?;
        return Ok(ExitCode::SUCCESS);
    }
    let paint = Paint::detect();
    let mut failed_again = 0;
    for id in ids {
        let outcome = match retry::retry(&mut op, &mut replayer, id).await {
            Ok(o) => o,
            // One id: a refusal is the command's error. All failed: report and go on.
            Err(e) if args.id.is_some() => return Err(e.into()),
            Err(e) => {
                failed_again += 1;
                outln!(
                    "#{id}: {} {}",
                    paint.red("not retried:"),
                    e.to_string().lines().next().unwrap_or("")
                )?;
                continue;
            }
        };
        if outcome.status == "failed" {
            failed_again += 1;
        }
        if args.json {
            outln!(
                "{}",
                serde_json::to_string(&outcome).context("encoding JSON")?
            )?;
            continue;
        }
        let status = match outcome.status.as_str() {
            "failed" => paint.red("failed again"),
            "applied" => paint.green("applied"),
            other => other.to_string(),
        };
        outln!(
            "#{} {} {}: {status} (#{}){}",
            outcome.id,
            outcome.entity,
            outcome.entity_id,
            outcome.new_id.map(|i| i.to_string()).unwrap_or_default(),
            outcome
                .error
                .as_deref()
                .map(|e| format!(": {}", e.lines().next().unwrap_or("")))
                .unwrap_or_default()
        )?;
    }
    Ok(if failed_again == 0 {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    })
}
