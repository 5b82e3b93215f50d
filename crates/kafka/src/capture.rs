//! Capture-only: stream the legacy slot to Kafka without applying anything to SUPRA
//! (`supra-sync run` with `kafka.capture_only = true`).
//!
//! ```text
//!  legacy slot ─► ReplicationSource ─► batch (≤ max_batch_changes) ─► Publisher
//!        ▲                                                              │ every record
//!        └──────────── acknowledge(end_lsn of the batch) ◄──────────────┘ acknowledged
//! ```
//!
//! # Where the position is kept
//!
//! There is no target transaction, so no replication origin: the slot's own
//! `confirmed_flush_lsn` is the resume point. It is advanced (standby status update) only
//! after [`Publisher::publish_transactions`] returned `Ok` for every transaction up to that
//! position — after the broker acknowledged every record with `acks=all`. While the broker is
//! down the publisher retries and the loop waits, so the slot does not move and PostgreSQL
//! keeps the WAL. After a crash, streaming restarts at `confirmed_flush_lsn`: transactions
//! published but not yet acknowledged to the slot are published again (at-least-once; replay
//! is idempotent). Echoes of supra-sync's own apply (transactions carrying its origins) are
//! dropped, as in the full pipeline. Snapshot watermarks are ignored: the initial load of a
//! capture-only deployment is the full pipeline's job (its snapshot chunks are published with
//! `op` = `r`) or the consumers'.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use supra_sync_core::{Lsn, Side, Transaction};
use supra_sync_engine::EngineError;
use supra_sync_postgres::DbConfig;
use supra_sync_postgres::names::ObjectNames;
use supra_sync_postgres::source::{ReplicationSource, SourceEvent, SourceOptions, emit_heartbeat};
use tokio::sync::watch;

use crate::Publisher;
use crate::sink::publish_error;

/// Settings of the capture-only loop.
#[derive(Debug, Clone)]
pub struct CaptureOptions {
    /// Slot, publication and origin names.
    pub names: ObjectNames,
    /// Largest number of changes published per acknowledgement wait.
    pub max_batch_changes: usize,
    /// Longest a partial batch waits for more transactions, counted from its first one.
    pub batch_linger: Duration,
    /// Heartbeats on an idle source, so the slot still advances.
    pub heartbeat_interval: Duration,
    /// Give up reconnecting to legacy after this long without success.
    pub reconnect_give_up: Duration,
}

/// Live counters of the capture loop.
#[derive(Debug, Default)]
pub struct CaptureStats {
    /// Changes published and acknowledged by the broker.
    pub published: AtomicU64,
    /// Source transactions published.
    pub transactions: AtomicU64,
    /// Position acknowledged to the slot.
    pub acknowledged_lsn: AtomicU64,
    /// Reconnections after transient errors.
    pub reconnects: AtomicU64,
}

/// Runs capture-only until `shutdown` becomes true; transient failures (legacy restarting)
/// reconnect with backoff and resume from the slot.
pub async fn run(
    legacy: &DbConfig,
    opts: &CaptureOptions,
    publisher: &Publisher,
    stats: &Arc<CaptureStats>,
    mut shutdown: watch::Receiver<bool>,
) -> Result<(), EngineError> {
    let mut delay = Duration::from_millis(200);
    let mut failing_since: Option<std::time::Instant> = None;
    loop {
        match run_once(legacy, opts, publisher, stats, &mut shutdown).await {
            Ok(()) => return Ok(()),
            Err(e) if e.is_transient() => {
                let since = *failing_since.get_or_insert_with(std::time::Instant::now);
                if since.elapsed() > opts.reconnect_give_up {
                    return Err(EngineError::Definite(format!(
                        "capture: gave up after {:?} of failures; last error: {e}",
                        opts.reconnect_give_up
                    )));
                }
                stats.reconnects.fetch_add(1, Ordering::Relaxed);
                tracing::warn!(error = %e, retry_in = ?delay, "capture interrupted; reconnecting");
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

async fn run_once(
    legacy: &DbConfig,
    opts: &CaptureOptions,
    publisher: &Publisher,
    stats: &CaptureStats,
    shutdown: &mut watch::Receiver<bool>,
) -> Result<(), EngineError> {
    let names = &opts.names;
    let heartbeat = legacy.connect().await?;
    // Within one process, skip what was already published; across restarts the server starts
    // at the slot's confirmed position.
    let start_lsn = Lsn(stats.acknowledged_lsn.load(Ordering::Relaxed));
    let mut source = ReplicationSource::start(
        legacy,
        SourceOptions {
            side: Side::Legacy,
            slot: names.slot(Side::Legacy),
            publication: names.publication(Side::Legacy),
            start_lsn,
            drop_origins: names.all_origins(),
            status_interval: Duration::from_secs(1),
        },
    )
    .await?;
    tracing::info!(slot = %names.slot(Side::Legacy), %start_lsn, "capture-only: streaming to Kafka");
    let mut tick = tokio::time::interval(opts.heartbeat_interval);
    let mut batch: Vec<Transaction> = Vec::new();
    let mut changes = 0usize;
    let mut pending_ack: Option<Lsn> = None;
    let mut batch_deadline = tokio::time::Instant::now();
    loop {
        let event = if batch.is_empty() {
            tokio::select! {
                ev = source.next() => ev?,
                _ = tick.tick() => { emit_heartbeat(&heartbeat).await?; continue; }
                _ = shutdown.changed() => { source.shutdown().await.ok(); return Ok(()); }
            }
        } else {
            // A deadline from the batch's first transaction, as in the apply pipeline.
            tokio::time::timeout_at(batch_deadline, source.next())
                .await
                .unwrap_or(Ok(None))?
        };
        match event {
            Some(SourceEvent::Transaction(tx)) => {
                if batch.is_empty() {
                    batch_deadline = tokio::time::Instant::now() + opts.batch_linger;
                }
                changes += tx.changes.len();
                batch.push(tx);
                if changes < opts.max_batch_changes {
                    continue;
                }
            }
            Some(SourceEvent::Skipped { end_lsn, .. }) => {
                pending_ack = Some(pending_ack.map_or(end_lsn, |a| a.max(end_lsn)));
                if !batch.is_empty() {
                    continue;
                }
            }
            Some(SourceEvent::Idle { wal_end }) if batch.is_empty() => {
                pending_ack = Some(pending_ack.map_or(wal_end, |a| a.max(wal_end)));
            }
            Some(SourceEvent::Idle { .. }) => continue, // a ping: keep filling the batch
            Some(SourceEvent::Watermark { .. }) => {}
            None if batch.is_empty() && pending_ack.is_none() => {
                return Err(EngineError::Transient(
                    "the replication stream ended".into(),
                ));
            }
            None => {}
        }
        if let Some(last) = batch.last() {
            let end = last.end_lsn;
            publisher
                .publish_transactions(&batch, false)
                .await
                .map_err(|e| {
                    let e = publish_error(e);
                    if e.transient {
                        EngineError::Transient(e.message)
                    } else {
                        EngineError::Definite(e.message)
                    }
                })?;
            stats.published.fetch_add(changes as u64, Ordering::Relaxed);
            stats
                .transactions
                .fetch_add(batch.len() as u64, Ordering::Relaxed);
            pending_ack = Some(pending_ack.map_or(end, |a| a.max(end)));
            batch.clear();
            changes = 0;
        }
        if let Some(lsn) = pending_ack.take() {
            // Only now, with every record before `lsn` acknowledged by the broker.
            source.acknowledge(lsn);
            stats.acknowledged_lsn.fetch_max(lsn.0, Ordering::Relaxed);
        }
    }
}
