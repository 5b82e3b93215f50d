//! (b) Single-row UPDATE transactions from several concurrent clients on persons that are
//! already synced: supra-sync (which groups many source transactions into one target
//! transaction) against native logical replication (one target transaction per source
//! transaction).
//!
//! ```text
//!  client 1..C: UPDATE persona SET prstelef … WHERE prsid = k (autocommit) ×N ─► legacy
//!  then: INSERT marker ─► legacy ─► pipeline ─► target: marker visible
//!  rate = C·N ÷ (marker visible − first COMMIT returned)
//! ```

use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use supra_sync_testkit::TestDatabase;

use crate::baseline::native::NativeReplication;
use crate::cpu::CpuMeter;
use crate::probe::Target;
use crate::report::{Figure, Goal, Outcome, cpu_figure};
use crate::rig::{Rig, SyncPair};
use crate::scenarios::{Bench, Scale, secs};
use crate::workload::{self, SingleUpdater};

const CATCH_UP: Duration = Duration::from_secs(1_800);

struct Run {
    elapsed: Duration,
    /// CPU seconds of every process taking part, from the first update to the marker.
    cpu: f64,
    writer: Duration,
    /// Set when the target's phones differ from legacy's after the run.
    problem: Option<String>,
}

/// Preloads the persons, then runs the clients and waits for the marker.
async fn drive(
    rig: &Rig,
    legacy: &TestDatabase,
    target: &Target,
    scale: &Scale,
    profile: Option<(&Bench, &TestDatabase)>,
) -> anyhow::Result<Run> {
    let rows = scale.update_rows;
    let loader = legacy.connect().await?;
    workload::load(&loader, 1, rows, 1_000).await?;
    target.wait_visible(rows, CATCH_UP).await?;
    rig.checkpoint().await?;
    if let Some((bench, db)) = profile {
        bench.profile_start(db).await?;
    }
    let (l, s) = rig.admin().await?;
    let meter = CpuMeter::start(&[&l, &s]).await?;
    let mut clients = Vec::new();
    for c in 0..scale.update_clients {
        let updater = SingleUpdater::new(legacy.connect().await?).await?;
        let (count, per) = (scale.update_clients, scale.updates_per_client);
        clients.push(tokio::spawn(async move {
            let mut first = None;
            for n in 0..per {
                // Disjoint keys per client: no lock waits between clients.
                let id = (c + n * count) % rows + 1;
                updater.update(id, n).await?;
                first.get_or_insert_with(Instant::now);
            }
            anyhow::Ok((first.unwrap_or_else(Instant::now), Instant::now()))
        }));
    }
    let mut first = None::<Instant>;
    let mut last = None::<Instant>;
    for client in clients {
        let (f, l) = client.await??;
        first = Some(first.map_or(f, |x| x.min(f)));
        last = Some(last.map_or(l, |x| x.max(l)));
    }
    let marker = rows + 1;
    workload::insert_range(&loader, marker, marker).await?;
    let visible = target.wait_visible(marker, CATCH_UP).await?;
    let cpu = meter.stop(&[&l, &s], 0.0).await?;
    let first = first.unwrap_or(visible);
    let expected = workload::phone_digest(&loader).await?;
    let problem = (target.phone_digest().await? != expected)
        .then(|| "the target's phones differ from legacy's after the run".to_string());
    Ok(Run {
        elapsed: visible.saturating_duration_since(first),
        writer: last.unwrap_or(first).saturating_duration_since(first),
        cpu,
        problem,
    })
}

/// Runs the scenario.
pub async fn run(bench: &Bench) -> anyhow::Result<Outcome> {
    let scale = &bench.scale;
    let rig = bench.rig("single-updates").await?;
    let total = (scale.update_clients * scale.updates_per_client) as f64;
    let mut notes = vec![format!(
        "{} clients × {} single-row UPDATE transactions = {total} on {} preloaded persons",
        scale.update_clients, scale.updates_per_client, scale.update_rows
    )];

    let legacy = rig.legacy_database().await?;
    let plain = rig.plain_database().await?;
    let native = NativeReplication::start("bench_native_b", &legacy, &plain).await?;
    let target = Target::native(plain.connect().await?).await?;
    let base = drive(&rig, &legacy, &target, scale, None).await?;
    notes.push(format!(
        "native: {:.2} s to visibility; legacy writers took {:.2} s ({:.0} tx/s)",
        secs(base.elapsed),
        secs(base.writer),
        total / secs(base.writer)
    ));
    native.drop().await?;

    let pair = SyncPair::new(&rig, bench.mappings.clone(), "bench_b").await?;
    pair.setup_forward().await?;
    let running = pair.start(|_| {})?;
    pair.wait_streaming().await?;
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
    let stats = &running.stats;
    notes.push(format!(
        "supra-sync: {:.2} s to visibility; legacy writers took {:.2} s ({:.0} tx/s); {} changes applied in {} target transactions, {} failed",
        secs(ours.elapsed),
        secs(ours.writer),
        total / secs(ours.writer),
        stats.applied.load(Ordering::Relaxed),
        stats.batches.load(Ordering::Relaxed),
        stats.failed.load(Ordering::Relaxed),
    ));
    running.stop().await?;
    bench.profile_notes(&pair.supra, total, &mut notes).await?;
    pair.teardown().await?;

    bench.finish(&rig, "single-updates")?;
    Ok(Outcome {
        figures: vec![
            Figure {
                label: format!("(b) single-row UPDATE tx, {} clients", scale.update_clients),
                unit: "tx/s",
                ours: total / secs(ours.elapsed),
                baseline: Some((total / secs(base.elapsed), "native LR")),
                goal: Goal::RatioAtLeast(1.5),
                problem: base
                    .problem
                    .map(|p| format!("native: {p}"))
                    .or(ours.problem.map(|p| format!("supra-sync: {p}"))),
            },
            cpu_figure(
                "(b) CPU per 1,000 updates",
                ours.cpu,
                base.cpu,
                "native LR",
                total,
            ),
        ],
        notes,
    })
}
