//! The `supra-sync` binary against librdkafka's mock cluster (Kafka protocol on loopback TCP)
//! and real PostgreSQL clusters.
//!
//! ```text
//!  test process: MockCluster (one broker, a topic per mapped legacy table)
//!      │ bootstrap 127.0.0.1:<port>
//!  supra-sync run / replay (child processes, SUPRA_SYNC_KAFKA_* env) ─► legacy db · SUPRA db
//! ```

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use rdkafka::mocking::MockCluster;
use rdkafka::producer::DefaultProducerContext;
use supra_sync_core::Lsn;
use supra_sync_fixture::FixtureConfig;
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::DbConfig;
use supra_sync_testkit::{TestDatabase, legacy, supra, wait_until};
use tokio::process::{Child, Command};
use tokio_postgres::Client;

/// Topic prefix used by every test.
pub const PREFIX: &str = "aquacis";
/// How long any single wait may take (small shared machine).
pub const PATIENCE: Duration = Duration::from_secs(240);
/// Legacy key of the person whose update marks "everything before is through".
pub const MARKER: i64 = 99_999_999;

/// The mock cluster type.
pub type Cluster = MockCluster<'static, DefaultProducerContext>;

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn mappings() -> Arc<MappingSet> {
    Arc::new(MappingSet::load_dir(&repo().join("mappings")).expect("shipped mappings load"))
}

/// A one-broker mock cluster with a topic per mapped legacy table, one partition each as the
/// deployment recommends (a key change spans two keys: only one partition orders its delete
/// half before its create half). Topics are read interleaved all the same.
pub fn kafka() -> Cluster {
    let cluster = MockCluster::new(1).expect("mock cluster");
    for table in mappings().legacy_tables() {
        let topic = format!("{PREFIX}.{}.{}", table.schema, table.name);
        cluster.create_topic(&topic, 1, 1).expect("create topic");
    }
    cluster
}

/// The failed `sync_log` rows of a SUPRA database, for assertion messages.
pub async fn failed_rows(supra: &Client) -> Vec<String> {
    let rows = supra
        .query(
            "SELECT concat_ws(' | ', entity_type, entity_id, operation, error_message)
               FROM supra_sync.sync_log WHERE status = 'failed' ORDER BY id LIMIT 10",
            &[],
        )
        .await
        .unwrap();
    rows.iter().map(|r| r.get(0)).collect()
}

/// A legacy database with a small fixture (no table-per-process families) and the marker
/// person, cloned from a template built once per process.
pub async fn legacy_database() -> TestDatabase {
    legacy()
        .fresh_database_from("kafka_legacy_fixture", |db| async move {
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
                ..FixtureConfig::with_accounts(60)
            };
            supra_sync_fixture::seed(&client, &cfg, |_, _| {})
                .await
                .map_err(|e| e.to_string())?;
            client
                .batch_execute(&format!(
                    "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ({MARKER}, 'F', 'Marca')"
                ))
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .expect("legacy fixture database")
}

/// An empty SUPRA database: every migration and the tenant, no data.
pub async fn supra_database() -> TestDatabase {
    supra()
        .fresh_database_from("kafka_supra_migrated", |db| async move {
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

/// An admin session on SUPRA (sees every tenant's rows).
pub async fn admin(db: &TestDatabase) -> Client {
    let c = db.connect().await.expect("SUPRA connection");
    c.batch_execute("SET app.is_admin = 'true'")
        .await
        .expect("admin session");
    c
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// The binary under test, copied once per process: the build directory is shared, and a
/// concurrent `cargo build` relinking it must not pull it from under a running test.
pub fn binary() -> &'static std::path::Path {
    static COPY: std::sync::OnceLock<PathBuf> = std::sync::OnceLock::new();
    COPY.get_or_init(|| {
        let built = PathBuf::from(env!("CARGO_BIN_EXE_supra-sync"));
        let meta = std::fs::metadata(&built).expect("the supra-sync binary");
        let stamp = meta
            .modified()
            .ok()
            .and_then(|t| t.duration_since(std::time::UNIX_EPOCH).ok())
            .map_or(0, |d| d.as_nanos());
        let root = std::env::temp_dir().join("supra-sync-kafka-tests");
        let copy = root
            .join(format!("{}-{stamp}", meta.len()))
            .join("supra-sync");
        if !copy.exists() {
            // Copies of older builds (one per build, not per run) are removed.
            if let Ok(entries) = std::fs::read_dir(&root) {
                for e in entries.flatten() {
                    let old = e.metadata().and_then(|m| m.modified()).ok();
                    if old.is_some_and(|t| {
                        t.elapsed().unwrap_or_default() > Duration::from_secs(3600)
                    }) {
                        let _ = std::fs::remove_dir_all(e.path());
                    }
                }
            }
            let dir = copy.parent().expect("a directory");
            std::fs::create_dir_all(dir).expect("temp dir");
            let partial = dir.join(format!("partial-{}", std::process::id()));
            std::fs::copy(&built, &partial).expect("copy the binary");
            std::fs::rename(&partial, &copy).expect("rename the copy");
        }
        copy
    })
}

/// A unique prefix for slots, publications and origins (they are cluster-wide).
pub fn unique_prefix() -> String {
    format!(
        "kt{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// `supra-sync` with the databases, mappings and prefix given, and nothing else inherited.
pub fn command(
    legacy: &TestDatabase,
    supra: &TestDatabase,
    prefix: &str,
    args: &[&str],
) -> Command {
    let mut c = Command::new(binary());
    for (key, _) in std::env::vars() {
        if key.starts_with("SUPRA_SYNC_") {
            c.env_remove(key);
        }
    }
    c.args(["--legacy", &legacy.connection_string])
        .args(["--supra", &supra.connection_string])
        .arg("--mappings")
        .arg(repo().join("mappings"))
        .args(args)
        .env("SUPRA_SYNC_PREFIX", prefix)
        .env("SUPRA_SYNC_HEARTBEAT_SECS", "1")
        .env("SUPRA_SYNC_CONNECT_TIMEOUT", "120s")
        // No metrics server: tests run several services at once (empty = off).
        .env("SUPRA_SYNC_METRICS_ADDR", "")
        .env("RUST_LOG", "info")
        .stdin(Stdio::null())
        .kill_on_drop(true);
    c
}

/// The environment that points the binary at the mock cluster, with quick retries.
pub fn kafka_env(cluster: &Cluster) -> Vec<(&'static str, String)> {
    vec![
        (
            "SUPRA_SYNC_KAFKA_BOOTSTRAP_SERVERS",
            cluster.bootstrap_servers(),
        ),
        ("SUPRA_SYNC_KAFKA_TOPIC_PREFIX", PREFIX.to_string()),
        ("SUPRA_SYNC_KAFKA_DELIVERY_TIMEOUT_MS", "1500".to_string()),
        (
            "SUPRA_SYNC_KAFKA_PROPERTIES",
            "reconnect.backoff.max.ms=300".to_string(),
        ),
    ]
}

/// Adds environment variables to a command.
pub fn with_env(mut c: Command, vars: &[(&'static str, String)]) -> Command {
    c.envs(vars.iter().map(|(k, v)| (*k, v.as_str())));
    c
}

/// Runs a command to completion; panics with its output when it fails.
pub async fn success(mut c: Command, what: &str) -> Output {
    let out = c.output().await.unwrap_or_else(|e| panic!("{what}: {e}"));
    assert!(
        out.status.success(),
        "{what} failed ({}):\n{}\n{}",
        out.status,
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    out
}

/// A long-running child (`run`, a throttled `replay`) with its output in a log file.
pub struct Running {
    pub child: Child,
    log: PathBuf,
}

impl Running {
    pub fn spawn(mut c: Command, name: &str) -> Running {
        let log =
            std::env::temp_dir().join(format!("supra-sync-kafka-{}-{name}.log", unique_prefix()));
        let file = std::fs::File::create(&log).expect("log file");
        let child = c
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .spawn()
            .expect("spawn supra-sync");
        Running { child, log }
    }

    /// Panics (with the log) when the child already exited.
    pub fn check_alive(&mut self) {
        if let Ok(Some(status)) = self.child.try_wait() {
            panic!("supra-sync exited with {status}:\n{}", self.log_tail());
        }
    }

    /// SIGTERM, then a clean exit.
    pub async fn stop(mut self) {
        let pid = self.child.id().expect("running").to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status().await;
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("stops on SIGTERM")
            .expect("wait");
        assert!(
            status.success(),
            "exited with {status}:\n{}",
            self.log_tail()
        );
    }

    /// SIGKILL: no chance to clean up.
    pub async fn kill(mut self) {
        let _ = self.child.start_kill();
        let _ = self.child.wait().await;
    }

    pub fn log_tail(&self) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().collect();
        lines[lines.len().saturating_sub(40)..].join("\n")
    }
}

/// One bigint from `sql`.
pub async fn count(client: &Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// The current WAL position of a database.
pub async fn wal_lsn(client: &Client) -> Lsn {
    let text: String = client
        .query_one("SELECT pg_current_wal_lsn()::text", &[])
        .await
        .unwrap()
        .get(0);
    text.parse().unwrap()
}

/// `confirmed_flush_lsn` of a slot.
pub async fn confirmed_flush(client: &Client, slot: &str) -> Lsn {
    let text: String = client
        .query_one(
            "SELECT confirmed_flush_lsn::text FROM pg_replication_slots WHERE slot_name = $1",
            &[&slot],
        )
        .await
        .unwrap()
        .get(0);
    text.parse().unwrap()
}

/// Waits until `sql` (one bigint) returns at least `at_least`, failing early if `child` died.
pub async fn wait_at_least(client: &Client, sql: &str, at_least: i64, child: &mut Running) {
    wait_until(&format!("{sql} >= {at_least}"), PATIENCE, || {
        child.check_alive();
        async move {
            let n = count(client, sql).await;
            if n >= at_least {
                Ok(true)
            } else {
                Err(format!("{n}"))
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", child.log_tail()));
}

/// Waits until `sql` (one bigint) returns 0, failing early if `child` died.
pub async fn wait_zero(client: &Client, sql: &str, child: &mut Running) {
    wait_until(&format!("{sql} = 0"), PATIENCE, || {
        child.check_alive();
        async move {
            let n = count(client, sql).await;
            if n == 0 {
                Ok(true)
            } else {
                Err(format!("{n}"))
            }
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}\n{}", child.log_tail()));
}

/// Waits for the initial snapshot to finish.
pub async fn snapshot_done(supra: &Client, child: &mut Running) {
    let sql = "SELECT count(*) FROM supra_sync.snapshot_progress WHERE status <> 'done'";
    wait_zero(supra, sql, child).await;
}

/// Touches the marker person and waits until SUPRA logged it as applied: everything
/// committed on legacy before it is then published and applied (commit order).
pub async fn marker_through(legacy: &Client, supra: &Client, child: &mut Running) {
    let before = wal_lsn(legacy).await;
    legacy
        .execute(
            "UPDATE cf_quere_pro.persona SET prstelef = left(md5(random()::text), 10) WHERE prsid = $1::text::numeric",
            &[&MARKER.to_string()],
        )
        .await
        .unwrap();
    let sql = format!(
        "SELECT count(*) FROM supra_sync.sync_log WHERE entity_type = 'persona' AND entity_id = '{MARKER}'
            AND status = 'applied' AND source_lsn >= '{before}'::pg_lsn"
    );
    wait_at_least(supra, &sql, 1, child).await;
}

/// A record's key and value (`None` value: a tombstone).
pub type KeyValue = (Option<Vec<u8>>, Option<Vec<u8>>);

/// Every record of `topic` (all partitions, up to the current high watermarks).
pub fn read_topic(bootstrap: &str, topic: &str) -> Vec<KeyValue> {
    use rdkafka::consumer::{BaseConsumer, Consumer};
    use rdkafka::message::Message;
    use rdkafka::{ClientConfig, Offset, TopicPartitionList};
    let consumer: BaseConsumer = ClientConfig::new()
        .set("bootstrap.servers", bootstrap)
        .set("group.id", "test-reader")
        .set("enable.auto.commit", "false")
        .create()
        .unwrap();
    let timeout = Duration::from_secs(10);
    let metadata = consumer.fetch_metadata(Some(topic), timeout).unwrap();
    let mut tpl = TopicPartitionList::new();
    let mut remaining = 0;
    for p in metadata.topics()[0].partitions() {
        let (low, high) = consumer.fetch_watermarks(topic, p.id(), timeout).unwrap();
        remaining += high - low;
        tpl.add_partition_offset(topic, p.id(), Offset::Beginning)
            .unwrap();
    }
    consumer.assign(&tpl).unwrap();
    let mut out = Vec::new();
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while remaining > 0 && std::time::Instant::now() < deadline {
        if let Some(Ok(m)) = consumer.poll(Duration::from_millis(200)) {
            out.push((m.key().map(<[u8]>::to_vec), m.payload().map(<[u8]>::to_vec)));
            remaining -= 1;
        }
    }
    assert_eq!(
        remaining, 0,
        "records of {topic} up to the high watermark arrive"
    );
    out
}
