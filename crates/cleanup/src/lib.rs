//! The cleanup sidecar: the legacy cleanup phases (seeds 000, 001/002, 004) as planned,
//! resumable, verified jobs against the legacy AquaCIS database.
//!
//! ```text
//!   CLI ──► Cleanup::connect(conn, CleanupConfig{protected_tables = what the sync publishes})
//!             │
//!             ├─ inventory()            read-only summary by category
//!             ├─ plan(phase)  ─────────► Plan (Display = the dry run: statements, rows,
//!             │                           dependents, blockers, catalog rows freed)
//!             ├─ apply(phase, progress) ─► advisory lock ─► steps ─► supra_sync_cleanup.*
//!             │      each step: state row (JSON) · rollback DDL first (file + table) ·
//!             │      DDL under lock_timeout with retry/backoff · drops rate-limited
//!             ├─ verify(phase) ────────► Vec<CheckResult> (seed acceptance / DoD checks)
//!             ├─ rollback(phase) ──────► replays the recorded rollback
//!             ├─ status()  · monitor() (re-accumulation, audit_log partitions ahead)
//!             └─ metrics(phase) ───────► before/after catalog figures
//! ```
//!
//! Invariant (design §6): no table is dropped unless its rows were copied and counted, or it
//! was verified empty, or archived with a checksum and a tested restore; rollback information
//! is recorded before anything is dropped; every DDL runs under `lock_timeout` with retry;
//! every step is idempotent and resumable; a table the sync publishes is never touched.
#![deny(missing_docs)]

mod catalog;
mod check;
mod config;
mod error;
mod final_;
mod job;
mod metrics;
mod monitor;
mod phase;
mod phase1;
mod phase2;
mod plan;
mod progress;
mod status;

use std::str::FromStr as _;
use std::time::{Duration, Instant};

use tokio_postgres::{Client, NoTls};

pub use check::{CheckResult, all_passed};
pub use config::{
    CleanupConfig, ConstraintKind, ConstraintSpec, FinalConfig, HistoryConfig, LookupConfig,
};
pub use error::{Blocked, CleanupError, Result};
pub use final_::archive::{ArchiveManifest, SCRATCH_SCHEMA};
pub use job::lock::LOCK_KEY;
pub use job::state::StepRecord;
pub use metrics::{CatalogMetrics, MetricsComparison};
pub use monitor::MonitorReport;
pub use phase::Phase;
pub use plan::{AffectedTable, Footprint, Plan, PlannedStep};
pub use progress::{Progress, TerminalProgress};
pub use status::{ApplyReport, CategoryCount, Inventory, RollbackReport, StatusReport};

use job::Ctx;
use job::lock::RunLock;
use job::state;

/// A progress callback that ignores reports.
pub fn no_progress(_: Progress) {}

/// A connection to the legacy database with a cleanup configuration.
pub struct Cleanup {
    client: Client,
    conn_str: String,
    config: CleanupConfig,
}

impl std::fmt::Debug for Cleanup {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Cleanup")
            .field("schema", &self.config.schema)
            .finish()
    }
}

impl Cleanup {
    /// Connects (libpq key/value or URL connection string) with `application_name`
    /// `supra-sync cleanup`.
    pub async fn connect(conn_str: &str, config: CleanupConfig) -> Result<Cleanup> {
        let mut pg = tokio_postgres::Config::from_str(conn_str)
            .map_err(CleanupError::db("parse the connection string"))?;
        pg.application_name("supra-sync cleanup");
        // Nothing this session does may wait on a lock forever: statements outside the
        // retried transactions (counts, catalog reads) fail after lock_timeout too, and the
        // step runner retries them.
        pg.options(format!("-c lock_timeout={}", config.lock_timeout_ms));
        let (client, connection) = pg
            .connect(NoTls)
            .await
            .map_err(CleanupError::db("connect to the legacy database"))?;
        tokio::spawn(async move {
            if let Err(e) = connection.await {
                tracing::debug!("cleanup connection ended: {e}");
            }
        });
        Ok(Cleanup {
            client,
            conn_str: conn_str.to_string(),
            config,
        })
    }

    /// The configuration.
    pub fn config(&self) -> &CleanupConfig {
        &self.config
    }

    fn dump_target(&self) -> Option<&str> {
        self.config
            .measure_schema_dump
            .then_some(self.conn_str.as_str())
    }

    /// Read-only summary of the schema by cleanup category (seed 000 P1-S1-01, live).
    pub async fn inventory(&self) -> Result<Inventory> {
        status::inventory(&self.client, &self.config).await
    }

    /// The dry run of a phase. Writes nothing.
    pub async fn plan(&self, phase: Phase) -> Result<Plan> {
        let ctx = Ctx::new(&self.client, &self.config, phase, &no_progress);
        match phase {
            Phase::One => phase1::plan(&ctx).await,
            Phase::Two => phase2::plan(&ctx).await,
            Phase::Final => final_::plan(&ctx).await,
        }
    }

    /// Runs a phase, resuming from the state table. Fails with
    /// [`CleanupError::Incomplete`] when some steps stopped (the others ran), with a
    /// transient error when it must stop at once (run it again to resume), and with
    /// [`CleanupError::ConcurrentRun`] when another run holds the lock.
    pub async fn apply(
        &self,
        phase: Phase,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<ApplyReport> {
        let lock = RunLock::acquire(&self.client).await?;
        let started = Instant::now();
        let outcome = async {
            state::ensure(&self.client).await?;
            let run = state::run_started(&self.client, phase, "apply").await?;
            let ctx = Ctx::new(&self.client, &self.config, phase, progress);
            let r = match phase {
                Phase::One => phase1::apply(&ctx, self.dump_target()).await,
                Phase::Two => phase2::apply(&ctx).await,
                Phase::Final => final_::apply(&ctx).await,
            };
            let r = r.and_then(|_| ctx.finish());
            let label = match &r {
                Ok(()) => "complete".to_string(),
                Err(CleanupError::Incomplete { .. }) => "incomplete".to_string(),
                Err(e) => format!(
                    "failed: {}",
                    e.to_string().lines().next().unwrap_or_default()
                ),
            };
            let _ = state::run_finished(&self.client, run, &label).await;
            r
        }
        .await;
        let released = lock.release().await;
        outcome?;
        released?;
        Ok(ApplyReport {
            phase,
            duration: started.elapsed(),
            steps: state::load_all(&self.client, Some(phase)).await?,
        })
    }

    /// The phase's acceptance checks, pass/fail each. Read-only.
    pub async fn verify(&self, phase: Phase) -> Result<Vec<CheckResult>> {
        match phase {
            Phase::One => phase1::verify::verify(&self.client, &self.config).await,
            Phase::Two => phase2::verify(&self.client, &self.config).await,
            Phase::Final => final_::verify(&self.client, &self.config).await,
        }
    }

    /// Reverts what `apply` recorded for a phase, newest first, then forgets the phase's
    /// step state so it can be applied again.
    pub async fn rollback(
        &self,
        phase: Phase,
        progress: &(dyn Fn(Progress) + Send + Sync),
    ) -> Result<RollbackReport> {
        let lock = RunLock::acquire(&self.client).await?;
        let started = Instant::now();
        let outcome = async {
            state::ensure(&self.client).await?;
            let run = state::run_started(&self.client, phase, "rollback").await?;
            let ctx = Ctx::new(&self.client, &self.config, phase, progress);
            let r = match phase {
                Phase::One => phase1::rollback::rollback(&ctx).await,
                Phase::Two => phase2::rollback(&ctx).await,
                Phase::Final => final_::rollback(&ctx).await,
            };
            let _ = state::run_finished(
                &self.client,
                run,
                if r.is_ok() {
                    "rolled back"
                } else {
                    "rollback failed"
                },
            )
            .await;
            r
        }
        .await;
        let released = lock.release().await;
        let detail = outcome?;
        released?;
        Ok(RollbackReport {
            phase,
            duration: started.elapsed(),
            detail,
        })
    }

    /// Every step's state, and who holds the run lock.
    pub async fn status(&self) -> Result<StatusReport> {
        Ok(StatusReport {
            steps: state::load_all(&self.client, None).await?,
            running: job::lock::holder(&self.client).await,
        })
    }

    /// One re-accumulation / partition-maintenance pass (seed 000 P1-S4-07).
    pub async fn monitor(&self) -> Result<MonitorReport> {
        monitor::run(&self.client, &self.config).await
    }

    /// Before/after catalog figures of a phase (after = now when the phase did not record
    /// them).
    pub async fn metrics(&self, phase: Phase) -> Result<Option<MetricsComparison>> {
        let Some(before) = state::load_metrics(&self.client, phase, "before").await? else {
            return Ok(None);
        };
        let after = match state::load_metrics(&self.client, phase, "after").await? {
            Some(a) => serde_json::from_value(a).unwrap_or_default(),
            None => metrics::capture(&self.client, &self.config.schema, None).await?,
        };
        Ok(Some(MetricsComparison {
            before: serde_json::from_value(before).unwrap_or_default(),
            after,
        }))
    }

    /// Runs [`Cleanup::monitor`] every `every` until `stop` resolves (for `supra-sync run`).
    pub async fn monitor_every<F: std::future::Future<Output = ()>>(
        &self,
        every: Duration,
        stop: F,
    ) -> Result<()> {
        tokio::pin!(stop);
        let mut tick = tokio::time::interval(every);
        loop {
            tokio::select! {
                _ = &mut stop => return Ok(()),
                _ = tick.tick() => {
                    let report = self.monitor().await?;
                    tracing::info!(alert = report.alert, "cleanup monitor: {}", report.to_string().trim());
                }
            }
        }
    }
}
