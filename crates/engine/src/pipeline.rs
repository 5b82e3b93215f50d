//! One direction of sync, run until shutdown: connect, resume from the target's stored
//! position, stream, batch, apply, acknowledge; reconnect with backoff on transient errors.
//!
//! ```text
//!  ReplicationSource.next() ──► batch (≤ max_batch_changes, drained without waiting)
//!          ▲                          │ Applier::apply (one target transaction)
//!          └── acknowledge(end_lsn) ◄─┘ only after COMMIT returned
//!  heartbeat task: pg_logical_emit_message on the source every heartbeat_interval, so an idle
//!  source still moves its slot forward.
//! ```
//! Memory is bounded: the replication client buffers a fixed number of events and a batch
//! holds at most `max_batch_changes` changes.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use supra_sync_core::{Lsn, Side, Transaction};
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::names::ObjectNames;
use supra_sync_postgres::source::{ReplicationSource, SourceEvent, SourceOptions, emit_heartbeat};
use supra_sync_postgres::{DbConfig, setup};
use tokio::sync::watch;

use crate::{Applier, ApplierOptions, EngineError};

/// Settings of one pipeline.
#[derive(Debug, Clone)]
pub struct PipelineOptions {
    /// The side changes come from.
    pub source: Side,
    /// Object names (slot, publication, origins).
    pub names: ObjectNames,
    /// Tenant code.
    pub tenant: String,
    /// Largest number of changes in one target transaction.
    pub max_batch_changes: usize,
    /// How long to wait for more transactions before applying a partial batch.
    pub batch_linger: Duration,
    /// Interval of source heartbeats (slot advance on an idle source).
    pub heartbeat_interval: Duration,
    /// Stop at the first failed change.
    pub halt_on_failure: bool,
    /// Give up reconnecting after this long without success.
    pub reconnect_give_up: Duration,
}

impl PipelineOptions {
    /// Defaults for a direction.
    pub fn new(source: Side) -> PipelineOptions {
        PipelineOptions {
            source,
            names: ObjectNames::default(),
            tenant: "cea-queretaro".into(),
            max_batch_changes: 5_000,
            batch_linger: Duration::from_millis(5),
            heartbeat_interval: Duration::from_secs(10),
            halt_on_failure: false,
            reconnect_give_up: Duration::from_secs(3600),
        }
    }
}

/// Live counters of a pipeline (read by `status`, metrics and the demo).
#[derive(Debug, Default)]
pub struct PipelineStats {
    /// Changes applied.
    pub applied: AtomicU64,
    /// Changes logged as failed.
    pub failed: AtomicU64,
    /// Changes parked.
    pub parked: AtomicU64,
    /// Changes skipped.
    pub skipped: AtomicU64,
    /// Target transactions committed.
    pub batches: AtomicU64,
    /// Position durable on the target and acknowledged to the source.
    pub acknowledged_lsn: AtomicU64,
    /// Commit time (Unix µs) of the last applied source transaction.
    pub last_commit_micros: AtomicU64,
    /// Reconnections after transient errors.
    pub reconnects: AtomicU64,
}

/// One direction of sync.
pub struct Pipeline {
    opts: PipelineOptions,
    legacy: DbConfig,
    supra: DbConfig,
    mappings: Arc<MappingSet>,
    stats: Arc<PipelineStats>,
}

impl Pipeline {
    /// A pipeline between the two databases.
    pub fn new(opts: PipelineOptions, legacy: DbConfig, supra: DbConfig, mappings: Arc<MappingSet>) -> Pipeline {
        Pipeline { opts, legacy, supra, mappings, stats: Arc::new(PipelineStats::default()) }
    }

    /// Its live counters.
    pub fn stats(&self) -> Arc<PipelineStats> {
        self.stats.clone()
    }

    fn source_db(&self) -> &DbConfig {
        match self.opts.source {
            Side::Legacy => &self.legacy,
            Side::Supra => &self.supra,
        }
    }

    fn target_db(&self) -> &DbConfig {
        match self.opts.source {
            Side::Legacy => &self.supra,
            Side::Supra => &self.legacy,
        }
    }

    /// Runs until `shutdown` becomes true. Transient failures (a database restarting, a
    /// dropped connection) reconnect with exponential backoff and resume from the target's
    /// stored position; definite ones are returned.
    pub async fn run(&self, mut shutdown: watch::Receiver<bool>) -> Result<(), EngineError> {
        let mut delay = Duration::from_millis(200);
        let mut failing_since: Option<std::time::Instant> = None;
        loop {
            match self.run_once(&mut shutdown).await {
                Ok(()) => return Ok(()),
                Err(e) if e.is_transient() => {
                    let since = *failing_since.get_or_insert_with(std::time::Instant::now);
                    if since.elapsed() > self.opts.reconnect_give_up {
                        return Err(EngineError::Definite(format!(
                            "{}: gave up after {:?} of failures; last error: {e}",
                            self.opts.names.pipeline(self.opts.source),
                            self.opts.reconnect_give_up
                        )));
                    }
                    self.stats.reconnects.fetch_add(1, Ordering::Relaxed);
                    tracing::warn!(pipeline = %self.opts.names.pipeline(self.opts.source), error = %e, retry_in = ?delay, "pipeline interrupted; reconnecting");
                    tokio::select! {
                        _ = tokio::time::sleep(delay) => {}
                        _ = shutdown.changed() => return Ok(()),
                    }
                    delay = (delay * 2).min(Duration::from_secs(10));
                }
                Err(e) => return Err(e),
            }
        }
    }

    async fn run_once(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), EngineError> {
        let side = self.opts.source;
        let names = &self.opts.names;
        let target = self.target_db().connect().await?;
        let book = match side {
            Side::Legacy => None,
            Side::Supra => Some(self.supra.connect().await?),
        };
        let reader = self.source_db().connect().await?;
        let heartbeat = self.source_db().connect().await?;
        let start_lsn = setup::origin_position(&target, side, names).await?.unwrap_or(Lsn::ZERO);
        let applier_opts = ApplierOptions {
            source: side,
            names: names.clone(),
            tenant: self.opts.tenant.clone(),
            halt_on_failure: self.opts.halt_on_failure,
        };
        let mut applier = Applier::new(applier_opts, self.mappings.clone(), target, book, reader).await?;
        let mut source = ReplicationSource::start(
            self.source_db(),
            SourceOptions {
                side,
                slot: names.slot(side),
                publication: names.publication(side),
                start_lsn,
                drop_origins: vec![names.origin(side.other())],
                status_interval: Duration::from_secs(1),
            },
        )
        .await?;
        tracing::info!(pipeline = %names.pipeline(side), %start_lsn, "streaming");
        let mut heartbeat_tick = tokio::time::interval(self.opts.heartbeat_interval);
        let mut batch: Vec<Transaction> = Vec::new();
        let mut batch_changes = 0usize;
        let mut skipped_to: Option<Lsn> = None;
        loop {
            let event = if batch.is_empty() {
                tokio::select! {
                    ev = source.next() => ev?,
                    _ = heartbeat_tick.tick() => {
                        emit_heartbeat(&heartbeat).await?;
                        continue;
                    }
                    _ = shutdown.changed() => {
                        source.shutdown().await.ok();
                        return Ok(());
                    }
                }
            } else {
                match tokio::time::timeout(self.opts.batch_linger, source.next()).await {
                    Ok(ev) => ev?,
                    Err(_) => None, // nothing more right now: apply what we have
                }
            };
            match event {
                Some(SourceEvent::Transaction(tx)) => {
                    batch_changes += tx.changes.len();
                    batch.push(tx);
                    if batch_changes < self.opts.max_batch_changes {
                        continue;
                    }
                }
                Some(SourceEvent::Skipped { end_lsn }) => {
                    skipped_to = Some(end_lsn);
                    if !batch.is_empty() {
                        continue;
                    }
                }
                Some(SourceEvent::Idle { wal_end }) => {
                    if batch.is_empty() {
                        source.acknowledge(wal_end);
                        self.stats.acknowledged_lsn.fetch_max(wal_end.0, Ordering::Relaxed);
                        continue;
                    }
                }
                Some(SourceEvent::Watermark { .. }) => {
                    if !batch.is_empty() {
                        continue;
                    }
                }
                None if batch.is_empty() && skipped_to.is_none() => {
                    return Err(EngineError::Transient("the replication stream ended".into()));
                }
                None => {}
            }
            let mut ack = skipped_to.take();
            if !batch.is_empty() {
                let summary = applier.apply(&batch).await?;
                self.record(&summary, &batch);
                ack = Some(ack.map_or(summary.end_lsn, |s| s.max(summary.end_lsn)));
                batch.clear();
                batch_changes = 0;
            }
            if let Some(lsn) = ack {
                source.acknowledge(lsn);
                self.stats.acknowledged_lsn.fetch_max(lsn.0, Ordering::Relaxed);
            }
        }
    }

    fn record(&self, summary: &crate::BatchSummary, batch: &[Transaction]) {
        let s = &self.stats;
        s.applied.fetch_add(summary.applied as u64, Ordering::Relaxed);
        s.failed.fetch_add(summary.failed as u64, Ordering::Relaxed);
        s.parked.fetch_add(summary.parked as u64, Ordering::Relaxed);
        s.skipped.fetch_add(summary.skipped as u64, Ordering::Relaxed);
        s.batches.fetch_add(1, Ordering::Relaxed);
        if let Some(last) = batch.last() {
            s.last_commit_micros.store(last.commit_ts.timestamp_micros().max(0) as u64, Ordering::Relaxed);
        }
    }
}
