//! `supra-sync status`: one screen on both pipelines, for people and for probes.
//!
//! Exit code 0 when healthy, 3 when not (slot missing, inactive slot lagging beyond
//! `--max-lag-bytes`, lag beyond `--max-lag-seconds`, failed changes beyond `--max-failed`,
//! open conflicts beyond `--max-conflicts`, changes still held behind resolved conflicts).

use std::process::ExitCode;

use anyhow::Context;
use clap::Args;
use supra_sync_engine::resolve::status::{self, HealthThresholds, StatusReport};
use supra_sync_postgres::names::ObjectNames;

use super::conflicts::ServiceConfig;
use super::table::{Paint, Table, bytes};
use crate::config::RunConfig;
use crate::options::{GlobalOptions, Side};
use crate::output::{out, outln};

/// Exit code of an unhealthy sync.
pub const UNHEALTHY: u8 = 3;

/// `supra-sync status`.
#[derive(Args, Debug)]
pub struct StatusArgs {
    /// One JSON document instead of text.
    #[arg(long)]
    json: bool,
    /// Unhealthy when an inactive slot holds more unconfirmed WAL than this (bytes).
    #[arg(long, value_name = "BYTES", default_value_t = 64 * 1024 * 1024)]
    max_lag_bytes: i64,
    /// Unhealthy when a pipeline lags more than this many seconds.
    #[arg(long, value_name = "SECONDS")]
    max_lag_seconds: Option<f64>,
    /// Unhealthy when more changes than this have failed.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_failed: i64,
    /// Unhealthy when more conflicts than this are open.
    #[arg(long, value_name = "N", default_value_t = 0)]
    max_conflicts: i64,
    #[command(flatten)]
    service: ServiceConfig,
}

/// Runs `status`.
pub async fn run(global: &GlobalOptions, args: StatusArgs) -> anyhow::Result<ExitCode> {
    let config = RunConfig::load(args.service.config.as_deref())?;
    let mappings = super::sync::load_mappings(global)?;
    let (_, legacy) = global.connect(Side::Legacy).await?;
    let (_, supra) = global.connect(Side::Supra).await?;
    let names = ObjectNames::with_prefix(&config.prefix);
    let bidirectional = supra_sync_engine::service::has_bidirectional(&mappings);
    let mut report = status::collect(&legacy, &supra, &names, bidirectional).await?;
    let healthy = report.evaluate(&HealthThresholds {
        max_lag_bytes: args.max_lag_bytes,
        max_lag_seconds: args.max_lag_seconds,
        max_failed: args.max_failed,
        max_open_conflicts: args.max_conflicts,
    });
    if args.json {
        let doc =
            serde_json::json!({"healthy": healthy, "prefix": config.prefix, "report": report});
        outln!(
            "{}",
            serde_json::to_string_pretty(&doc).context("encoding JSON")?
        )?;
    } else {
        out!("{}", render(&report, &config.prefix, Paint::detect()))?;
    }
    Ok(if healthy {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(UNHEALTHY)
    })
}

fn opt(v: &Option<String>) -> String {
    v.clone().unwrap_or_else(|| "-".into())
}

/// The text of `status`.
pub fn render(r: &StatusReport, prefix: &str, paint: Paint) -> String {
    let mut s = format!(
        "{} {}  (prefix {prefix})\n\n",
        paint.bold("supra-sync status"),
        r.generated_at.format("%Y-%m-%d %H:%M:%S UTC")
    );
    let mut t = Table::new(&[
        "PIPELINE",
        "SLOT",
        "STATE",
        "SOURCE LSN",
        "CONFIRMED",
        "APPLIED",
        "LAG",
        "RETAINED WAL",
        "CHANGES/S",
        "LAST APPLIED",
    ]);
    for p in &r.pipelines {
        let state = match (p.slot_present, p.slot_active) {
            (false, _) => paint.red("no slot"),
            (true, true) => paint.green("streaming"),
            (true, false) => paint.yellow("inactive"),
        };
        t.row(vec![
            p.name.clone(),
            p.slot.clone(),
            state,
            opt(&p.source_lsn),
            opt(&p.confirmed_lsn),
            opt(&p.applied_lsn),
            format!(
                "{}{}",
                p.lag_bytes.map_or("-".into(), bytes),
                p.lag_seconds
                    .map_or(String::new(), |l| format!(", {l:.1} s"))
            ),
            p.retained_wal_bytes.map_or("-".into(), bytes),
            format!("{:.2}", p.changes_per_second),
            p.last_applied_at
                .map_or("-".into(), |t| t.format("%Y-%m-%d %H:%M:%S").to_string()),
        ]);
    }
    s.push_str(&t.render(paint));
    if !r.snapshots.is_empty() {
        s.push_str(&format!("\n{}\n", paint.bold("snapshots")));
        for snap in &r.snapshots {
            let progress = match snap.estimated_rows {
                Some(e) if e > 0.0 => format!(
                    "{} / ~{} rows ({:.0}%)",
                    snap.rows_copied,
                    e as i64,
                    (snap.rows_copied as f64 / e * 100.0).min(100.0)
                ),
                _ => format!("{} rows", snap.rows_copied),
            };
            s.push_str(&format!(
                "  {:<14} {:<32} {:<8} {progress}\n",
                snap.entity, snap.table, snap.status
            ));
        }
    }
    let per = |counts: &[status::EntityCount]| {
        counts
            .iter()
            .map(|c| format!("{} {}", c.entity, c.count))
            .collect::<Vec<_>>()
            .join(", ")
    };
    s.push('\n');
    s.push_str(&format!(
        "failed changes:  {}{}\n",
        r.failed_total(),
        if r.failed.is_empty() {
            String::new()
        } else {
            format!(" ({})", per(&r.failed))
        }
    ));
    s.push_str(&format!(
        "open conflicts:  {}{}; {} change(s) held behind them\n",
        r.open_conflicts_total(),
        if r.open_conflicts.is_empty() {
            String::new()
        } else {
            format!(" ({})", per(&r.open_conflicts))
        },
        r.held_changes
    ));
    s.push_str(&format!("parked changes:  {}\n", r.parked_changes));
    if r.problems.is_empty() {
        s.push_str(&format!("\nhealth: {}\n", paint.green("OK")));
    } else {
        s.push_str(&format!("\nhealth: {}\n", paint.red("UNHEALTHY")));
        for p in &r.problems {
            s.push_str(&format!("  - {p}\n"));
        }
    }
    s
}
