//! `supra-sync replay`: Kafka topics back into SUPRA through the mappings (backfill, rebuild,
//! re-processing after a mapping fix).
//!
//! ```text
//!  [kafka] + flags ─► topics (--topics | --all: one per mapped legacy table that exists)
//!     │                 └─ an unknown topic is an error naming it
//!  SUPRA: sync migrations, replay origin ─► stored offsets of --group
//!     └─► supra_sync_kafka::target::run ─► progress bar ─► summary on stdout
//! ```
//!
//! Offsets are stored in `supra_sync.kafka_offsets` with the applied data, so an interrupted
//! replay (Ctrl-C, kill -9, a crash) simply runs again and resumes exactly.

use std::num::NonZeroU32;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use chrono::{DateTime, Utc};
use clap::Args;
use indicatif::{ProgressBar, ProgressStyle};
use supra_sync_kafka::envelope::topic_name;
use supra_sync_kafka::replay::{self, ReplayConfig, ReplayProgress, StartFrom};
use supra_sync_kafka::target::{self, ReplayTarget, TargetOptions, TargetStats};
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::migrate;
use supra_sync_postgres::names::ObjectNames;

use crate::config::{KafkaConfig, RunConfig};
use crate::options::{GlobalOptions, Side};

/// `supra-sync replay`.
#[derive(Args, Debug)]
pub struct ReplayArgs {
    /// Service configuration file (TOML) with the `[kafka]` section.
    #[arg(long, value_name = "FILE", env = "SUPRA_SYNC_CONFIG")]
    pub config: Option<PathBuf>,
    /// Topics to replay, comma-separated.
    #[arg(
        long,
        value_name = "TOPIC,…",
        value_delimiter = ',',
        required_unless_present = "all",
        conflicts_with = "all"
    )]
    pub topics: Vec<String>,
    /// Replay the topic of every mapped legacy table (those that exist).
    #[arg(long)]
    pub all: bool,
    /// Consumer group: names this replay; its offsets are stored in SUPRA.
    #[arg(long, value_name = "GROUP", default_value = "supra-sync-replay")]
    pub group: String,
    /// Where partitions without stored offsets start: `earliest` or an RFC 3339 time.
    #[arg(long, value_name = "earliest|TIME", default_value = "earliest", value_parser = parse_start)]
    pub from: StartFrom,
    /// Stop at the high watermarks seen at start instead of following the topics.
    #[arg(long)]
    pub until_high_watermark: bool,
    /// At most this many records per second.
    #[arg(long, value_name = "N")]
    pub max_rate: Option<NonZeroU32>,
    /// At most this many records per target transaction.
    #[arg(long, value_name = "N", default_value_t = 500)]
    pub batch: usize,
    /// Keep retrying an unreachable broker (or a restarting database) this long.
    #[arg(long, value_name = "SECONDS", default_value_t = 60)]
    pub retry_secs: u64,
}

fn parse_start(text: &str) -> Result<StartFrom, String> {
    if text.eq_ignore_ascii_case("earliest") {
        return Ok(StartFrom::Earliest);
    }
    DateTime::parse_from_rfc3339(text)
        .map(|t| StartFrom::Timestamp(t.with_timezone(&Utc)))
        .map_err(|e| format!("`{text}` is neither `earliest` nor an RFC 3339 time ({e})"))
}

/// Runs `replay`.
pub async fn run(global: &GlobalOptions, args: ReplayArgs) -> anyhow::Result<ExitCode> {
    let config = RunConfig::load(args.config.as_deref())?;
    let kafka = config
        .kafka
        .clone()
        .filter(|k| !k.bootstrap_servers.trim().is_empty());
    let Some(kafka) = kafka else {
        anyhow::bail!(
            "no Kafka brokers configured\nhint: set kafka.bootstrap_servers in the config file or SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS"
        );
    };
    let mappings = super::sync::load_mappings(global)?;
    let retry = Duration::from_secs(args.retry_secs);
    let topics = topics(&args, &kafka, &mappings, retry).await?;
    let (legacy_db, _) = global.connect(Side::Legacy).await?;
    let (supra_db, supra) = global.connect(Side::Supra).await?;
    migrate::migrate_sync_only(&supra_db).await?;
    let names = ObjectNames::with_prefix(&config.prefix);
    target::ensure_replay_origin(&supra, &names).await?;
    let opts = TargetOptions {
        names,
        tenant: config.tenant.clone(),
        group: args.group.clone(),
        topic_prefix: kafka.topic_prefix.clone(),
        halt_on_failure: config.halt_on_failure,
        retry_for: retry,
    };
    let target = ReplayTarget::connect(opts, legacy_db, supra_db, mappings).await?;
    let mut replay = ReplayConfig::new(&kafka.bootstrap_servers, &args.group, topics.clone());
    replay.start = args.from;
    replay.until_high_watermark = args.until_high_watermark;
    replay.max_rate = args.max_rate;
    replay.max_batch = args.batch.max(1);
    replay.properties = kafka.properties.clone();
    replay.metadata_timeout = retry.min(Duration::from_secs(30));

    eprintln!(
        "replaying {} topic(s) as group {:?}{}",
        topics.len(),
        args.group,
        if args.until_high_watermark {
            " up to their current end"
        } else {
            " (following; Ctrl-C stops)"
        }
    );
    let bar = progress_bar();
    let outcome = {
        let bar = bar.clone();
        let run = target::run(target, replay, retry, move |p, s| show(&bar, p, s));
        tokio::select! {
            r = run => Some(r),
            _ = super::sync::wait_for_signal() => None,
        }
    };
    bar.finish_and_clear();
    let Some(outcome) = outcome else {
        eprintln!("interrupted: what was committed is kept with its offsets; run again to resume");
        return Ok(ExitCode::SUCCESS);
    };
    let outcome = outcome.context("replay stopped")?;
    let s = outcome.stats;
    println!(
        "replayed {} records in {:.1?} ({:.0}/s): {} applied, {} failed, {} skipped, {} parked ({} re-applied), {} tombstones, {} undecodable",
        outcome.summary.progress.messages,
        outcome.summary.progress.elapsed,
        outcome.summary.progress.rate,
        s.applied,
        s.failed,
        s.skipped,
        s.parked,
        s.unparked,
        s.tombstones,
        s.undecodable,
    );
    if s.failed + s.undecodable > 0 {
        println!(
            "hint: failed changes are in supra_sync.sync_log (status 'failed') with their raw record"
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// The topics to read: the named ones (each must exist), or every mapped legacy table's.
async fn topics(
    args: &ReplayArgs,
    kafka: &KafkaConfig,
    mappings: &MappingSet,
    retry: Duration,
) -> anyhow::Result<Vec<String>> {
    let started = std::time::Instant::now();
    let existing = loop {
        match replay::list_topics(
            &kafka.bootstrap_servers,
            &kafka.properties,
            Duration::from_secs(10),
        )
        .await
        {
            Ok(t) => break t,
            Err(e) if e.is_transient() && started.elapsed() < retry => {
                tracing::warn!(error = %e, "Kafka unavailable; retrying");
                tokio::time::sleep(Duration::from_secs(1)).await;
            }
            Err(e) if e.is_transient() => {
                return Err(target::ReplayError::Unreachable {
                    bootstrap: kafka.bootstrap_servers.clone(),
                    waited: started.elapsed(),
                    last: e,
                }
                .into());
            }
            Err(e) => return Err(e.into()),
        }
    };
    if !args.all {
        let unknown: Vec<&String> = args
            .topics
            .iter()
            .filter(|t| !existing.contains(*t))
            .collect();
        if let Some(first) = unknown.first() {
            let ours: Vec<&String> = existing
                .iter()
                .filter(|t| t.starts_with(&format!("{}.", kafka.topic_prefix)))
                .collect();
            anyhow::bail!(
                "topic {first} does not exist on {}{}\nhint: existing topics with prefix {:?}: {}",
                kafka.bootstrap_servers,
                if unknown.len() > 1 {
                    format!(" (nor {} other named topic(s))", unknown.len() - 1)
                } else {
                    String::new()
                },
                kafka.topic_prefix,
                if ours.is_empty() {
                    "none".to_string()
                } else {
                    ours.iter()
                        .map(|t| t.as_str())
                        .collect::<Vec<_>>()
                        .join(", ")
                }
            );
        }
        return Ok(args.topics.clone());
    }
    let (present, missing): (Vec<String>, Vec<String>) = mappings
        .legacy_tables()
        .iter()
        .map(|t| topic_name(&kafka.topic_prefix, t))
        .partition(|t| existing.contains(t));
    if !missing.is_empty() {
        tracing::warn!(topics = ?missing, "no topic yet for these mapped tables (nothing was published for them); skipped");
    }
    if present.is_empty() {
        anyhow::bail!(
            "none of the mapped tables has a topic on {} (prefix {:?})\nhint: check kafka.topic_prefix; topics appear once supra-sync run publishes with [kafka] configured",
            kafka.bootstrap_servers,
            kafka.topic_prefix
        );
    }
    Ok(present)
}

fn progress_bar() -> Arc<ProgressBar> {
    let bar = ProgressBar::new(0);
    bar.set_style(
        ProgressStyle::with_template(
            "{spinner} {elapsed_precise} [{bar:30}] {human_pos}/{human_len} records · {per_sec} · ETA {eta} · {msg}",
        )
        .expect("valid template")
        .progress_chars("=> "),
    );
    Arc::new(bar)
}

fn show(bar: &ProgressBar, p: &ReplayProgress, s: &TargetStats) {
    bar.set_length(p.messages + p.remaining);
    bar.set_position(p.messages);
    bar.set_message(format!(
        "{} applied, {} failed, {} parked",
        s.applied, s.failed, s.parked
    ));
    if bar.is_hidden() && p.batches % 20 == 1 {
        tracing::info!(messages = p.messages, remaining = p.remaining, rate = format!("{:.0}/s", p.rate),
            eta = ?p.eta, applied = s.applied, failed = s.failed, "replay progress");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn start_is_earliest_or_an_rfc3339_time() {
        assert_eq!(parse_start("earliest"), Ok(StartFrom::Earliest));
        assert_eq!(parse_start("EARLIEST"), Ok(StartFrom::Earliest));
        let at = parse_start("2024-03-01T10:00:00-06:00").unwrap();
        let expected = DateTime::parse_from_rfc3339("2024-03-01T16:00:00Z").unwrap();
        assert_eq!(at, StartFrom::Timestamp(expected.with_timezone(&Utc)));
        let err = parse_start("yesterday").unwrap_err();
        assert!(
            err.contains("neither `earliest` nor an RFC 3339 time"),
            "{err}"
        );
    }
}
