//! A legacy and a SUPRA database wired for sync, per test.

use std::path::PathBuf;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use supra_sync_core::Side;
use supra_sync_engine::{Pipeline, PipelineOptions};
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::names::ObjectNames;
use supra_sync_postgres::{DbConfig, migrate, setup};
use supra_sync_testkit::{TestDatabase, legacy, supra, wait_until};
use tokio::sync::watch;
use tokio::task::JoinHandle;

fn repo_root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// The shipped mapping files.
pub fn mappings() -> Arc<MappingSet> {
    Arc::new(MappingSet::load_dir(&repo_root().join("mappings")).expect("shipped mappings load"))
}

async fn legacy_schema(db: TestDatabase) -> Result<(), String> {
    let client = db.connect().await.map_err(|e| e.to_string())?;
    let mut files: Vec<PathBuf> = std::fs::read_dir(repo_root().join("sql/legacy"))
        .map_err(|e| e.to_string())?
        .map(|e| e.unwrap().path())
        .filter(|p| p.extension().is_some_and(|x| x == "sql"))
        .collect();
    files.sort();
    for f in files {
        let sql = std::fs::read_to_string(&f).map_err(|e| e.to_string())?;
        client
            .batch_execute(&sql)
            .await
            .map_err(|e| format!("{}: {e}", f.display()))?;
    }
    Ok(())
}

async fn supra_schema(db: TestDatabase) -> Result<(), String> {
    let cfg = DbConfig::parse("supra", &db.connection_string).map_err(|e| e.to_string())?;
    migrate::migrate_supra(&cfg)
        .await
        .map_err(|e| e.to_string())?;
    let client = db.connect().await.map_err(|e| e.to_string())?;
    client
        .batch_execute("INSERT INTO tenants (name, slug) VALUES ('CEA Querétaro', 'cea-queretaro')")
        .await
        .map_err(|e| e.to_string())
}

/// Two databases with schemas, publications, slots and origins for both directions.
pub struct SyncEnv {
    /// Legacy database.
    pub legacy: TestDatabase,
    /// SUPRA database.
    pub supra: TestDatabase,
    /// Names unique to this test (slots are cluster-wide).
    pub names: ObjectNames,
    /// Mappings.
    pub mappings: Arc<MappingSet>,
}

static NEXT: AtomicU32 = AtomicU32::new(0);

impl SyncEnv {
    /// Builds the databases and runs setup for both directions.
    pub async fn new() -> SyncEnv {
        Self::with_mappings(mappings()).await
    }

    /// The shipped mappings with persona's conflict policy replaced.
    pub async fn with_persona_policy(policy: &str) -> SyncEnv {
        let dir = repo_root().join("mappings");
        let mut files = Vec::new();
        for entry in std::fs::read_dir(&dir).unwrap() {
            let path = entry.unwrap().path();
            let mut text = std::fs::read_to_string(&path).unwrap();
            if path.file_name().is_some_and(|n| n == "persona.toml") {
                text = text.replace(
                    "conflicts = \"manual\"",
                    &format!("conflicts = \"{policy}\""),
                );
            }
            files.push((path, text));
        }
        Self::with_mappings(Arc::new(MappingSet::from_sources(&files).unwrap())).await
    }

    /// Builds the databases with the given mappings and runs setup for both directions.
    pub async fn with_mappings(mappings: Arc<MappingSet>) -> SyncEnv {
        let legacy_db = legacy()
            .fresh_database_from("legacy_schema", legacy_schema)
            .await
            .unwrap();
        let supra_db = supra()
            .fresh_database_from("supra_schema", supra_schema)
            .await
            .unwrap();
        let names = ObjectNames::with_prefix(&format!(
            "t{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        ));
        let env = SyncEnv {
            legacy: legacy_db,
            supra: supra_db,
            names,
            mappings,
        };
        let l = env.legacy.connect().await.unwrap();
        let s = env.supra.connect().await.unwrap();
        setup::setup_source(&l, Side::Legacy, &env.names, &env.mappings.legacy_tables())
            .await
            .unwrap();
        setup::setup_source(&s, Side::Supra, &env.names, &env.mappings.supra_tables())
            .await
            .unwrap();
        setup::setup_target(&s, Side::Legacy, &env.names)
            .await
            .unwrap();
        setup::setup_target(&l, Side::Supra, &env.names)
            .await
            .unwrap();
        env
    }

    /// Connection settings.
    pub fn config(&self, side: Side) -> DbConfig {
        match side {
            Side::Legacy => DbConfig::parse("legacy", &self.legacy.connection_string).unwrap(),
            Side::Supra => DbConfig::parse("supra", &self.supra.connection_string).unwrap(),
        }
    }

    /// Starts one direction in the background.
    pub fn start(&self, source: Side) -> RunningPipeline {
        self.start_with(source, |_| {})
    }

    /// Starts one direction with adjusted options.
    pub fn start_with(
        &self,
        source: Side,
        adjust: impl FnOnce(&mut PipelineOptions),
    ) -> RunningPipeline {
        let _ = tracing_subscriber::fmt()
            .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
            .with_test_writer()
            .try_init();
        let mut opts = PipelineOptions::new(source);
        opts.names = self.names.clone();
        opts.heartbeat_interval = Duration::from_millis(200);
        adjust(&mut opts);
        let pipeline = Pipeline::new(
            opts,
            self.config(Side::Legacy),
            self.config(Side::Supra),
            self.mappings.clone(),
        );
        let (tx, rx) = watch::channel(false);
        let handle = tokio::spawn(async move { pipeline.run(rx).await.map_err(|e| e.to_string()) });
        RunningPipeline {
            shutdown: tx,
            handle,
        }
    }

    /// Removes slots so no test leaves WAL retained.
    pub async fn teardown(&self) {
        let l = self.legacy.connect().await.unwrap();
        let s = self.supra.connect().await.unwrap();
        setup::teardown_source(&l, Side::Legacy, &self.names)
            .await
            .unwrap();
        setup::teardown_source(&s, Side::Supra, &self.names)
            .await
            .unwrap();
    }
}

/// A pipeline running in a task.
pub struct RunningPipeline {
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<Result<(), String>>,
}

impl RunningPipeline {
    /// Stops it and returns its result.
    pub async fn stop(self) -> Result<(), String> {
        let _ = self.shutdown.send(true);
        self.handle.await.unwrap()
    }
}

/// Waits until `sql` (returning one bigint) returns `expected`.
pub async fn wait_count(client: &tokio_postgres::Client, sql: &str, expected: i64) {
    wait_until(
        &format!("{sql} = {expected}"),
        Duration::from_secs(60),
        || async {
            let n: i64 = client
                .query_one(sql, &[])
                .await
                .map_err(|e| e.to_string())?
                .get(0);
            if n == expected {
                Ok(true)
            } else {
                Err(format!("{n}"))
            }
        },
    )
    .await
    .unwrap();
}
