//! Two databases wired for sync by the `supra-sync` binary itself, and the service as a child
//! process that tests kill and restart (the checks are in `checks.rs`).
//!
//! ```text
//!  legacy db (fixture, template per size)      SUPRA db (migrated, tenant)
//!        │  supra-sync setup (unique prefix) ──► slots · publications · origins · snapshot queued
//!        └──────── supra-sync run (child; SIGKILL / restart) ────────┘
//! ```

use std::path::PathBuf;
use std::process::Stdio;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use supra_sync_core::Lsn;
use supra_sync_fixture::FixtureConfig;
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::DbConfig;
use supra_sync_postgres::names::ObjectNames;
use supra_sync_testkit::{Cluster, TestDatabase};
use tokio::process::{Child, Command};
use tokio_postgres::Client;

/// Tenant code the mappings write for.
pub const TENANT: &str = "cea-queretaro";
/// Legacy key of the person used as a marker to know a pipeline caught up.
pub const MARKER: i64 = 99_999_999;
/// How long any single wait may take (the machine is small and shared).
pub const PATIENCE: Duration = Duration::from_secs(180);

fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

/// A legacy database holding the fixture (`accounts` contracts, no table-per-process
/// families), cloned from a template built once per cluster and size, with adjustments:
/// `contrato.cnttobserv` is widened to TEXT so that it can hold TOASTed values (the modelled
/// schema caps it at 200); every tariff gets its own year of validity and RFC/CURP codes
/// damaged beyond SUPRA's lengths are cleared — SUPRA refuses those rows (overlapping
/// tariffs of one category violate `excl_tariff_validity`; `rfc` is VARCHAR(13), `curp`
/// VARCHAR(18)), which the engine logs as failed, correctly, but then they and the rows
/// referencing them are not comparable.
pub async fn legacy_database(cluster: &Cluster, accounts: u64) -> TestDatabase {
    cluster
        .fresh_database_from(&format!("legacy_fixture_{accounts}"), |db| async move {
            let client = db.connect().await.map_err(|e| e.to_string())?;
            supra_sync_fixture::apply_legacy_schema(&client)
                .await
                .map_err(|e| e.to_string())?;
            let cfg = FixtureConfig {
                tmp_deuda: 0,
                aux_varscreditored: 0,
                tmpbb: 0,
                nonempty_transient: 0,
                connections: 1,
                ..FixtureConfig::with_accounts(accounts)
            };
            supra_sync_fixture::seed(&client, &cfg, |_, _| {})
                .await
                .map_err(|e| e.to_string())?;
            client
                .batch_execute(
                    "ALTER TABLE cf_quere_pro.contrato ALTER COLUMN cnttobserv TYPE text;
                     UPDATE cf_quere_pro.persona SET prsnif = NULL WHERE length(trim(prsnif)) > 13;
                     UPDATE cf_quere_pro.persona SET prscurp = NULL WHERE length(trim(prscurp)) > 18;
                     WITH s AS (SELECT tarid, tarfecini AS old,
                                       timestamp '1900-01-01' + make_interval(years => tarid::int) AS new
                                  FROM cf_quere_pro.tarifa)
                     UPDATE cf_quere_pro.aplictarif a SET aptfecapl = s.new
                       FROM s WHERE a.apttarid = s.tarid AND a.aptfecapl = s.old;
                     UPDATE cf_quere_pro.tarifa
                        SET tarfecini = timestamp '1900-01-01' + make_interval(years => tarid::int),
                            tarfecfin = timestamp '1900-01-01' + make_interval(years => tarid::int + 1);
                     INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES (99999999, 'F', 'Marca');",
                )
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .expect("legacy fixture database")
}

/// A SUPRA database with every migration and the tenant.
pub async fn supra_database(cluster: &Cluster) -> TestDatabase {
    cluster
        .fresh_database_from("supra_migrated", |db| async move {
            let cfg = DbConfig::parse("supra", &db.connection_string).map_err(|e| e.to_string())?;
            supra_sync_postgres::migrate::migrate_supra(&cfg)
                .await
                .map_err(|e| e.to_string())?;
            let client = db.connect().await.map_err(|e| e.to_string())?;
            client
                .batch_execute(
                    "INSERT INTO tenants (name, slug) VALUES ('CEA Querétaro', 'cea-queretaro')",
                )
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .expect("migrated SUPRA database")
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// One test's databases, object names and mappings.
pub struct Env {
    /// Legacy database.
    pub legacy: TestDatabase,
    /// SUPRA database.
    pub supra: TestDatabase,
    /// Prefix of slots, publications and origins (unique per test: slots are cluster-wide).
    pub prefix: String,
    /// The names derived from it.
    pub names: ObjectNames,
    /// The shipped mappings.
    pub mappings: Arc<MappingSet>,
    logs: PathBuf,
}

impl Env {
    /// Fresh databases on the given clusters, set up by `supra-sync setup` (which queues the
    /// initial snapshot).
    pub async fn new(legacy: &Cluster, supra: &Cluster, accounts: u64) -> Env {
        let legacy = legacy_database(legacy, accounts).await;
        let supra = supra_database(supra).await;
        let prefix = format!(
            "inv{}_{}",
            std::process::id(),
            NEXT.fetch_add(1, Ordering::SeqCst)
        );
        let logs = std::env::temp_dir().join(format!("supra-sync-{prefix}"));
        std::fs::create_dir_all(&logs).expect("log directory");
        let env = Env {
            names: ObjectNames::with_prefix(&prefix),
            mappings: Arc::new(
                MappingSet::load_dir(&repo().join("mappings")).expect("shipped mappings load"),
            ),
            legacy,
            supra,
            prefix,
            logs,
        };
        let out = env
            .command(&["setup"])
            .output()
            .await
            .expect("run supra-sync setup");
        assert!(
            out.status.success(),
            "supra-sync setup failed: {}",
            String::from_utf8_lossy(&out.stderr)
        );
        env
    }

    /// `supra-sync <global options> args…` with this test's prefix and a clean environment.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_supra-sync"));
        for (key, _) in std::env::vars() {
            if key.starts_with("SUPRA_SYNC_") {
                c.env_remove(key);
            }
        }
        c.args(["--legacy", &self.legacy.connection_string])
            .args(["--supra", &self.supra.connection_string])
            .arg("--mappings")
            .arg(repo().join("mappings"))
            .args(args)
            .env("SUPRA_SYNC_PREFIX", &self.prefix)
            .env("SUPRA_SYNC_HEARTBEAT_SECS", "1")
            .env("SUPRA_SYNC_METRICS_ADDR", "")
            .env("SUPRA_SYNC_CONNECT_TIMEOUT", "120s")
            .env(
                "RUST_LOG",
                std::env::var("SUPRA_SYNC_TEST_LOG").unwrap_or_else(|_| "info".into()),
            )
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Starts `supra-sync run` with extra environment; its output goes to a log file.
    pub fn start(&self, env: &[(&str, &str)]) -> Service {
        let n = NEXT.fetch_add(1, Ordering::SeqCst);
        let log = self.logs.join(format!("run-{n}.log"));
        let file = std::fs::File::create(&log).expect("service log");
        let child = self
            .command(&["run"])
            .envs(env.iter().copied())
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .spawn()
            .expect("spawn supra-sync run");
        Service { child, log }
    }

    /// A legacy connection.
    pub async fn legacy(&self) -> Client {
        self.legacy.connect().await.expect("legacy connection")
    }

    /// A SUPRA connection that sees every tenant's rows.
    pub async fn supra(&self) -> Client {
        let c = self.supra.connect().await.expect("SUPRA connection");
        c.batch_execute("SET app.is_admin = 'true'")
            .await
            .expect("admin session");
        c
    }

    /// Copies the service logs of this test to a directory that outlives it (for failure
    /// reports); returns that directory.
    pub fn keep_logs(&self) -> PathBuf {
        let kept = std::env::temp_dir().join(format!("supra-sync-kept-{}", self.prefix));
        std::fs::create_dir_all(&kept).expect("kept log directory");
        for entry in std::fs::read_dir(&self.logs)
            .expect("log directory")
            .flatten()
        {
            let _ = std::fs::copy(entry.path(), kept.join(entry.file_name()));
        }
        kept
    }

    /// Removes the slots and publications so no test leaves WAL retained.
    pub async fn teardown(&self) {
        let out = self
            .command(&["teardown"])
            .output()
            .await
            .expect("run teardown");
        assert!(
            out.status.success(),
            "{}",
            String::from_utf8_lossy(&out.stderr)
        );
        let _ = std::fs::remove_dir_all(&self.logs);
    }
}

/// `supra-sync run` as a child process.
pub struct Service {
    child: Child,
    log: PathBuf,
}

impl Service {
    /// SIGKILL, then reap.
    pub async fn kill(&mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    /// SIGTERM (graceful shutdown), then waits for a zero exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("running service").to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status().await;
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("the service stops on SIGTERM")
            .expect("wait for the service");
        assert!(
            status.success(),
            "service exited with {status}\n{}",
            self.log_tail()
        );
    }

    /// Fails when the service exited on its own.
    pub fn check_alive(&mut self) -> Result<(), String> {
        match self.child.try_wait() {
            Ok(None) => Ok(()),
            Ok(Some(status)) => Err(format!(
                "the service exited with {status}:\n{}",
                self.log_tail()
            )),
            Err(e) => Err(e.to_string()),
        }
    }

    /// The end of its log.
    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// An LSN read with `sql` (one text column).
pub async fn lsn(
    client: &Client,
    sql: &str,
    params: &[&(dyn tokio_postgres::types::ToSql + Sync)],
) -> Result<Option<Lsn>, String> {
    let row = client
        .query_opt(sql, params)
        .await
        .map_err(|e| e.to_string())?;
    Ok(row
        .and_then(|r| r.get::<_, Option<String>>(0))
        .map(|t| t.parse().expect("an LSN")))
}
