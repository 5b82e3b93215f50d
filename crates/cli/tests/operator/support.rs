//! A legacy and a SUPRA database wired for sync (through the libraries, like `setup`), the
//! pipelines as library tasks, and the `supra-sync` binary run against both databases.

use std::path::{Path, PathBuf};
use std::process::Stdio;
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
use tokio_postgres::Client;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// Two databases with schemas, publications, slots and origins for both directions.
pub struct Env {
    pub legacy: TestDatabase,
    pub supra: TestDatabase,
    pub names: ObjectNames,
    pub prefix: String,
    pub mappings: Arc<MappingSet>,
}

/// What the binary printed and how it exited.
pub struct Output {
    pub code: i32,
    pub stdout: String,
    pub stderr: String,
}

impl std::fmt::Debug for Output {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(
            f,
            "exit {}\n--- stdout\n{}--- stderr\n{}",
            self.code, self.stdout, self.stderr
        )
    }
}

impl Env {
    /// With the shipped mappings.
    pub async fn new() -> Env {
        Self::with_mappings(&repo().join("mappings")).await
    }

    /// With the mappings of `dir` for the pipelines.
    pub async fn with_mappings(dir: &Path) -> Env {
        let legacy_db = legacy()
            .fresh_database_from("operator_legacy", |db| async move {
                let c = db.connect().await.map_err(|e| e.to_string())?;
                supra_sync_fixture::apply_legacy_schema(&c)
                    .await
                    .map_err(|e| e.to_string())
            })
            .await
            .unwrap();
        let supra_db = supra()
            .fresh_database_from("operator_supra", |db| async move {
                let cfg =
                    DbConfig::parse("supra", &db.connection_string).map_err(|e| e.to_string())?;
                migrate::migrate_supra(&cfg)
                    .await
                    .map_err(|e| e.to_string())?;
                let c = db.connect().await.map_err(|e| e.to_string())?;
                c.batch_execute(
                    "INSERT INTO tenants (name, slug) VALUES ('CEA Querétaro', 'cea-queretaro')",
                )
                .await
                .map_err(|e| e.to_string())
            })
            .await
            .unwrap();
        let prefix = format!(
            "op{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let env = Env {
            legacy: legacy_db,
            supra: supra_db,
            names: ObjectNames::with_prefix(&prefix),
            prefix,
            mappings: Arc::new(MappingSet::load_dir(dir).unwrap()),
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

    fn config(&self, side: Side) -> DbConfig {
        match side {
            Side::Legacy => DbConfig::parse("legacy", &self.legacy.connection_string).unwrap(),
            Side::Supra => DbConfig::parse("supra", &self.supra.connection_string).unwrap(),
        }
    }

    /// Starts one direction in the background.
    pub fn start(&self, source: Side) -> Running {
        let mut opts = PipelineOptions::new(source);
        opts.names = self.names.clone();
        opts.heartbeat_interval = Duration::from_millis(200);
        let pipeline = Pipeline::new(
            opts,
            self.config(Side::Legacy),
            self.config(Side::Supra),
            self.mappings.clone(),
        );
        let (tx, rx) = watch::channel(false);
        let handle = tokio::spawn(async move { pipeline.run(rx).await.map_err(|e| e.to_string()) });
        Running {
            shutdown: tx,
            handle,
        }
    }

    /// `supra-sync args…` against these databases (nothing inherited from the caller's
    /// `SUPRA_SYNC_*` environment; stdin is not a terminal).
    pub async fn cli(&self, args: &[&str]) -> Output {
        self.cli_with(&repo().join("mappings"), args).await
    }

    /// The same with another mappings directory.
    pub async fn cli_with(&self, mappings: &Path, args: &[&str]) -> Output {
        let mut c = tokio::process::Command::new(env!("CARGO_BIN_EXE_supra-sync"));
        for (key, _) in std::env::vars() {
            if key.starts_with("SUPRA_SYNC_") || key == "RUST_LOG" || key == "USER" {
                c.env_remove(key);
            }
        }
        let out = c
            .arg("--legacy")
            .arg(&self.legacy.connection_string)
            .arg("--supra")
            .arg(&self.supra.connection_string)
            .arg("--mappings")
            .arg(mappings)
            .args(args)
            .env("SUPRA_SYNC_PREFIX", &self.prefix)
            .env("USER", "operator-test")
            .stdin(Stdio::null())
            .output()
            .await
            .expect("run supra-sync");
        Output {
            code: out.status.code().unwrap_or(-1),
            stdout: String::from_utf8_lossy(&out.stdout).into_owned(),
            stderr: String::from_utf8_lossy(&out.stderr).into_owned(),
        }
    }

    /// A SUPRA session that sees every tenant's rows.
    pub async fn admin(&self) -> Client {
        let c = self.supra.connect().await.unwrap();
        c.batch_execute("SET app.is_admin = 'true'").await.unwrap();
        c
    }

    /// Removes the slots (no test leaves WAL retained).
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
pub struct Running {
    shutdown: watch::Sender<bool>,
    handle: JoinHandle<Result<(), String>>,
}

impl Running {
    pub async fn stop(self) {
        let _ = self.shutdown.send(true);
        self.handle.await.unwrap().unwrap();
    }
}

/// The first column of the first row, as text.
pub async fn one(client: &Client, sql: &str) -> Option<String> {
    client
        .query_opt(sql, &[])
        .await
        .unwrap()
        .and_then(|r| r.get::<_, Option<String>>(0))
}

/// A count.
pub async fn count(client: &Client, sql: &str) -> i64 {
    client.query_one(sql, &[]).await.unwrap().get(0)
}

/// Waits until `sql` (one bigint) returns `expected`.
pub async fn wait_count(client: &Client, sql: &str, expected: i64) {
    wait_until(
        &format!("{sql} = {expected}"),
        Duration::from_secs(90),
        || async {
            let n = count(client, sql).await;
            if n == expected {
                Ok(true)
            } else {
                Err(n.to_string())
            }
        },
    )
    .await
    .unwrap();
}

/// Persons 1 (Lucía) and 2 (Pedro) synced with both versions recorded; then both persons'
/// phones are edited on both sides while the SUPRA → legacy pipeline is stopped: two manual
/// conflicts, and the SUPRA edits held behind them. Pipelines stopped on return.
pub async fn two_conflicts(env: &Env) -> (Client, Client) {
    let legacy = env.legacy.connect().await.unwrap();
    let supra = env.admin().await;
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    legacy
        .batch_execute(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre, prstelef) VALUES
               (1, 'F', 'Lucía', '4420000001'), (2, 'F', 'Pedro', '4420000002')",
        )
        .await
        .unwrap();
    wait_count(
        &supra,
        "SELECT count(*) FROM supra_sync.sync_mappings WHERE last_synced_hash IS NOT NULL AND last_legacy_hash IS NOT NULL",
        2,
    )
    .await;
    reverse.stop().await;
    supra
        .batch_execute("UPDATE persons SET phone = '44299999' || right(phone, 2)")
        .await
        .unwrap();
    let edited = one(&supra, "SELECT pg_current_wal_lsn()::text")
        .await
        .unwrap();
    legacy
        .batch_execute(
            "UPDATE cf_quere_pro.persona SET prstelef = '44211111' || right(prstelef, 2)",
        )
        .await
        .unwrap();
    wait_count(&supra, "SELECT count(*) FROM supra_sync.sync_conflicts", 2).await;
    forward.stop().await;
    let reverse = env.start(Side::Supra);
    wait_count(&supra, "SELECT count(*) FROM supra_sync.held_changes", 2).await;
    let slot = env.names.slot(Side::Supra);
    wait_count(
        &supra,
        &format!("SELECT count(*) FROM pg_replication_slots WHERE slot_name = '{slot}' AND confirmed_flush_lsn >= '{edited}'"),
        1,
    )
    .await;
    reverse.stop().await;
    (legacy, supra)
}

/// Runs both pipelines until a fresh legacy insert reached SUPRA and a fresh SUPRA edit
/// reached legacy: everything committed before went through both sources.
pub async fn drain(env: &Env, legacy: &Client, supra: &Client, marker: i32) {
    let forward = env.start(Side::Legacy);
    let reverse = env.start(Side::Supra);
    legacy
        .batch_execute(&format!(
            "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ({marker}, 'F', 'Marca')"
        ))
        .await
        .unwrap();
    wait_count(
        supra,
        &format!("SELECT count(*) FROM supra_sync.sync_mappings WHERE legacy_id = '{marker}' AND last_legacy_hash IS NOT NULL"),
        1,
    )
    .await;
    supra
        .batch_execute(&format!(
            "UPDATE persons SET email = 'm{marker}@example.mx' WHERE first_name = 'Marca'"
        ))
        .await
        .unwrap();
    wait_count(
        legacy,
        &format!(
            "SELECT count(*) FROM cf_quere_pro.persona WHERE prsemail = 'm{marker}@example.mx'"
        ),
        1,
    )
    .await;
    forward.stop().await;
    reverse.stop().await;
}
