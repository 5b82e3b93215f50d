//! Databases set up by `supra-sync setup`, `supra-sync run` instances as child processes with
//! their logs in files, and a minimal HTTP client for `/metrics`, `/healthz`, `/readyz`.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::Stdio;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::Duration;

use supra_sync_postgres::DbConfig;
use supra_sync_testkit::{Cluster, TestDatabase, supra, wait_until};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::process::{Child, Command};
use tokio_postgres::Client;

/// How long any single wait may take (small shared machine, debug build).
pub const PATIENCE: Duration = Duration::from_secs(180);

pub fn repo() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../..")
}

static NEXT: AtomicU32 = AtomicU32::new(0);

/// A unique prefix for slots, publications and origins (they are cluster-wide).
pub fn unique_prefix() -> String {
    format!(
        "ops{}_{}",
        std::process::id(),
        NEXT.fetch_add(1, Ordering::SeqCst)
    )
}

/// A legacy database with the cf_quere_pro schema (no rows) on `cluster`.
pub async fn legacy_database(cluster: &Cluster) -> TestDatabase {
    cluster
        .fresh_database_from("ops_legacy_schema", |db| async move {
            let client = db.connect().await.map_err(|e| e.to_string())?;
            supra_sync_fixture::apply_legacy_schema(&client)
                .await
                .map_err(|e| e.to_string())
        })
        .await
        .expect("legacy database")
}

/// A SUPRA database with every migration and the tenant.
pub async fn supra_database() -> TestDatabase {
    supra()
        .fresh_database_from("ops_supra_migrated", |db| async move {
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
        .expect("SUPRA database")
}

/// An admin session on SUPRA (sees every tenant's rows).
pub async fn admin(db: &TestDatabase) -> Client {
    let c = db.connect().await.expect("SUPRA connection");
    c.batch_execute("SET app.is_admin = 'true'")
        .await
        .expect("admin session");
    c
}

/// Two databases prepared by `supra-sync setup` under a unique prefix.
pub struct Env {
    pub legacy: TestDatabase,
    pub supra: TestDatabase,
    pub prefix: String,
    /// Connection strings as given to the binary (may carry a password).
    pub legacy_url: String,
    pub supra_url: String,
}

impl Env {
    /// Sets up both sides (publications, slots, origins; no initial snapshot).
    pub async fn new(legacy: TestDatabase, supra: TestDatabase) -> Env {
        let env = Env {
            legacy_url: legacy.connection_string.clone(),
            supra_url: supra.connection_string.clone(),
            legacy,
            supra,
            prefix: unique_prefix(),
        };
        let out = env
            .command(&["setup", "--no-snapshot"])
            .output()
            .await
            .expect("run setup");
        assert!(
            out.status.success(),
            "setup failed:\n{}\n{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        );
        env
    }

    /// `supra-sync args…` against these databases, nothing inherited from the caller's
    /// `SUPRA_SYNC_*` environment; the metrics server on a free port.
    pub fn command(&self, args: &[&str]) -> Command {
        let mut c = Command::new(env!("CARGO_BIN_EXE_supra-sync"));
        for (key, _) in std::env::vars() {
            if key.starts_with("SUPRA_SYNC_") || key == "RUST_LOG" {
                c.env_remove(key);
            }
        }
        c.env("SUPRA_SYNC_LEGACY_URL", &self.legacy_url)
            .env("SUPRA_SYNC_SUPRA_URL", &self.supra_url)
            .arg("--mappings")
            .arg(repo().join("mappings"))
            .args(args)
            .env("SUPRA_SYNC_PREFIX", &self.prefix)
            .env("SUPRA_SYNC_HEARTBEAT_SECS", "1")
            .env("SUPRA_SYNC_CONNECT_TIMEOUT", "60s")
            .env("SUPRA_SYNC_METRICS_ADDR", "127.0.0.1:0")
            .env("SUPRA_SYNC_COLLECT_INTERVAL_SECS", "1")
            .env("SUPRA_SYNC_LEASE_POLL_MS", "200")
            .stdin(Stdio::null())
            .kill_on_drop(true);
        c
    }

    /// Removes the slots (no test leaves WAL retained).
    pub async fn teardown(&self) {
        let _ = self.command(&["teardown"]).output().await;
    }
}

/// A running `supra-sync run` with its stderr in a file.
pub struct Instance {
    pub child: Child,
    pub log: PathBuf,
    pub addr: SocketAddr,
}

impl Instance {
    /// Starts `supra-sync -v --log-format json run` and waits until it serves HTTP.
    pub async fn start(mut command: Command, name: &str) -> Instance {
        let log = std::env::temp_dir().join(format!("supra-sync-{}-{name}.log", unique_prefix()));
        let file = std::fs::File::create(&log).expect("log file");
        let child = command
            .args(["-v", "--log-format", "json", "run"])
            .stdout(file.try_clone().expect("log handle"))
            .stderr(file)
            .spawn()
            .expect("spawn supra-sync run");
        let find_addr = |text: &str| -> Option<SocketAddr> {
            text.lines()
                .filter(|l| l.contains("serving /metrics"))
                .find_map(|l| {
                    l.split("\"addr\":\"")
                        .nth(1)?
                        .split('"')
                        .next()?
                        .parse()
                        .ok()
                })
        };
        let read = || std::fs::read_to_string(&log).unwrap_or_default();
        let waited = wait_until(
            "the metrics server address in the log",
            PATIENCE,
            || async {
                let text = read();
                match find_addr(&text) {
                    Some(_) => Ok(true),
                    None => Err(text.lines().last().unwrap_or("").to_string()),
                }
            },
        )
        .await;
        if let Err(e) = waited {
            panic!("{e}\n{}", read());
        }
        let addr = find_addr(&read()).expect("address logged");
        Instance { child, log, addr }
    }

    pub fn log_text(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// GET `path`: (status, body).
    pub async fn get(&self, path: &str) -> (u16, String) {
        http_get(self.addr, path)
            .await
            .unwrap_or((0, String::new()))
    }

    /// The current value of a series (labels: a subset that must match).
    pub async fn metric(&self, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
        let (_, body) = self.get("/metrics").await;
        metric_value(&body, name, labels)
    }

    /// Waits until `metric` satisfies `ok`.
    pub async fn wait_metric(
        &self,
        what: &str,
        name: &str,
        labels: &[(&str, &str)],
        ok: impl Fn(f64) -> bool,
    ) {
        wait_until(what, PATIENCE, || async {
            match self.metric(name, labels).await {
                Some(v) if ok(v) => Ok(true),
                other => Err(format!("{other:?}")),
            }
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", self.log_text()));
    }

    /// SIGTERM, then waits for a clean exit.
    pub async fn stop(mut self) -> String {
        let pid = self.child.id().expect("running").to_string();
        let _ = Command::new("kill").args(["-TERM", &pid]).status().await;
        let status = tokio::time::timeout(PATIENCE, self.child.wait())
            .await
            .expect("supra-sync stops after SIGTERM")
            .expect("wait");
        assert!(status.success(), "exit {status}:\n{}", self.log_text());
        self.log_text()
    }
}

/// A bare HTTP/1.1 GET with `Connection: close`.
pub async fn http_get(addr: SocketAddr, path: &str) -> std::io::Result<(u16, String)> {
    let mut stream =
        tokio::time::timeout(Duration::from_secs(5), tokio::net::TcpStream::connect(addr))
            .await
            .map_err(|_| std::io::Error::other("connect timeout"))??;
    stream
        .write_all(
            format!("GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n").as_bytes(),
        )
        .await?;
    let mut raw = Vec::new();
    tokio::time::timeout(Duration::from_secs(10), stream.read_to_end(&mut raw))
        .await
        .map_err(|_| std::io::Error::other("read timeout"))??;
    let text = String::from_utf8_lossy(&raw).into_owned();
    let status = text
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or(0);
    let body = text
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
}

/// Parses the exposition text: the value of the first series named `name` whose labels
/// include `labels`.
pub fn metric_value(body: &str, name: &str, labels: &[(&str, &str)]) -> Option<f64> {
    body.lines()
        .filter(|l| !l.starts_with('#'))
        .find_map(|line| {
            let (series, value) = line.rsplit_once(' ')?;
            let (series_name, label_text) = match series.split_once('{') {
                Some((n, rest)) => (n, rest.trim_end_matches('}')),
                None => (series, ""),
            };
            if series_name != name {
                return None;
            }
            let found: BTreeMap<&str, &str> = label_text
                .split("\",")
                .filter_map(|kv| {
                    let (k, v) = kv.split_once("=\"")?;
                    Some((k.trim(), v.trim_end_matches('"')))
                })
                .collect();
            labels
                .iter()
                .all(|(k, v)| found.get(k) == Some(v))
                .then(|| value.parse().ok())?
        })
}

/// One bigint from `sql`.
pub async fn count(client: &Client, sql: &str) -> i64 {
    client
        .query_one(sql, &[])
        .await
        .unwrap_or_else(|e| panic!("{sql}: {e}"))
        .get(0)
}

/// Waits until `sql` returns `expected`.
pub async fn wait_count(client: &Client, sql: &str, expected: i64) {
    wait_until(&format!("{sql} = {expected}"), PATIENCE, || async {
        let n = count(client, sql).await;
        if n == expected {
            Ok(true)
        } else {
            Err(n.to_string())
        }
    })
    .await
    .unwrap_or_else(|e| panic!("{e}"));
}

/// Inserts persons `from..to` into legacy, one transaction each.
pub async fn insert_persons(legacy: &Client, from: i64, to: i64) {
    for id in from..to {
        legacy
            .execute(
                "INSERT INTO cf_quere_pro.persona (prsid, prstipo, prsnombre) VALUES ($1::bigint, 'F', 'Persona')",
                &[&id],
            )
            .await
            .expect("insert persona");
    }
}
