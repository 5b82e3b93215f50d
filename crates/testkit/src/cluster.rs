//! Starting, stopping and crashing one PostgreSQL cluster.

use std::collections::HashMap;
use std::io::Write as _;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdin, Command, Stdio};
use std::sync::Mutex;

use tokio_postgres::NoTls;

use crate::TestkitError;

/// How to start a cluster.
#[derive(Debug, Clone)]
pub struct ClusterOptions {
    /// A label used in the data directory name and logs.
    pub name: String,
    /// Extra `postgresql.conf` settings (`key = value`).
    pub settings: Vec<(String, String)>,
    /// Keep `fsync` on. Off by default: tests crash the server process, never the OS, so
    /// committed WAL in the page cache survives and `synchronous_commit` stays on.
    pub durable: bool,
}

impl ClusterOptions {
    /// Default options with a label.
    pub fn named(name: &str) -> ClusterOptions {
        ClusterOptions {
            name: name.to_string(),
            settings: Vec::new(),
            durable: false,
        }
    }
}

/// A running PostgreSQL 15 cluster in a temporary directory.
///
/// The cluster is stopped and its directory removed when the owning process ends (a reaper
/// child watches a pipe), or earlier by [`Cluster::shutdown`].
pub struct Cluster {
    name: String,
    data_dir: PathBuf,
    port: u16,
    run_as: Option<String>,
    reaper: Mutex<Option<(Child, ChildStdin)>>,
    pub(crate) templates: tokio::sync::Mutex<HashMap<String, String>>,
    pub(crate) next_db: std::sync::atomic::AtomicU32,
}

impl std::fmt::Debug for Cluster {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cluster")
            .field("name", &self.name)
            .field("port", &self.port)
            .finish()
    }
}

fn pg_bin(program: &str) -> PathBuf {
    let debian = Path::new("/usr/lib/postgresql/15/bin").join(program);
    if debian.exists() {
        debian
    } else {
        PathBuf::from(program)
    }
}

fn running_as_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn free_port() -> Result<u16, TestkitError> {
    Ok(TcpListener::bind("127.0.0.1:0")?.local_addr()?.port())
}

impl Cluster {
    /// Runs `initdb`, writes a logical-replication configuration and starts the server on a
    /// free port. As root, the server runs as the `postgres` user (initdb refuses root).
    pub fn start(options: ClusterOptions) -> Result<Cluster, TestkitError> {
        let run_as = running_as_root().then(|| "postgres".to_string());
        let data_dir = tempfile::Builder::new()
            .prefix(&format!("supra-sync-{}-", options.name))
            .tempdir()?
            .keep();
        if let Some(user) = &run_as {
            run(
                Command::new("chown").arg("-R").arg(user).arg(&data_dir),
                "chown",
            )?;
        }
        let pgdata = data_dir.join("pgdata");
        let mut cluster = Cluster {
            name: options.name.clone(),
            data_dir,
            port: 0,
            run_as,
            reaper: Mutex::new(None),
            templates: tokio::sync::Mutex::new(HashMap::new()),
            next_db: std::sync::atomic::AtomicU32::new(0),
        };
        cluster.spawn_reaper()?;
        run(
            cluster
                .pg_command("initdb")
                .args([
                    "-U",
                    "postgres",
                    "--auth=trust",
                    "-E",
                    "UTF8",
                    "--locale=C.UTF-8",
                ])
                .arg("-D")
                .arg(&pgdata),
            "initdb",
        )?;
        let mut conf = vec![
            ("listen_addresses", "'127.0.0.1'".to_string()),
            (
                "unix_socket_directories",
                format!("'{}'", cluster.data_dir.display()),
            ),
            ("wal_level", "logical".into()),
            ("max_replication_slots", "64".into()),
            ("max_wal_senders", "64".into()),
            ("max_connections", "300".into()),
            ("track_commit_timestamp", "on".into()),
            ("shared_buffers", "128MB".into()),
            ("max_worker_processes", "32".into()),
            ("max_logical_replication_workers", "16".into()),
            ("timezone", "'UTC'".into()),
            ("log_min_messages", "warning".into()),
        ];
        if !options.durable {
            conf.push(("fsync", "off".into()));
            conf.push(("full_page_writes", "off".into()));
        }
        let mut text = String::new();
        for (k, v) in &conf {
            text.push_str(&format!("{k} = {v}\n"));
        }
        for (k, v) in &options.settings {
            text.push_str(&format!("{k} = {v}\n"));
        }
        std::fs::OpenOptions::new()
            .append(true)
            .open(pgdata.join("postgresql.conf"))?
            .write_all(text.as_bytes())?;
        let mut last_error = None;
        for _ in 0..5 {
            cluster.port = free_port()?;
            match cluster.start_server() {
                Ok(()) => return Ok(cluster),
                Err(e) => last_error = Some(e),
            }
        }
        Err(last_error.expect("at least one attempt"))
    }

    /// The reaper is a shell in its own process group that waits for our end of its stdin to
    /// close, then stops the server and removes the directory.
    fn spawn_reaper(&mut self) -> Result<(), TestkitError> {
        use std::os::unix::process::CommandExt as _;
        let stop = self.shell_prefix(&format!(
            "{} stop -m immediate -w -D {}",
            pg_bin("pg_ctl").display(),
            self.data_dir.join("pgdata").display()
        ));
        let script = format!(
            "cat >/dev/null; {stop} >/dev/null 2>&1; rm -rf '{}'",
            self.data_dir.display()
        );
        let mut child = Command::new("sh")
            .arg("-c")
            .arg(script)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()?;
        let stdin = child.stdin.take().expect("piped stdin");
        *self.reaper.lock().expect("reaper lock") = Some((child, stdin));
        Ok(())
    }

    fn shell_prefix(&self, command: &str) -> String {
        match &self.run_as {
            Some(user) => format!("runuser -u {user} -- {command}"),
            None => command.to_string(),
        }
    }

    fn pg_command(&self, program: &str) -> Command {
        match &self.run_as {
            Some(user) => {
                let mut c = Command::new("runuser");
                c.args(["-u", user, "--"]).arg(pg_bin(program));
                c
            }
            None => Command::new(pg_bin(program)),
        }
    }

    fn start_server(&self) -> Result<(), TestkitError> {
        run(
            self.pg_command("pg_ctl")
                .arg("start")
                .arg("-w")
                .args(["-t", "60"])
                .arg("-D")
                .arg(self.data_dir.join("pgdata"))
                .arg("-l")
                .arg(self.data_dir.join("server.log"))
                .arg("-o")
                .arg(format!("-p {}", self.port)),
            "pg_ctl start",
        )
    }

    /// Stops the server: `fast` shuts down cleanly, otherwise `immediate` (a crash: no
    /// checkpoint, recovery on next start).
    pub fn stop(&self, fast: bool) -> Result<(), TestkitError> {
        run(
            self.pg_command("pg_ctl")
                .arg("stop")
                .arg("-w")
                .args(["-m", if fast { "fast" } else { "immediate" }])
                .arg("-D")
                .arg(self.data_dir.join("pgdata")),
            "pg_ctl stop",
        )
    }

    /// Starts a stopped server again on the same port.
    pub fn restart(&self) -> Result<(), TestkitError> {
        self.start_server()
    }

    /// Stops the server and removes its directory now.
    pub fn shutdown(&self) {
        if let Some((mut child, stdin)) = self.reaper.lock().expect("reaper lock").take() {
            drop(stdin);
            let _ = child.wait();
        }
    }

    /// TCP port of the server.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The cluster's label.
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The server log, for diagnostics.
    pub fn server_log(&self) -> String {
        std::fs::read_to_string(self.data_dir.join("server.log")).unwrap_or_default()
    }

    /// A libpq-style connection string for `database`.
    pub fn connection_string(&self, database: &str) -> String {
        format!(
            "host=127.0.0.1 port={} user=postgres dbname={database}",
            self.port
        )
    }

    /// A URL-style connection string for `database` (for sqlx and the CLI).
    pub fn url(&self, database: &str) -> String {
        format!("postgres://postgres@127.0.0.1:{}/{database}", self.port)
    }

    /// Connects to `database` and drives the connection on the current runtime.
    pub async fn connect(&self, database: &str) -> Result<tokio_postgres::Client, TestkitError> {
        let (client, connection) =
            tokio_postgres::connect(&self.connection_string(database), NoTls).await?;
        tokio::spawn(async move {
            let _ = connection.await;
        });
        Ok(client)
    }
}

impl Drop for Cluster {
    fn drop(&mut self) {
        self.shutdown();
    }
}

fn run(command: &mut Command, program: &str) -> Result<(), TestkitError> {
    let output = command.output().map_err(|e| TestkitError::Command {
        program: program.to_string(),
        detail: e.to_string(),
    })?;
    if output.status.success() {
        Ok(())
    } else {
        Err(TestkitError::Command {
            program: program.to_string(),
            detail: format!(
                "{}{}",
                String::from_utf8_lossy(&output.stdout),
                String::from_utf8_lossy(&output.stderr)
            ),
        })
    }
}
