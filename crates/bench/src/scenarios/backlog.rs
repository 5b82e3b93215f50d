//! (e) Catching up a backlog with the real service: the changes are written while nothing
//! consumes the slot, then `supra-sync run` starts as a child process; its peak resident
//! memory (`VmHWM`) is read from `/proc/<pid>/status` when the last change is visible in
//! SUPRA. The native subscription catches up the same backlog after `ENABLE`.
//!
//! ```text
//!  setup (both directions) ─► backlog: ½ inserts, ½ updates in 1,000-row tx, then a marker
//!  spawn `supra-sync run` ─► poll marker visible (5 ms) · sample VmRSS/VmHWM (100 ms)
//!  marker visible ─► read VmHWM ─► SIGTERM ─► wait for a clean exit
//! ```

use std::path::Path;
use std::process::Stdio;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use supra_sync_engine::service::{self, SetupOptions};
use supra_sync_testkit::TestDatabase;

use crate::baseline::native::NativeReplication;
use crate::cpu::CpuMeter;
use crate::probe::{POLL, Target};
use crate::report::{Figure, Goal, Outcome, check_rows, cpu_figure};
use crate::rig::{SyncPair, TENANT};
use crate::scenarios::{Bench, secs};
use crate::workload;

const TX_ROWS: i64 = 1_000;
const CATCH_UP: Duration = Duration::from_secs(3_600);

/// Writes the backlog; returns the marker key and how long writing took.
async fn write_backlog(legacy: &TestDatabase, changes: i64) -> anyhow::Result<(i64, Duration)> {
    let client = legacy.connect().await?;
    let inserts = changes / 2;
    let started = Instant::now();
    workload::load(&client, 1, inserts, TX_ROWS).await?;
    let mut from = 1;
    let mut round = 0;
    let mut updated = 0;
    while updated < changes - inserts {
        let to = (from + TX_ROWS - 1)
            .min(inserts)
            .min(from + (changes - inserts - updated) - 1);
        updated += workload::update_range(&client, from, to, round).await? as i64;
        from = if to >= inserts { 1 } else { to + 1 };
        round += 1;
    }
    let marker = inserts + 1;
    workload::insert_range(&client, marker, marker).await?;
    Ok((marker, started.elapsed()))
}

/// `VmRSS` and `VmHWM` of a process, in kB.
fn memory_kb(pid: u32) -> Option<(u64, u64)> {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).ok()?;
    let field = |name: &str| {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
    };
    Some((field("VmRSS:")?, field("VmHWM:")?))
}

/// What the service run measured.
struct ServiceRun {
    catch_up: Duration,
    /// CPU seconds of the service process itself.
    cpu: f64,
    peak_kb: u64,
    sampled_max_kb: u64,
}

/// Runs `supra-sync run` against `pair` until `marker` is visible.
async fn run_service(bench: &Bench, pair: &SyncPair, marker: i64) -> anyhow::Result<ServiceRun> {
    let log_path = bench.log_dir.join("bench-backlog-supra-sync.log");
    let log = std::fs::File::create(&log_path)
        .with_context(|| format!("creating {}", log_path.display()))?;
    let target = Target::supra(pair.supra.connect().await?).await?;
    let started = Instant::now();
    let mut child = tokio::process::Command::new(&bench.supra_sync_bin)
        .arg("run")
        .env("SUPRA_SYNC_LEGACY_URL", &pair.legacy.connection_string)
        .env("SUPRA_SYNC_SUPRA_URL", &pair.supra.connection_string)
        .env("SUPRA_SYNC_MAPPINGS", &bench.mappings_dir)
        .env("SUPRA_SYNC_PREFIX", &pair.prefix)
        .env("SUPRA_SYNC_TENANT", TENANT)
        // Any free port: another supra-sync on this machine may hold the default one.
        .env("SUPRA_SYNC_METRICS_ADDR", "127.0.0.1:0")
        .stdin(Stdio::null())
        .stdout(Stdio::null())
        .stderr(log)
        .kill_on_drop(true)
        .spawn()
        .with_context(|| format!("starting {}", bench.supra_sync_bin.display()))?;
    let pid = child.id().context("the child has a pid")?;
    let mut sampled_max_kb = 0;
    let mut last_sample = Instant::now() - Duration::from_secs(1);
    let result = loop {
        if last_sample.elapsed() >= Duration::from_millis(100) {
            if let Some((rss, _)) = memory_kb(pid) {
                sampled_max_kb = sampled_max_kb.max(rss);
            }
            last_sample = Instant::now();
        }
        if !target.visible(&[marker]).await?.is_empty() {
            let catch_up = started.elapsed();
            let (_, peak_kb) = memory_kb(pid).context("reading /proc/<pid>/status")?;
            break Ok(ServiceRun {
                catch_up,
                cpu: crate::cpu::process_seconds(pid).unwrap_or(0.0),
                peak_kb,
                sampled_max_kb,
            });
        }
        if let Some(status) = child.try_wait()? {
            break Err(anyhow::anyhow!(
                "supra-sync run exited with {status} before catching up; see {}",
                log_path.display()
            ));
        }
        if started.elapsed() > CATCH_UP {
            break Err(anyhow::anyhow!(
                "supra-sync run did not catch up within {CATCH_UP:?}"
            ));
        }
        tokio::time::sleep(POLL).await;
    };
    stop_child(&mut child, pid).await?;
    result
}

/// SIGTERM (graceful shutdown), then SIGKILL after 30 s.
async fn stop_child(child: &mut tokio::process::Child, pid: u32) -> anyhow::Result<()> {
    let _ = std::process::Command::new("kill")
        .args(["-TERM", &pid.to_string()])
        .status();
    match tokio::time::timeout(Duration::from_secs(30), child.wait()).await {
        Ok(status) => {
            status?;
        }
        Err(_) => {
            child.kill().await?;
            bail!("supra-sync run did not stop within 30 s of SIGTERM");
        }
    }
    Ok(())
}

/// Runs the scenario.
pub async fn run(bench: &Bench) -> anyhow::Result<Outcome> {
    let changes = bench.scale.backlog_changes;
    if !Path::new(&bench.supra_sync_bin).exists() {
        bail!(
            "{} not found; build it with `cargo build --release -p supra-sync` or pass --supra-sync-bin",
            bench.supra_sync_bin.display()
        );
    }
    let rig = bench.rig("backlog").await?;
    let mut notes = vec![format!(
        "{changes} changes: {} inserted persons in {TX_ROWS}-row transactions, then {} row updates in {TX_ROWS}-row transactions, then one marker row",
        changes / 2,
        changes - changes / 2
    )];

    // Baseline: the native subscription, disabled while the backlog is written.
    let legacy = rig.legacy_database().await?;
    let plain = rig.plain_database().await?;
    let native = NativeReplication::start("bench_native_e", &legacy, &plain).await?;
    native.disable().await?;
    let (marker, wrote) = write_backlog(&legacy, changes).await?;
    rig.checkpoint().await?;
    let target = Target::native(plain.connect().await?).await?;
    let (l, s) = rig.admin().await?;
    let meter = CpuMeter::start(&[&l, &s]).await?;
    let started = Instant::now();
    native.enable().await?;
    let base = target
        .wait_visible(marker, CATCH_UP)
        .await?
        .saturating_duration_since(started);
    let base_cpu = meter.stop(&[&l, &s], 0.0).await?;
    notes.push(format!(
        "native: backlog written in {:.1} s; caught up in {:.1} s",
        secs(wrote),
        secs(base)
    ));
    let native_problem = check_rows("the native target", target.count().await?, marker);
    native.drop().await?;

    // supra-sync: the real service binary.
    let pair = SyncPair::new(&rig, bench.mappings.clone(), "bench_e").await?;
    let (legacy, supra) = (pair.legacy.connect().await?, pair.supra.connect().await?);
    let setup = SetupOptions {
        names: pair.names.clone(),
        tenant: TENANT.into(),
        tenant_name: None,
        snapshot: false,
    };
    service::setup_all(&legacy, &supra, &bench.mappings, &setup).await?;
    let (marker, wrote) = write_backlog(&pair.legacy, changes).await?;
    rig.checkpoint().await?;
    bench.profile_start(&pair.supra).await?;
    let meter = CpuMeter::start(&[&l, &s]).await?;
    let ours = run_service(bench, &pair, marker).await?;
    let ours_cpu = meter.stop(&[&l, &s], ours.cpu).await?;
    let persons = Target::supra(pair.supra.connect().await?)
        .await?
        .count()
        .await?;
    let logged: i64 = supra
        .query_one("SELECT count(*) FROM supra_sync.sync_log", &[])
        .await?
        .get(0);
    notes.push(format!(
        "supra-sync run: backlog written in {:.1} s; caught up in {:.1} s; VmHWM {:.0} MB (sampled VmRSS max {:.0} MB); {persons} persons, {logged} sync_log rows",
        secs(wrote),
        secs(ours.catch_up),
        ours.peak_kb as f64 / 1024.0,
        ours.sampled_max_kb as f64 / 1024.0
    ));
    bench
        .profile_notes(&pair.supra, changes as f64, &mut notes)
        .await?;
    let problem = native_problem
        .or(check_rows("SUPRA persons", persons, marker))
        .or((Target::supra(pair.supra.connect().await?)
            .await?
            .phone_digest()
            .await?
            != workload::phone_digest(&legacy).await?)
            .then(|| "SUPRA phones differ from legacy's after catching up".to_string()));
    service::teardown_all(&legacy, &supra, &pair.names, false).await?;

    let rate = (changes + 1) as f64;
    bench.finish(&rig, "backlog")?;
    Ok(Outcome {
        figures: vec![
            Figure {
                label: format!("(e) peak RSS catching up {changes} changes"),
                unit: "MB",
                ours: ours.peak_kb as f64 / 1024.0,
                baseline: None,
                goal: Goal::Below(300.0),
                problem: problem.clone(),
            },
            Figure {
                label: format!("(e) catch-up rate, {changes} changes"),
                unit: "changes/s",
                ours: rate / secs(ours.catch_up),
                baseline: Some((rate / secs(base), "native LR")),
                goal: Goal::None,
                problem,
            },
            cpu_figure(
                "(e) CPU per 1,000 changes caught up",
                ours_cpu,
                base_cpu,
                "native LR",
                rate,
            ),
        ],
        notes,
    })
}
