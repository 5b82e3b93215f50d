//! CPU time spent by everything taking part in a timed section: this process (writer,
//! probe and, for supra-sync, the in-process pipeline), an optional child process (the
//! `supra-sync run` service) and every server process of both clusters (backends,
//! walsenders, apply workers, background writers). On a shared machine the wall-clock
//! rates depend on the load; CPU per row does much less, so both are reported.
//!
//! Server processes are found in `pg_stat_activity` (which lists background processes
//! too); a process that exits inside the section is not counted.

use std::collections::HashMap;

use tokio_postgres::Client;

/// Clock ticks per second of `/proc/<pid>/stat` (`USER_HZ`, 100 on Linux).
const TICKS: f64 = 100.0;

/// `utime + stime` of a process (all threads), in seconds.
pub fn process_seconds(pid: u32) -> Option<f64> {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).ok()?;
    let rest = stat.rsplit_once(')')?.1;
    let fields: Vec<&str> = rest.split_whitespace().collect();
    let utime: f64 = fields.get(11)?.parse().ok()?;
    let stime: f64 = fields.get(12)?.parse().ok()?;
    Some((utime + stime) / TICKS)
}

async fn server_seconds(clusters: &[&Client]) -> anyhow::Result<HashMap<u32, f64>> {
    let mut out = HashMap::new();
    for client in clusters {
        for row in client
            .query("SELECT pid FROM pg_stat_activity", &[])
            .await?
        {
            let pid = row.get::<_, i32>(0) as u32;
            if let Some(s) = process_seconds(pid) {
                out.insert(pid, s);
            }
        }
    }
    Ok(out)
}

/// A running measurement.
pub struct CpuMeter {
    own: f64,
    servers: HashMap<u32, f64>,
}

impl CpuMeter {
    /// Starts measuring; `clusters` holds one connection per cluster.
    pub async fn start(clusters: &[&Client]) -> anyhow::Result<CpuMeter> {
        Ok(CpuMeter {
            own: process_seconds(std::process::id()).unwrap_or(0.0),
            servers: server_seconds(clusters).await?,
        })
    }

    /// CPU seconds since [`CpuMeter::start`]; `extra` is added (a child's own total).
    pub async fn stop(self, clusters: &[&Client], extra: f64) -> anyhow::Result<f64> {
        let own = process_seconds(std::process::id()).unwrap_or(0.0) - self.own;
        let mut servers = 0.0;
        let mut split = Vec::new();
        for client in clusters {
            let cluster: f64 = server_seconds(&[client])
                .await?
                .iter()
                .map(|(pid, s)| s - self.servers.get(pid).copied().unwrap_or(0.0))
                .sum();
            split.push(format!("{cluster:.2}"));
            servers += cluster;
        }
        eprintln!(
            "cpu seconds: this process {own:.2}, child {extra:.2}, servers per cluster [{}]",
            split.join(", ")
        );
        Ok(own + servers + extra)
    }
}
