//! The periodic collector: every `interval` it asks both databases what only they know and
//! exports it as gauges.
//!
//! ```text
//!  every interval ──► legacy: slot of legacy → SUPRA (lag, retained WAL, active), origin of
//!                 │           SUPRA → legacy, row estimates of snapshot tables
//!                 └─► SUPRA:  slot of SUPRA → legacy, origin of legacy → SUPRA, sync_log
//!                             failed rows, open conflicts, parked changes, snapshot progress
//! ```
//! Each database has its own long-lived connection (`application_name = supra-sync
//! collector`, `statement_timeout` = the interval); a failed round counts
//! [`names::COLLECTOR_ERRORS`], drops the connection and reconnects next round. The queries
//! read catalog views and the small bookkeeping tables through their indexes; none takes a
//! lock that writers wait for.

mod gauges;
mod queries;

use std::time::{Duration, Instant};

use supra_sync_core::Side;
use supra_sync_postgres::DbConfig;
use supra_sync_postgres::names::ObjectNames;
use tokio::sync::watch;
use tokio_postgres::Client;

use self::gauges::GaugeFamily;
use crate::names;

/// What to watch.
#[derive(Debug, Clone)]
pub struct CollectorConfig {
    /// Legacy database.
    pub legacy: DbConfig,
    /// SUPRA database.
    pub supra: DbConfig,
    /// Object names (slots, origins).
    pub names: ObjectNames,
    /// Whether the SUPRA → legacy pipeline exists (its slot and origin are watched).
    pub bidirectional: bool,
    /// Time between rounds.
    pub interval: Duration,
}

/// The collector task's state.
#[derive(Debug)]
pub struct Collector {
    config: CollectorConfig,
    legacy: Option<Client>,
    supra: Option<Client>,
    families: Families,
}

/// The label-varying gauges, each remembering its label sets.
#[derive(Debug)]
struct Families {
    failed: GaugeFamily,
    conflicts: GaugeFamily,
    parked: GaugeFamily,
    snapshot_rows: GaugeFamily,
    snapshot_done: GaugeFamily,
    snapshot_estimate: GaugeFamily,
}

impl Collector {
    /// A collector that has not connected yet.
    pub fn new(config: CollectorConfig) -> Collector {
        Collector {
            config,
            legacy: None,
            supra: None,
            families: Families {
                failed: GaugeFamily::new(names::SYNC_LOG_FAILED),
                conflicts: GaugeFamily::new(names::CONFLICTS_OPEN),
                parked: GaugeFamily::new(names::PARKED_CHANGES),
                snapshot_rows: GaugeFamily::new(names::SNAPSHOT_ROWS_COPIED),
                snapshot_done: GaugeFamily::new(names::SNAPSHOT_DONE),
                snapshot_estimate: GaugeFamily::new(names::SNAPSHOT_ROWS_ESTIMATED),
            },
        }
    }

    /// Runs rounds until `shutdown` becomes true.
    pub async fn run(mut self, mut shutdown: watch::Receiver<bool>) {
        let mut tick = tokio::time::interval(self.config.interval);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = tick.tick() => {}
                _ = shutdown.wait_for(|v| *v) => return,
            }
            self.round().await;
        }
    }

    /// One round over both databases; errors are counted and logged, never returned.
    pub async fn round(&mut self) {
        let started = Instant::now();
        let object_names = &self.config.names;
        let legacy_slots = vec![object_names.slot(Side::Legacy)];
        let supra_slots: Vec<String> = self
            .config
            .bidirectional
            .then(|| object_names.slot(Side::Supra))
            .into_iter()
            .collect();
        let legacy_origins: Vec<String> = self
            .config
            .bidirectional
            .then(|| object_names.origin(Side::Supra))
            .into_iter()
            .collect();
        let supra_origins = vec![object_names.origin(Side::Legacy)];
        self.ensure(Side::Supra).await;
        let mut tables = Vec::new();
        if let Some(client) = &self.supra {
            let r = async {
                queries::slots(client, "supra", &supra_slots).await?;
                queries::origins(client, "supra", &supra_origins).await?;
                tables = queries::bookkeeping(client, &mut self.families).await?;
                Ok(())
            }
            .await;
            self.check(Side::Supra, r);
        }
        self.ensure(Side::Legacy).await;
        if let Some(client) = &self.legacy {
            let r = async {
                queries::slots(client, "legacy", &legacy_slots).await?;
                queries::origins(client, "legacy", &legacy_origins).await?;
                queries::snapshot_estimates(client, &tables, &mut self.families).await
            }
            .await;
            self.check(Side::Legacy, r);
        }
        metrics::histogram!(names::COLLECTOR_SECONDS).record(started.elapsed().as_secs_f64());
    }

    fn slot_mut(&mut self, side: Side) -> &mut Option<Client> {
        match side {
            Side::Legacy => &mut self.legacy,
            Side::Supra => &mut self.supra,
        }
    }

    /// Connects `side` when it has no connection.
    async fn ensure(&mut self, side: Side) {
        if self.slot_mut(side).is_some() {
            return;
        }
        let db = match side {
            Side::Legacy => self.config.legacy.clone(),
            Side::Supra => self.config.supra.clone(),
        };
        match connect(&db, self.config.interval).await {
            Ok(c) => *self.slot_mut(side) = Some(c),
            Err(e) => {
                metrics::gauge!(names::DATABASE_UP, names::LABEL_DATABASE => side.to_string())
                    .set(0.0);
                self.failed(side, &e);
            }
        }
    }

    fn check(&mut self, side: Side, result: Result<(), String>) {
        match result {
            Ok(()) => {
                metrics::gauge!(names::DATABASE_UP, names::LABEL_DATABASE => side.to_string())
                    .set(1.0);
            }
            Err(e) => {
                self.failed(side, &e);
                *self.slot_mut(side) = None;
            }
        }
    }

    fn failed(&self, side: Side, error: &str) {
        metrics::counter!(names::COLLECTOR_ERRORS, names::LABEL_DATABASE => side.to_string())
            .increment(1);
        tracing::debug!(database = %side, error, "metrics collector round failed");
    }
}

async fn connect(db: &DbConfig, interval: Duration) -> Result<Client, String> {
    let timeout = interval.clamp(Duration::from_secs(1), Duration::from_secs(30));
    let client = tokio::time::timeout(timeout, db.connect())
        .await
        .map_err(|_| format!("{} did not answer within {timeout:?}", db.describe()))?
        .map_err(|e| e.to_string())?;
    client
        .batch_execute(&format!(
            "SET application_name = 'supra-sync collector'; SET statement_timeout = {}",
            timeout.as_millis()
        ))
        .await
        .map_err(|e| supra_sync_postgres::error::describe(&e))?;
    Ok(client)
}
