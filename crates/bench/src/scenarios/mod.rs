//! The five scenarios of issue 4, item 7 — one module each — and what they share: the
//! scale and where to get clusters.
//!
//! ```text
//!  main ──► Bench { scale, mappings, clusters } ──► scenario::run(&bench) ──► report::Outcome
//!                                                     │ baseline first, then supra-sync,
//!                                                     │ same clusters, fresh databases
//! ```

pub mod backlog;
pub mod insert_batches;
pub mod lag;
pub mod single_updates;
pub mod snapshot;

use std::path::PathBuf;
use std::sync::Arc;

use supra_sync_mapping::MappingSet;
use supra_sync_testkit::TestDatabase;
use tokio::sync::Mutex;

use crate::rig::Rig;

/// How much work each scenario does.
#[derive(Debug, Clone)]
pub struct Scale {
    /// (a) 1,000-row insert transactions.
    pub insert_txs: i64,
    /// (b) concurrent update clients.
    pub update_clients: i64,
    /// (b) single-row update transactions per client.
    pub updates_per_client: i64,
    /// (b) preloaded persons the updates touch.
    pub update_rows: i64,
    /// (c) persons to snapshot.
    pub snapshot_rows: i64,
    /// (d) changes per second on legacy.
    pub lag_rate: i64,
    /// (d) seconds of paced writing.
    pub lag_secs: u64,
    /// (e) changes in the backlog.
    pub backlog_changes: i64,
}

impl Scale {
    /// The figures of the issue.
    pub fn full() -> Scale {
        Scale {
            insert_txs: 200,
            update_clients: 8,
            updates_per_client: 5_000,
            update_rows: 20_000,
            snapshot_rows: 200_000,
            lag_rate: 5_000,
            lag_secs: 60,
            backlog_changes: 1_000_000,
        }
    }

    /// A run of about two minutes on a laptop.
    pub fn quick() -> Scale {
        Scale {
            insert_txs: 20,
            update_clients: 8,
            updates_per_client: 500,
            update_rows: 4_000,
            snapshot_rows: 20_000,
            lag_rate: 5_000,
            lag_secs: 10,
            backlog_changes: 100_000,
        }
    }
}

/// What every scenario needs.
pub struct Bench {
    /// The scale.
    pub scale: Scale,
    /// The shipped mappings.
    pub mappings: Arc<MappingSet>,
    /// The mapping directory (passed to the `supra-sync` child in (e)).
    pub mappings_dir: PathBuf,
    /// The `supra-sync` binary for (e).
    pub supra_sync_bin: PathBuf,
    /// Where child logs go.
    pub log_dir: PathBuf,
    /// One cluster pair for every scenario instead of a fresh pair each.
    pub shared_clusters: bool,
    /// Extra `postgresql.conf` settings for both clusters (profiling).
    pub pg_settings: Vec<(String, String)>,
    /// Keep the server logs of every rig in `log_dir`.
    pub save_server_logs: bool,
    /// Profile the statements supra-sync runs on SUPRA (`pg_stat_statements`).
    pub statements: bool,
    shared: Mutex<Option<Arc<Rig>>>,
    settings: Mutex<Vec<(String, String)>>,
}

impl Bench {
    /// A bench context with no extra settings; see the public fields for the rest.
    pub fn new(
        scale: Scale,
        mappings: Arc<MappingSet>,
        mappings_dir: PathBuf,
        supra_sync_bin: PathBuf,
        log_dir: PathBuf,
    ) -> Bench {
        Bench {
            scale,
            mappings,
            mappings_dir,
            supra_sync_bin,
            log_dir,
            shared_clusters: false,
            pg_settings: Vec::new(),
            save_server_logs: false,
            statements: false,
            shared: Mutex::new(None),
            settings: Mutex::new(Vec::new()),
        }
    }

    /// Clusters for a scenario: a fresh pair, or the shared one.
    pub async fn rig(&self, label: &str) -> anyhow::Result<Arc<Rig>> {
        let rig = if self.shared_clusters {
            let mut shared = self.shared.lock().await;
            match shared.as_ref() {
                Some(rig) => rig.clone(),
                None => {
                    let rig = Arc::new(Rig::start("shared", &self.pg_settings).await?);
                    *shared = Some(rig.clone());
                    rig
                }
            }
        } else {
            Arc::new(Rig::start(label, &self.pg_settings).await?)
        };
        let mut settings = self.settings.lock().await;
        if settings.is_empty() {
            *settings = rig.settings().await?;
        }
        Ok(rig)
    }

    /// Saves the rig's server logs when asked to (`--save-server-logs`).
    pub fn finish(&self, rig: &Rig, label: &str) -> anyhow::Result<()> {
        if self.save_server_logs {
            rig.save_logs(&self.log_dir, &format!("bench-{label}"))?;
        }
        Ok(())
    }

    /// Starts the statement profile of `db` (when `--statements`).
    pub async fn profile_start(&self, db: &TestDatabase) -> anyhow::Result<()> {
        if self.statements {
            crate::statements::reset(db).await?;
        }
        Ok(())
    }

    /// Appends the statement profile of `db` to `notes` (when `--statements`).
    pub async fn profile_notes(
        &self,
        db: &TestDatabase,
        changes: f64,
        notes: &mut Vec<String>,
    ) -> anyhow::Result<()> {
        if self.statements {
            notes.push("statements on SUPRA during the timed section (pg_stat_statements):".into());
            for line in crate::statements::top(db, changes, 16).await? {
                notes.push(format!("  {line}"));
            }
        }
        Ok(())
    }

    /// The PostgreSQL settings seen on the first rig.
    pub async fn settings(&self) -> Vec<(String, String)> {
        self.settings.lock().await.clone()
    }
}

/// Seconds as f64 with a floor, so a rate never divides by zero.
pub fn secs(d: std::time::Duration) -> f64 {
    d.as_secs_f64().max(1e-6)
}
