//! (a) Streaming apply throughput for inserts in 1,000-row transactions into
//! `cf_quere_pro.persona`: supra-sync (persona mapping, `sync_mappings`, `sync_log`) against
//! native logical replication into a plain copy.
//!
//! ```text
//!  writer: INSERT 1,000 rows · COMMIT ×N ──► legacy ──► pipeline ──► target
//!          ▲ t0 = first COMMIT returned                              │ probe: last key visible
//!          └───────────────────────── rate = rows ÷ (t_visible − t0) ┘
//! ```

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use supra_sync_core::Lsn;
use supra_sync_engine::PipelineStats;
use tokio::sync::oneshot;
use tokio_postgres::Client;

use crate::baseline::native::NativeReplication;
use crate::cpu::CpuMeter;
use crate::probe::Target;
use crate::report::{Figure, Goal, Outcome, check_rows, cpu_figure};
use crate::rig::SyncPair;
use crate::scenarios::{Bench, secs};
use crate::workload;

/// Rows per transaction.
const TX_ROWS: i64 = 1_000;
/// Longest wait for the target to catch up.
const CATCH_UP: Duration = Duration::from_secs(1_800);

/// What one side's run measured.
struct Run {
    /// First COMMIT returned → last row visible.
    elapsed: Duration,
    /// First COMMIT returned → last COMMIT returned.
    writer: Duration,
    /// First COMMIT returned → position acknowledged to the slot (supra-sync only).
    acknowledged: Option<Duration>,
}

/// Writes `txs` transactions and waits until the target shows the last row.
async fn drive(
    legacy: &mut Client,
    target: &Target,
    txs: i64,
    stats: Option<&PipelineStats>,
) -> anyhow::Result<Run> {
    let last_key = txs * TX_ROWS;
    let (lsn_tx, lsn_rx) = oneshot::channel::<Lsn>();
    let writer = async {
        let mut lsn_tx = Some(lsn_tx);
        let mut first = None;
        for i in 0..txs {
            let (from, to) = (i * TX_ROWS + 1, (i + 1) * TX_ROWS);
            if i + 1 == txs {
                let tx = legacy.transaction().await?;
                workload::insert_range(&tx, from, to).await?;
                let lsn = workload::wal_insert_lsn(&tx).await?;
                tx.commit().await?;
                if let Some(sender) = lsn_tx.take() {
                    let _ = sender.send(lsn);
                }
            } else {
                workload::insert_range(&*legacy, from, to).await?;
            }
            first.get_or_insert_with(Instant::now);
        }
        anyhow::Ok((first.unwrap_or_else(Instant::now), Instant::now()))
    };
    let acknowledged = async {
        let Some(stats) = stats else {
            return anyhow::Ok(None);
        };
        let lsn = lsn_rx.await?;
        while stats.acknowledged_lsn.load(Ordering::Relaxed) < lsn.0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        Ok(Some(Instant::now()))
    };
    let ((first, last_commit), visible, acked) = tokio::try_join!(
        writer,
        target.wait_visible(last_key, CATCH_UP),
        acknowledged
    )?;
    Ok(Run {
        elapsed: visible.saturating_duration_since(first),
        writer: last_commit - first,
        acknowledged: acked.map(|a| a.saturating_duration_since(first)),
    })
}

/// Runs the scenario.
pub async fn run(bench: &Bench) -> anyhow::Result<Outcome> {
    let rig = bench.rig("insert-batches").await?;
    let txs = bench.scale.insert_txs;
    let rows = (txs * TX_ROWS) as f64;
    let mut notes = vec![format!(
        "{txs} transactions × {TX_ROWS} rows = {rows} rows, one writer connection"
    )];

    // Baseline: native logical replication.
    let legacy = rig.legacy_database().await?;
    let plain = rig.plain_database().await?;
    let native = NativeReplication::start("bench_native_a", &legacy, &plain).await?;
    notes.push(format!(
        "native subscription synchronous_commit = {}",
        native.synchronous_commit().await?
    ));
    rig.checkpoint().await?;
    let target = Target::native(plain.connect().await?).await?;
    let (l, s) = rig.admin().await?;
    let meter = CpuMeter::start(&[&l, &s]).await?;
    let base = drive(&mut legacy.connect().await?, &target, txs, None).await?;
    let base_cpu = meter.stop(&[&l, &s], 0.0).await?;
    let base_rows = target.count().await?;
    notes.push(format!(
        "native: {:.2} s to visibility (writer {:.2} s); {base_rows} rows on the target",
        secs(base.elapsed),
        secs(base.writer),
    ));
    let mut problem = check_rows("the native target", base_rows, txs * TX_ROWS);
    native.drop().await?;

    // supra-sync.
    let pair = SyncPair::new(&rig, bench.mappings.clone(), "bench_a").await?;
    pair.setup_forward().await?;
    let running = pair.start(|_| {})?;
    pair.wait_streaming().await?;
    rig.checkpoint().await?;
    bench.profile_start(&pair.supra).await?;
    let target = Target::supra(pair.supra.connect().await?).await?;
    let meter = CpuMeter::start(&[&l, &s]).await?;
    let ours = drive(
        &mut pair.legacy.connect().await?,
        &target,
        txs,
        Some(&running.stats),
    )
    .await?;
    let ours_cpu = meter.stop(&[&l, &s], 0.0).await?;
    running.check()?;
    let batches = running.stats.batches.load(Ordering::Relaxed);
    let failed = running.stats.failed.load(Ordering::Relaxed);
    running.stop().await?;
    let log_rows: i64 = pair
        .supra
        .connect()
        .await?
        .query_one(
            "SELECT count(*) FROM supra_sync.sync_log WHERE status = 'applied'",
            &[],
        )
        .await?
        .get(0);
    let persons = target.count().await?;
    notes.push(format!(
        "supra-sync: {:.2} s to visibility, {:.2} s to acknowledged LSN (writer {:.2} s); {persons} persons, {log_rows} applied sync_log rows, {failed} failed, {batches} target transactions",
        secs(ours.elapsed),
        ours.acknowledged.map_or(f64::NAN, secs),
        secs(ours.writer),
    ));
    bench.profile_notes(&pair.supra, rows, &mut notes).await?;
    problem = problem.or(check_rows("SUPRA persons", persons, txs * TX_ROWS));
    pair.teardown().await?;

    bench.finish(&rig, "insert-batches")?;
    Ok(Outcome {
        figures: vec![
            Figure {
                label: "(a) insert apply, 1,000-row tx".into(),
                unit: "rows/s",
                ours: rows / secs(ours.elapsed),
                baseline: Some((rows / secs(base.elapsed), "native LR")),
                goal: Goal::RatioAtLeast(1.0),
                problem,
            },
            cpu_figure(
                "(a) CPU per 1,000 rows",
                ours_cpu,
                base_cpu,
                "native LR",
                rows,
            ),
        ],
        notes,
    })
}
