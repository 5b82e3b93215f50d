//! `supra-sync demo`: the embedded default. Starts two local PostgreSQL clusters, seeds a
//! legacy fixture, migrates SUPRA, sets up sync, snapshots, streams both ways under a small
//! live workload, and shows progress until Ctrl-C (or `--duration`).

use std::process::ExitCode;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::{Duration, Instant};

use clap::Args;
use rand::{Rng, SeedableRng};
use supra_sync_engine::service::{self, Service, SetupOptions};
use supra_sync_fixture::FixtureConfig;
use supra_sync_postgres::{DbConfig, migrate};
use supra_sync_testkit::{Cluster, ClusterOptions};
use tokio::sync::watch;

use crate::commands::sync::load_mappings;
use crate::config::RunConfig;
use crate::options::GlobalOptions;

/// `supra-sync demo`.
#[derive(Args, Debug)]
pub struct DemoArgs {
    /// Accounts in the seeded legacy fixture.
    #[arg(long, default_value_t = 2_000)]
    pub accounts: u64,
    /// Stop after this many seconds (default: run until Ctrl-C).
    #[arg(long, value_name = "SECONDS")]
    pub duration: Option<u64>,
    /// Live workload: changes per second on each side.
    #[arg(long, default_value_t = 20)]
    pub rate: u32,
}

/// Runs the demo.
pub async fn run(global: &GlobalOptions, args: DemoArgs) -> anyhow::Result<ExitCode> {
    let mappings = load_mappings(global)?;
    println!("starting two local PostgreSQL 15 clusters (legacy, SUPRA)…");
    let legacy_cluster = Cluster::start(ClusterOptions::named("demo-legacy"))?;
    let supra_cluster = Cluster::start(ClusterOptions::named("demo-supra"))?;
    for (cluster, db) in [(&legacy_cluster, "cf_quere_pro"), (&supra_cluster, "supra")] {
        cluster
            .connect("postgres")
            .await?
            .batch_execute(&format!("CREATE DATABASE {db}"))
            .await?;
    }
    let legacy_db = DbConfig::parse("legacy", &legacy_cluster.connection_string("cf_quere_pro"))?;
    let supra_db = DbConfig::parse("supra", &supra_cluster.connection_string("supra"))?;
    let legacy = legacy_db.connect().await?;
    let supra = supra_db.connect().await?;

    println!("seeding the legacy fixture ({} accounts)…", args.accounts);
    supra_sync_fixture::apply_legacy_schema(&legacy).await?;
    let fixture = FixtureConfig {
        tmp_deuda: 20,
        aux_varscreditored: 5,
        tmpbb: 2,
        ..FixtureConfig::with_accounts(args.accounts)
    };
    let report = supra_sync_fixture::seed(&legacy, &fixture, |_, _| {}).await?;
    println!("  {report}");
    println!("migrating SUPRA and setting up sync…");
    migrate::migrate_supra(&supra_db).await?;
    let config = RunConfig::default();
    let opts = SetupOptions {
        names: supra_sync_postgres::names::ObjectNames::with_prefix(&config.prefix),
        tenant: config.tenant.clone(),
        tenant_name: Some("CEA Querétaro".into()),
        snapshot: true,
    };
    service::setup_all(&legacy, &supra, &mappings, &opts).await?;
    println!(
        "\nconnect with psql:\n  legacy: psql -h 127.0.0.1 -p {} -U postgres cf_quere_pro\n  SUPRA:  psql -h 127.0.0.1 -p {} -U postgres supra   (SET app.is_admin = 'true' to see every tenant's rows)\n",
        legacy_cluster.port(),
        supra_cluster.port()
    );

    let mut pipeline_opts = config.pipeline_options();
    pipeline_opts.heartbeat_interval = Duration::from_secs(1);
    let service = Arc::new(Service::new(
        &pipeline_opts,
        legacy_db.clone(),
        supra_db.clone(),
        mappings,
    ));
    let (stop, stopped) = watch::channel(false);
    let runner = {
        let service = service.clone();
        tokio::spawn(async move { service.run(stopped).await })
    };
    let workload = tokio::spawn(workload(legacy_db.clone(), supra_db.clone(), args.rate));
    let (forward, reverse) = service.stats();
    let started = Instant::now();
    let mut last_applied = 0u64;
    let mut tick = tokio::time::interval(Duration::from_secs(2));
    let deadline = args.duration.map(|s| started + Duration::from_secs(s));
    supra.batch_execute("SET app.is_admin = 'true'").await?;
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            _ = tokio::signal::ctrl_c() => break,
        }
        if runner.is_finished() {
            break;
        }
        let applied = forward.applied.load(Ordering::Relaxed);
        let rate = (applied - last_applied) / 2;
        last_applied = applied;
        let lag_ms = lag_ms(forward.last_commit_micros.load(Ordering::Relaxed));
        let snapshot = supra
            .query("SELECT entity_type::text, rows_copied, status::text FROM supra_sync.snapshot_progress ORDER BY entity_type", &[])
            .await?;
        let done = snapshot
            .iter()
            .filter(|r| r.get::<_, String>(2) == "done")
            .count();
        let copied: i64 = snapshot.iter().map(|r| r.get::<_, i64>(1)).sum();
        let current: Vec<String> = snapshot
            .iter()
            .filter(|r| r.get::<_, String>(2) != "done" && r.get::<_, i64>(1) > 0)
            .map(|r| format!("{} {} rows", r.get::<_, String>(0), r.get::<_, i64>(1)))
            .collect();
        let snap = format!(
            "{done}/{} entities done, {copied} rows copied{}",
            snapshot.len(),
            if current.is_empty() {
                String::new()
            } else {
                format!("; in progress: {}", current.join(", "))
            }
        );
        let failed: i64 = supra
            .query_one(
                "SELECT count(*) FROM supra_sync.sync_log WHERE status = 'failed'",
                &[],
            )
            .await?
            .get(0);
        let conflicts: i64 = supra
            .query_one(
                "SELECT count(*) FROM supra_sync.sync_conflicts WHERE status = 'open'",
                &[],
            )
            .await?
            .get(0);
        println!(
            "[{:>4}s] legacy→SUPRA applied {applied} ({rate}/s, lag {lag_ms} ms) · SUPRA→legacy applied {} · failed {failed} · open conflicts {conflicts}\n        snapshot: {}",
            started.elapsed().as_secs(),
            reverse
                .as_ref()
                .map_or(0, |r| r.applied.load(Ordering::Relaxed)),
            snap
        );
        if deadline.is_some_and(|d| Instant::now() >= d) {
            break;
        }
    }
    workload.abort();
    let _ = stop.send(true);
    let result = runner.await?;
    legacy_cluster.shutdown();
    supra_cluster.shutdown();
    result?;
    println!("demo stopped; clusters removed");
    Ok(ExitCode::SUCCESS)
}

fn lag_ms(last_commit_micros: u64) -> i64 {
    if last_commit_micros == 0 {
        return 0;
    }
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap_or_default()
        .as_micros() as i64;
    ((now - last_commit_micros as i64) / 1000).max(0)
}

/// A small live workload: phone changes on legacy persons, new legacy persons, and phone
/// changes made in SUPRA (which flow back to legacy).
async fn workload(legacy: DbConfig, supra: DbConfig, rate: u32) -> anyhow::Result<()> {
    let l = legacy.connect().await?;
    let s = supra.connect().await?;
    s.batch_execute("SET app.is_admin = 'true'").await?;
    let mut rng = rand::rngs::StdRng::seed_from_u64(7);
    let mut tick = tokio::time::interval(Duration::from_millis(1000 / u64::from(rate.max(1))));
    // Persons are numbered from the fixture's first id (100000), not from 1.
    let bounds = l
        .query_one(
            "SELECT COALESCE(min(prsid), 1)::text, COALESCE(max(prsid), 1)::text FROM cf_quere_pro.persona",
            &[],
        )
        .await?;
    let min: i64 = bounds.get::<_, String>(0).parse().unwrap_or(1);
    let max: i64 = bounds.get::<_, String>(1).parse().unwrap_or(1).max(min);
    loop {
        tick.tick().await;
        let id = rng.gen_range(min..=max);
        let phone = format!("442{:07}", rng.gen_range(0..10_000_000));
        l.execute(
            "UPDATE cf_quere_pro.persona SET prstelef = $1, prshsthora = now()::timestamp WHERE prsid = $2::text::numeric",
            &[&phone, &id.to_string()],
        )
        .await?;
        if rng.gen_bool(0.3) {
            let phone = format!("441{:07}", rng.gen_range(0..10_000_000));
            s.execute(
                "UPDATE persons SET phone = $1, updated_at = now()
                  WHERE id = (SELECT id FROM persons OFFSET floor(random() * 50) LIMIT 1)",
                &[&phone],
            )
            .await?;
        }
    }
}
