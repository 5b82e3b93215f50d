//! (c) Snapshot throughput for persona: supra-sync's watermark snapshot (keyset chunks
//! between LOW/HIGH marks, applied through the mapping with `sync_mappings`, `sync_log` and
//! `snapshot_progress` in the same target transaction) against a raw COPY pipe of the same
//! table into a plain copy.
//!
//! ```text
//!  legacy persona (N rows, loaded before the slot exists)
//!    ├─ baseline:   COPY (SELECT * …) TO STDOUT ──► COPY … FROM STDIN        (plain copy)
//!    └─ supra-sync: Snapshotter::request(persona) ─► pipeline ─► persons     until 'done'
//! ```

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use anyhow::bail;
use supra_sync_engine::snapshot::Snapshotter;

use crate::baseline::{copy, create_plain_copy};
use crate::cpu::CpuMeter;
use crate::probe::Target;
use crate::report::{Figure, Goal, Outcome, check_rows, cpu_figure};
use crate::rig::SyncPair;
use crate::scenarios::{Bench, secs};
use crate::workload;

const TABLE: &str = "cf_quere_pro.persona";
const TIMEOUT: Duration = Duration::from_secs(3_600);

/// Runs the scenario.
pub async fn run(bench: &Bench) -> anyhow::Result<Outcome> {
    let rows = bench.scale.snapshot_rows;
    let rig = bench.rig("snapshot").await?;
    let pair = SyncPair::new(&rig, bench.mappings.clone(), "bench_c").await?;
    let legacy = pair.legacy.connect().await?;
    workload::load(&legacy, 1, rows, 10_000).await?;
    legacy
        .batch_execute("VACUUM ANALYZE cf_quere_pro.persona")
        .await?;
    let mut notes = vec![format!(
        "{rows} persons on legacy, loaded before the slot exists"
    )];

    // Baseline: the raw COPY pipe.
    let plain = rig.plain_database().await?;
    let target = plain.connect().await?;
    create_plain_copy(&legacy, &target, TABLE).await?;
    rig.checkpoint().await?;
    let (l, s) = rig.admin().await?;
    let meter = CpuMeter::start(&[&l, &s]).await?;
    let (copied, base) = copy::pipe(&legacy, &target, TABLE).await?;
    let base_cpu = meter.stop(&[&l, &s], 0.0).await?;
    notes.push(format!("COPY pipe: {copied} rows in {:.2} s", secs(base)));

    // supra-sync: queue the snapshot, start the pipeline, wait for 'done'.
    let supra = pair.supra.connect().await?;
    pair.setup_forward().await?;
    Snapshotter::request(&supra, &bench.mappings, &["persona".to_string()]).await?;
    rig.checkpoint().await?;
    bench.profile_start(&pair.supra).await?;
    let meter = CpuMeter::start(&[&l, &s]).await?;
    let started = Instant::now();
    let running = pair.start(|_| {})?;
    let mut chunk_times = Vec::new();
    let mut last_chunks = 0i64;
    let mut last_at = started;
    loop {
        let row = supra
            .query_one(
                "SELECT status::text, rows_copied, chunks_done FROM supra_sync.snapshot_progress
                  WHERE entity_type = 'persona'",
                &[],
            )
            .await?;
        let (status, chunks): (String, i64) = (row.get(0), row.get(2));
        if chunks > last_chunks {
            let now = Instant::now();
            chunk_times.push(now - last_at);
            last_at = now;
            last_chunks = chunks;
        }
        if status == "done" {
            break;
        }
        running.check()?;
        if started.elapsed() > TIMEOUT {
            bail!(
                "the snapshot did not finish within {TIMEOUT:?} (status {status}, {chunks} chunks)"
            );
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    let ours = started.elapsed();
    let ours_cpu = meter.stop(&[&l, &s], 0.0).await?;
    let stats = &running.stats;
    let (applied, failed, skipped) = (
        stats.applied.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
        stats.skipped.load(Ordering::Relaxed),
    );
    running.stop().await?;
    let progress = supra
        .query_one(
            "SELECT rows_copied, chunks_done, last_key::text FROM supra_sync.snapshot_progress
              WHERE entity_type = 'persona'",
            &[],
        )
        .await?;
    notes.push(format!(
        "snapshot_progress: rows_copied {}, chunks_done {}, last_key {}",
        progress.get::<_, i64>(0),
        progress.get::<_, i64>(1),
        progress.get::<_, Option<String>>(2).unwrap_or_default()
    ));
    let first_error: Option<String> = supra
        .query_opt(
            "SELECT error_message FROM supra_sync.sync_log WHERE status <> 'applied' ORDER BY id LIMIT 1",
            &[],
        )
        .await?
        .and_then(|r| r.get(0));
    let persons = Target::supra(pair.supra.connect().await?)
        .await?
        .count()
        .await?;
    chunk_times.sort();
    let pick = |q: f64| {
        chunk_times
            .get(((chunk_times.len() as f64 - 1.0) * q).round() as usize)
            .map_or(0.0, |d| d.as_secs_f64() * 1000.0)
    };
    notes.push(format!(
        "supra-sync: {persons} persons in {:.2} s ({applied} applied, {failed} failed, {skipped} skipped{}), {} chunks; time per chunk min {:.0} ms, median {:.0} ms, max {:.0} ms",
        secs(ours),
        first_error.map(|e| format!("; first error: {e}")).unwrap_or_default(),
        chunk_times.len(),
        pick(0.0),
        pick(0.5),
        pick(1.0)
    ));
    bench
        .profile_notes(&pair.supra, persons as f64, &mut notes)
        .await?;
    pair.teardown().await?;
    let problem = check_rows("the COPY target", copied as i64, rows).or(check_rows(
        "SUPRA persons after the snapshot",
        persons,
        rows,
    ));
    bench.finish(&rig, "snapshot")?;
    Ok(Outcome {
        figures: vec![
            Figure {
                label: "(c) snapshot of persona".into(),
                unit: "rows/s",
                ours: persons as f64 / secs(ours),
                baseline: Some((copied as f64 / secs(base), "COPY pipe")),
                goal: Goal::RatioAtLeast(0.5),
                problem,
            },
            cpu_figure(
                "(c) CPU per 1,000 rows",
                ours_cpu,
                base_cpu,
                "COPY pipe",
                persons as f64,
            ),
        ],
        notes,
    })
}
