//! (d) End-to-end lag at a steady change rate on legacy, per transaction: from the return of
//! its legacy COMMIT to the first poll that sees it on the target.
//!
//! ```text
//!  paced writer (own task): every 10 ms one transaction, half inserts of new persons (the
//!    first one is the probe key), half updates of preloaded persons ──► legacy
//!        │ (probe key, COMMIT returned at)
//!        ▼
//!  prober: every 5 ms, which pending probe keys are visible? lag = poll start − commit
//! ```
//! Both clocks are this process's monotonic clock. For supra-sync the server-side
//! `sync_log.synced_at − source_commit_ts` is reported as a cross-check.

use std::time::{Duration, Instant};

use anyhow::bail;
use supra_sync_core::Lsn;
use supra_sync_testkit::TestDatabase;
use tokio::sync::mpsc;
use tokio::time::MissedTickBehavior;

use crate::baseline::native::NativeReplication;
use crate::probe::{POLL, Target};
use crate::report::{Figure, Goal, Outcome};
use crate::rig::{Rig, SyncPair};
use crate::scenarios::{Bench, Scale, secs};
use crate::workload;

/// Changes per legacy transaction (half inserts, half updates).
const TX_CHANGES: i64 = 50;
/// Oldest pending probes checked per poll.
const PROBE_BATCH: usize = 256;
/// Persons preloaded for the updates.
const PRELOAD: i64 = 20_000;

/// Lags of one run, sorted, and the rate the writer achieved.
struct Run {
    lags_ms: Vec<f64>,
    changes_per_sec: f64,
    /// Legacy WAL position before the paced writing started.
    start_lsn: Lsn,
    /// Set when the target's phones differ from legacy's after the run.
    problem: Option<String>,
}

impl Run {
    fn quantile(&self, q: f64) -> f64 {
        if self.lags_ms.is_empty() {
            return f64::NAN;
        }
        let i = ((self.lags_ms.len() as f64 - 1.0) * q).round() as usize;
        self.lags_ms[i]
    }

    fn describe(&self) -> String {
        format!(
            "{} transactions at {:.0} changes/s: lag p50 {:.1} ms, p90 {:.1} ms, p99 {:.1} ms, max {:.1} ms",
            self.lags_ms.len(),
            self.changes_per_sec,
            self.quantile(0.5),
            self.quantile(0.9),
            self.quantile(0.99),
            self.quantile(1.0)
        )
    }
}

/// Writes at `scale.lag_rate` for `scale.lag_secs` and measures every transaction's lag.
async fn drive(
    rig: &Rig,
    legacy_db: &TestDatabase,
    target: &Target,
    scale: &Scale,
    profile: Option<(&Bench, &TestDatabase)>,
) -> anyhow::Result<Run> {
    let loader = legacy_db.connect().await?;
    workload::load(&loader, 1, PRELOAD, 1_000).await?;
    target
        .wait_visible(PRELOAD, Duration::from_secs(600))
        .await?;
    rig.checkpoint().await?;
    let start_lsn = workload::wal_insert_lsn(&loader).await?;
    if let Some((bench, db)) = profile {
        bench.profile_start(db).await?;
    }
    let legacy = legacy_db.connect().await?;
    let period = Duration::from_secs_f64(TX_CHANGES as f64 / scale.lag_rate as f64);
    let transactions = (scale.lag_secs as f64 / period.as_secs_f64()).round() as i64;
    let (probes, mut arrivals) = mpsc::unbounded_channel::<(i64, Instant)>();
    let writer = tokio::spawn(async move {
        let mut tick = tokio::time::interval(period);
        tick.set_missed_tick_behavior(MissedTickBehavior::Burst);
        let half = TX_CHANGES / 2;
        let started = Instant::now();
        for t in 0..transactions {
            tick.tick().await;
            let first = PRELOAD + 1 + t * half;
            let update_from = (t * half) % PRELOAD + 1;
            let sql = workload::mixed_transaction(
                (first, first + half - 1),
                (update_from, update_from + half - 1),
                t,
            );
            legacy.batch_execute(&sql).await?;
            let _ = probes.send((first, Instant::now()));
        }
        anyhow::Ok((transactions * TX_CHANGES) as f64 / secs(started.elapsed()))
    });
    let mut pending: Vec<(i64, Instant)> = Vec::new();
    let mut lags_ms = Vec::new();
    let mut open = true;
    let mut idle_since = Instant::now();
    while open || !pending.is_empty() {
        loop {
            match arrivals.try_recv() {
                Ok(p) => pending.push(p),
                Err(mpsc::error::TryRecvError::Empty) => break,
                Err(mpsc::error::TryRecvError::Disconnected) => {
                    open = false;
                    break;
                }
            }
        }
        if !pending.is_empty() {
            let polled_at = Instant::now();
            // Commit-order apply: only the oldest pending probes can have become visible,
            // so a bounded query keeps the probe cheap even when a large lag builds up.
            let keys: Vec<i64> = pending.iter().take(PROBE_BATCH).map(|(k, _)| *k).collect();
            let seen = target.visible(&keys).await?;
            if !seen.is_empty() {
                idle_since = Instant::now();
            }
            pending.retain(|(key, committed)| {
                if seen.contains(key) {
                    lags_ms.push(
                        polled_at
                            .saturating_duration_since(*committed)
                            .as_secs_f64()
                            * 1000.0,
                    );
                    false
                } else {
                    true
                }
            });
            if idle_since.elapsed() > Duration::from_secs(600) {
                bail!(
                    "{} transactions still not visible after 10 minutes",
                    pending.len()
                );
            }
        } else {
            idle_since = Instant::now();
        }
        tokio::time::sleep(POLL).await;
    }
    let changes_per_sec = writer.await??;
    lags_ms.sort_by(f64::total_cmp);
    let expected = workload::phone_digest(&loader).await?;
    let problem = (target.phone_digest().await? != expected)
        .then(|| "the target's phones differ from legacy's after the run".to_string());
    Ok(Run {
        lags_ms,
        changes_per_sec,
        start_lsn,
        problem,
    })
}

/// Runs the scenario.
pub async fn run(bench: &Bench) -> anyhow::Result<Outcome> {
    let scale = &bench.scale;
    let rig = bench.rig("lag").await?;
    let mut notes = vec![format!(
        "{} changes/s for {} s: one transaction of {TX_CHANGES} changes every {:.1} ms ({} inserts + {} updates), {PRELOAD} persons preloaded",
        scale.lag_rate,
        scale.lag_secs,
        TX_CHANGES as f64 * 1000.0 / scale.lag_rate as f64,
        TX_CHANGES / 2,
        TX_CHANGES / 2
    )];

    let legacy = rig.legacy_database().await?;
    let plain = rig.plain_database().await?;
    let native = NativeReplication::start("bench_native_d", &legacy, &plain).await?;
    let target = Target::native(plain.connect().await?).await?;
    let base = drive(&rig, &legacy, &target, scale, None).await?;
    notes.push(format!("native: {}", base.describe()));
    native.drop().await?;

    let pair = SyncPair::new(&rig, bench.mappings.clone(), "bench_d").await?;
    pair.setup_forward().await?;
    let running = pair.start(|_| {})?;
    pair.wait_streaming().await?;
    let supra = pair.supra.connect().await?;
    let target = Target::supra(pair.supra.connect().await?).await?;
    let ours = drive(
        &rig,
        &pair.legacy,
        &target,
        scale,
        Some((bench, &pair.supra)),
    )
    .await?;
    running.check()?;
    notes.push(format!("supra-sync: {}", ours.describe()));
    running.stop().await?;
    let row = supra
        .query_one(
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY lag),
                    percentile_cont(0.99) WITHIN GROUP (ORDER BY lag), count(*)
               FROM (SELECT max(extract(epoch FROM synced_at - source_commit_ts)) * 1000 AS lag
                       FROM supra_sync.sync_log WHERE source_lsn > $1::text::pg_lsn
                      GROUP BY source_lsn) t",
            &[&ours.start_lsn.to_string()],
        )
        .await?;
    notes.push(format!(
        "supra-sync cross-check from sync_log (synced_at − source_commit_ts per source transaction, n = {}): p50 {:.1} ms, p99 {:.1} ms",
        row.get::<_, i64>(2),
        row.get::<_, Option<f64>>(0).unwrap_or(f64::NAN),
        row.get::<_, Option<f64>>(1).unwrap_or(f64::NAN)
    ));
    bench
        .profile_notes(
            &pair.supra,
            ours.lags_ms.len() as f64 * TX_CHANGES as f64,
            &mut notes,
        )
        .await?;
    pair.teardown().await?;
    let problem = base
        .problem
        .clone()
        .map(|p| format!("native: {p}"))
        .or(ours.problem.clone().map(|p| format!("supra-sync: {p}")));

    bench.finish(&rig, "lag")?;
    Ok(Outcome {
        figures: vec![
            Figure {
                label: format!(
                    "(d) lag p50 at {} changes/s (lower is better)",
                    scale.lag_rate
                ),
                unit: "ms",
                ours: ours.quantile(0.5),
                baseline: Some((base.quantile(0.5), "native LR")),
                goal: Goal::None,
                problem: problem.clone(),
            },
            Figure {
                label: format!(
                    "(d) lag p99 at {} changes/s (lower is better)",
                    scale.lag_rate
                ),
                unit: "ms",
                ours: ours.quantile(0.99),
                baseline: Some((base.quantile(0.99), "native LR")),
                goal: Goal::Below(500.0),
                problem,
            },
        ],
        notes,
    })
}
