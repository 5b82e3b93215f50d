//! The bench rig: a pair of durable PostgreSQL clusters (legacy, SUPRA) and fresh databases
//! on them for every measurement, plus the in-process legacy → SUPRA pipeline.
//!
//! ```text
//!  Rig ── legacy cluster (fsync on) ── legacy template (sql/legacy) ──clone──► one db per measurement
//!      └─ SUPRA cluster  (fsync on) ── SUPRA template (migrated + tenant) ──► one db per measurement
//!                                   └─ empty databases (plain-copy targets of the baselines)
//! ```
//! Templates are built once per cluster, so each measurement starts from an identical,
//! freshly cloned database; [`Rig::checkpoint`] runs before every timed section so that
//! neither side inherits the other's dirty buffers.

use std::path::PathBuf;
use std::sync::Arc;
use std::time::{Duration, Instant};

use anyhow::{Context, bail};
use supra_sync_core::Side;
use supra_sync_engine::{EngineError, Pipeline, PipelineOptions, PipelineStats};
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::names::ObjectNames;
use supra_sync_postgres::{DbConfig, migrate, setup};
use supra_sync_testkit::{Cluster, ClusterOptions, TestDatabase};
use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_postgres::Client;

/// Settings added to the testkit's logical-replication configuration, identical on both
/// clusters and for both sides of every comparison. A large `max_wal_size` keeps
/// size-triggered checkpoints out of the timed sections (each section starts after an
/// explicit `CHECKPOINT`).
pub const EXTRA_SETTINGS: &[(&str, &str)] =
    &[("max_wal_size", "'8GB'"), ("checkpoint_timeout", "'30min'")];

/// The settings printed in the report.
pub const REPORTED_SETTINGS: &[&str] = &[
    "server_version",
    "fsync",
    "synchronous_commit",
    "full_page_writes",
    "wal_level",
    "shared_buffers",
    "max_wal_size",
    "checkpoint_timeout",
    "wal_writer_delay",
    "track_commit_timestamp",
];

/// The tenant every SUPRA database is created with.
pub const TENANT: &str = "cea-queretaro";

/// Two durable clusters.
pub struct Rig {
    /// The legacy (AquaCIS) cluster.
    pub legacy: Cluster,
    /// The SUPRA cluster.
    pub supra: Cluster,
}

impl Rig {
    /// Runs `initdb` for both clusters (fsync on) and starts them, with [`EXTRA_SETTINGS`]
    /// and then `more` (e.g. `log_min_duration_statement` while profiling).
    pub async fn start(label: &str, more: &[(String, String)]) -> anyhow::Result<Rig> {
        let label = label.to_string();
        let mut settings: Vec<(String, String)> = EXTRA_SETTINGS
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        settings.extend_from_slice(more);
        tokio::task::spawn_blocking(move || {
            let options = |side: &str| ClusterOptions {
                name: format!("bench-{label}-{side}"),
                settings: settings.clone(),
                durable: true,
            };
            Ok(Rig {
                legacy: Cluster::start(options("legacy")).context("starting the legacy cluster")?,
                supra: Cluster::start(options("supra")).context("starting the SUPRA cluster")?,
            })
        })
        .await?
    }

    /// Writes both server logs into `dir` as `<label>-{legacy,supra}.log`.
    pub fn save_logs(&self, dir: &std::path::Path, label: &str) -> anyhow::Result<()> {
        for (side, cluster) in [("legacy", &self.legacy), ("supra", &self.supra)] {
            let path = dir.join(format!("{label}-{side}.log"));
            std::fs::write(&path, cluster.server_log())
                .with_context(|| format!("writing {}", path.display()))?;
        }
        Ok(())
    }

    /// A fresh legacy database holding the whole `cf_quere_pro` schema, no rows.
    pub async fn legacy_database(&self) -> anyhow::Result<TestDatabase> {
        Ok(self
            .legacy
            .fresh_database_from("legacy", |db| async move {
                let client = db.connect().await.map_err(|e| e.to_string())?;
                supra_sync_fixture::apply_legacy_schema(&client)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await?)
    }

    /// A fresh SUPRA database: migrated (SUPRA + sync tables) with the tenant row.
    pub async fn supra_database(&self) -> anyhow::Result<TestDatabase> {
        Ok(self
            .supra
            .fresh_database_from("supra", |db| async move {
                let cfg =
                    DbConfig::parse("supra", &db.connection_string).map_err(|e| e.to_string())?;
                migrate::migrate_supra(&cfg)
                    .await
                    .map_err(|e| e.to_string())?;
                let client = db.connect().await.map_err(|e| e.to_string())?;
                client
                    .execute(
                        "INSERT INTO public.tenants (name, slug) VALUES ('CEA Querétaro', $1)",
                        &[&TENANT],
                    )
                    .await
                    .map(|_| ())
                    .map_err(|e| e.to_string())
            })
            .await?)
    }

    /// A fresh empty database on the SUPRA cluster (target of a baseline).
    pub async fn plain_database(&self) -> anyhow::Result<TestDatabase> {
        Ok(self.supra.fresh_database("plain").await?)
    }

    /// `CHECKPOINT` on both clusters, so a timed section starts with clean buffers.
    pub async fn checkpoint(&self) -> anyhow::Result<()> {
        for cluster in [&self.legacy, &self.supra] {
            cluster
                .connect("postgres")
                .await?
                .batch_execute("CHECKPOINT")
                .await?;
        }
        Ok(())
    }

    /// One connection to each cluster (for [`crate::cpu::CpuMeter`]).
    pub async fn admin(&self) -> anyhow::Result<(Client, Client)> {
        Ok((
            self.legacy.connect("postgres").await?,
            self.supra.connect("postgres").await?,
        ))
    }

    /// The reported settings, as the legacy server shows them.
    pub async fn settings(&self) -> anyhow::Result<Vec<(String, String)>> {
        let client = self.legacy.connect("postgres").await?;
        let rows = client
            .query(
                "SELECT name, setting || COALESCE(' ' || unit, '') FROM pg_settings
                  WHERE name = ANY($1) ORDER BY array_position($1, name::text)",
                &[&REPORTED_SETTINGS],
            )
            .await?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }
}

/// The shipped mapping files.
pub fn load_mappings(dir: &std::path::Path) -> anyhow::Result<Arc<MappingSet>> {
    MappingSet::load_dir(dir)
        .map(Arc::new)
        .map_err(|d| anyhow::anyhow!("the mappings in {} are not valid:\n{d}", dir.display()))
}

/// The repository's `mappings/` directory (compile-time location).
pub fn default_mappings_dir() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

/// A legacy and a SUPRA database wired for the legacy → SUPRA pipeline.
pub struct SyncPair {
    /// Legacy database.
    pub legacy: TestDatabase,
    /// SUPRA database.
    pub supra: TestDatabase,
    /// Prefix of the slot, publication and origin names.
    pub prefix: String,
    /// Slot, publication and origin names.
    pub names: ObjectNames,
    /// Mappings.
    pub mappings: Arc<MappingSet>,
}

impl SyncPair {
    /// Fresh databases on `rig`; `prefix` names the slot, publication and origin (slots are
    /// cluster-wide, so it must be unique on the rig).
    pub async fn new(
        rig: &Rig,
        mappings: Arc<MappingSet>,
        prefix: &str,
    ) -> anyhow::Result<SyncPair> {
        Ok(SyncPair {
            legacy: rig.legacy_database().await?,
            supra: rig.supra_database().await?,
            prefix: prefix.to_string(),
            names: ObjectNames::with_prefix(prefix),
            mappings,
        })
    }

    /// Connection settings of one side.
    pub fn config(&self, side: Side) -> anyhow::Result<DbConfig> {
        Ok(match side {
            Side::Legacy => DbConfig::parse("legacy", &self.legacy.connection_string)?,
            Side::Supra => DbConfig::parse("supra", &self.supra.connection_string)?,
        })
    }

    /// Publication and slot on legacy, replication origin on SUPRA (forward direction only,
    /// like the one-directional native subscription it is compared with).
    pub async fn setup_forward(&self) -> anyhow::Result<()> {
        let legacy = self.legacy.connect().await?;
        let supra = self.supra.connect().await?;
        setup::setup_source(
            &legacy,
            Side::Legacy,
            &self.names,
            &self.mappings.legacy_tables(),
        )
        .await?;
        setup::setup_target(&supra, Side::Legacy, &self.names).await?;
        Ok(())
    }

    /// Drops the slot and publication, so a finished measurement retains no WAL.
    pub async fn teardown(&self) -> anyhow::Result<()> {
        let legacy = self.legacy.connect().await?;
        setup::teardown_source(&legacy, Side::Legacy, &self.names).await?;
        Ok(())
    }

    /// Waits until the pipeline streams from the slot.
    pub async fn wait_streaming(&self) -> anyhow::Result<()> {
        let legacy = self.legacy.connect().await?;
        wait_slot_active(&legacy, &self.names.slot(Side::Legacy)).await
    }

    /// Starts the legacy → SUPRA pipeline in this process with the service defaults
    /// (adjusted by `adjust`).
    pub fn start(&self, adjust: impl FnOnce(&mut PipelineOptions)) -> anyhow::Result<Running> {
        let mut opts = PipelineOptions::new(Side::Legacy);
        opts.names = self.names.clone();
        opts.tenant = TENANT.into();
        adjust(&mut opts);
        let pipeline = Pipeline::new(
            opts,
            self.config(Side::Legacy)?,
            self.config(Side::Supra)?,
            self.mappings.clone(),
        );
        let stats = pipeline.stats();
        let (stop, stopped) = watch::channel(false);
        let handle = tokio::spawn(async move { pipeline.run(stopped).await });
        Ok(Running {
            stop,
            handle,
            stats,
        })
    }
}

/// A pipeline running in a task.
pub struct Running {
    stop: watch::Sender<bool>,
    handle: JoinHandle<Result<(), EngineError>>,
    /// Its live counters.
    pub stats: Arc<PipelineStats>,
}

impl Running {
    /// Fails when the pipeline task already ended (with its error).
    pub fn check(&self) -> anyhow::Result<()> {
        if self.handle.is_finished() {
            bail!("the pipeline stopped unexpectedly");
        }
        Ok(())
    }

    /// Stops it and returns its result.
    pub async fn stop(self) -> anyhow::Result<()> {
        let _ = self.stop.send(true);
        self.handle.await??;
        Ok(())
    }
}

/// Waits until a walsender streams from `slot` (the consumer is connected and caught up
/// with the slot's start), so that start-up time is not part of a timed section.
pub async fn wait_slot_active(legacy: &Client, slot: &str) -> anyhow::Result<()> {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let active: Option<bool> = legacy
            .query_opt(
                "SELECT s.active AND EXISTS (SELECT 1 FROM pg_stat_replication r
                                              WHERE r.pid = s.active_pid AND r.state = 'streaming')
                   FROM pg_replication_slots s WHERE s.slot_name = $1",
                &[&slot],
            )
            .await?
            .map(|r| r.get(0));
        if active == Some(true) {
            return Ok(());
        }
        if Instant::now() > deadline {
            bail!("slot {slot} did not become active within 60 s");
        }
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}
