//! `supra-sync-bench`: the opt-in benchmarks of issue 4, item 7. Each figure is measured
//! against its baseline in the same run, on the same machine, on fresh durable clusters.
//!
//! ```text
//!  args ──► Bench { scale, mappings, clusters } ──► scenarios a…e ──► Report
//!                                                                     ├─ stdout (table)
//!                                                                     └─ --report (Markdown)
//! ```
//! Run it through `scripts/bench` (release build); `--quick` for a ~2-minute run.

mod baseline;
mod cpu;
mod machine;
mod probe;
mod report;
mod rig;
mod scenarios;
mod statements;
mod workload;

use std::future::Future;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::ExitCode;
use std::time::Instant;

use anyhow::Context;
use clap::Parser;

use crate::report::{Outcome, Report};
use crate::scenarios::{Bench, Scale};

/// Benchmarks supra-sync against native logical replication and a raw COPY pipe.
#[derive(Parser, Debug)]
#[command(name = "supra-sync-bench")]
struct Args {
    /// Small scale (about two minutes); implies --shared-clusters.
    #[arg(long)]
    quick: bool,
    /// Scenarios to run, by letter: a (inserts), b (single updates), c (snapshot), d (lag),
    /// e (backlog).
    #[arg(long, value_delimiter = ',', default_value = "a,b,c,d,e")]
    only: Vec<char>,
    /// Start one cluster pair for all scenarios instead of a fresh pair per scenario.
    #[arg(long)]
    shared_clusters: bool,
    /// Where to write the Markdown report.
    #[arg(long, default_value = "target/bench-report.md")]
    report: PathBuf,
    /// The `supra-sync` binary used by (e) (default: next to this binary).
    #[arg(long)]
    supra_sync_bin: Option<PathBuf>,
    /// Mapping directory.
    #[arg(long)]
    mappings: Option<PathBuf>,
    /// Extra `postgresql.conf` setting for both clusters, `KEY=VALUE` (repeatable), e.g.
    /// `log_min_duration_statement=0` to profile; shown in the report.
    #[arg(long = "pg-setting", value_name = "KEY=VALUE", value_parser = parse_setting)]
    pg_settings: Vec<(String, String)>,
    /// Keep both server logs of every scenario next to the report.
    #[arg(long)]
    save_server_logs: bool,
    /// Profile supra-sync's statements on SUPRA with pg_stat_statements (preloaded on both
    /// clusters, so baselines run with it too) and list them in the notes.
    #[arg(long)]
    statements: bool,
    /// (a) 1,000-row insert transactions.
    #[arg(long)]
    insert_txs: Option<i64>,
    /// (b) concurrent clients.
    #[arg(long)]
    update_clients: Option<i64>,
    /// (b) single-row updates per client.
    #[arg(long)]
    updates_per_client: Option<i64>,
    /// (c) persons to snapshot.
    #[arg(long)]
    snapshot_rows: Option<i64>,
    /// (d) changes per second.
    #[arg(long)]
    lag_rate: Option<i64>,
    /// (d) seconds of paced writing.
    #[arg(long)]
    lag_secs: Option<u64>,
    /// (e) changes in the backlog.
    #[arg(long)]
    backlog_changes: Option<i64>,
}

impl Args {
    fn scale(&self) -> Scale {
        let mut s = if self.quick {
            Scale::quick()
        } else {
            Scale::full()
        };
        s.insert_txs = self.insert_txs.unwrap_or(s.insert_txs);
        s.update_clients = self.update_clients.unwrap_or(s.update_clients);
        s.updates_per_client = self.updates_per_client.unwrap_or(s.updates_per_client);
        s.snapshot_rows = self.snapshot_rows.unwrap_or(s.snapshot_rows);
        s.lag_rate = self.lag_rate.unwrap_or(s.lag_rate);
        s.lag_secs = self.lag_secs.unwrap_or(s.lag_secs);
        s.backlog_changes = self.backlog_changes.unwrap_or(s.backlog_changes);
        s
    }
}

fn parse_setting(text: &str) -> Result<(String, String), String> {
    text.split_once('=')
        .map(|(k, v)| (k.trim().to_string(), v.trim().to_string()))
        .ok_or_else(|| format!("`{text}` is not KEY=VALUE"))
}

type ScenarioFuture<'a> = Pin<Box<dyn Future<Output = anyhow::Result<Outcome>> + 'a>>;

/// The scenarios by letter, in order.
fn scenario<'a>(letter: char, bench: &'a Bench) -> Option<(&'static str, ScenarioFuture<'a>)> {
    Some(match letter {
        'a' => (
            "(a) inserts in 1,000-row transactions",
            Box::pin(scenarios::insert_batches::run(bench)),
        ),
        'b' => (
            "(b) single-row updates, concurrent clients",
            Box::pin(scenarios::single_updates::run(bench)),
        ),
        'c' => (
            "(c) snapshot of persona",
            Box::pin(scenarios::snapshot::run(bench)),
        ),
        'd' => (
            "(d) end-to-end lag at a steady rate",
            Box::pin(scenarios::lag::run(bench)),
        ),
        'e' => (
            "(e) backlog catch-up with `supra-sync run`",
            Box::pin(scenarios::backlog::run(bench)),
        ),
        _ => return None,
    })
}

async fn run(args: Args) -> anyhow::Result<Report> {
    let started = Instant::now();
    let scale = args.scale();
    let mappings_dir = args
        .mappings
        .clone()
        .unwrap_or_else(rig::default_mappings_dir);
    let mappings = rig::load_mappings(&mappings_dir)?;
    let supra_sync_bin = match &args.supra_sync_bin {
        Some(p) => p.clone(),
        None => std::env::current_exe()?
            .parent()
            .context("the binary has a directory")?
            .join("supra-sync"),
    };
    let log_dir = args
        .report
        .parent()
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("."));
    std::fs::create_dir_all(&log_dir)?;
    let mut bench = Bench::new(
        scale.clone(),
        mappings,
        mappings_dir,
        supra_sync_bin,
        log_dir,
    );
    bench.shared_clusters = args.shared_clusters || args.quick;
    bench.pg_settings = args.pg_settings.clone();
    if args.statements {
        bench.pg_settings.extend(
            statements::SETTINGS
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string())),
        );
    }
    bench.statements = args.statements;
    bench.save_server_logs = args.save_server_logs;
    let load_before = machine::load_average();
    let mut report = Report {
        mode: format!(
            "{} scale ({scale:?}){}",
            if args.quick { "quick" } else { "full" },
            if bench.shared_clusters {
                ", one shared cluster pair"
            } else {
                ", fresh clusters per scenario"
            }
        ),
        machine: machine::describe(),
        ..Report::default()
    };
    for letter in &args.only {
        let Some((title, future)) = scenario(*letter, &bench) else {
            anyhow::bail!("unknown scenario {letter:?}: use a, b, c, d or e");
        };
        eprintln!("» {title} …");
        let t = Instant::now();
        let outcome = future.await.map_err(|e| format!("{e:#}"));
        match &outcome {
            Ok(o) => {
                for n in &o.notes {
                    eprintln!("  {n}");
                }
            }
            Err(e) => eprintln!("  error: {e}"),
        }
        eprintln!("  ({:.0} s)", t.elapsed().as_secs_f64());
        report.scenarios.push((title.to_string(), outcome));
    }
    report.settings = bench.settings().await;
    report.settings.push((
        "extra settings (both clusters)".into(),
        rig::EXTRA_SETTINGS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .chain(bench.pg_settings.iter().cloned())
            .map(|(k, v)| format!("{k} = {v}"))
            .collect::<Vec<_>>()
            .join(", "),
    ));
    report.machine.push(format!(
        "load average before: {load_before}; after: {}",
        machine::load_average()
    ));
    report.elapsed_secs = started.elapsed().as_secs_f64();
    Ok(report)
}

fn main() -> ExitCode {
    let args = Args::parse();
    let _ = tracing_subscriber::fmt()
        .with_env_filter(
            tracing_subscriber::EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn,sqlx=error")),
        )
        .with_writer(std::io::stderr)
        .try_init();
    let report_path = args.report.clone();
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(run(args)) {
        Ok(report) => {
            println!("\n{}", report.table());
            let text = report.markdown();
            if let Err(e) = std::fs::write(&report_path, text) {
                eprintln!("error: writing {}: {e}", report_path.display());
                return ExitCode::FAILURE;
            }
            println!("full report: {}", report_path.display());
            let failed = report.scenarios.iter().any(|(_, o)| o.is_err());
            if failed {
                ExitCode::FAILURE
            } else {
                ExitCode::SUCCESS
            }
        }
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
