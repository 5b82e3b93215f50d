//! One direction of sync, run until shutdown: connect, resume from the target's stored
//! position, stream, batch, apply, acknowledge; reconnect with backoff on transient errors.
//!
//! ```text
//!  ReplicationSource.next() ──► batch (≤ max_batch_changes, drained without waiting)
//!          ▲                          │ Applier::apply (one target transaction)
//!          └── acknowledge(end_lsn) ◄─┘ only once the COMMIT is flushed on the target
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

use crate::publish::ChangePublisher;
use crate::snapshot::{Chunk, EntityProgress, Snapshotter, parse_watermark};
use crate::{Applier, ApplierOptions, EngineError};
use std::collections::VecDeque;

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
    /// Longest a partial batch waits for more transactions, counted from its first one.
    pub batch_linger: Duration,
    /// Interval of source heartbeats (slot advance on an idle source).
    pub heartbeat_interval: Duration,
    /// Stop at the first failed change.
    pub halt_on_failure: bool,
    /// Give up reconnecting after this long without success.
    pub reconnect_give_up: Duration,
    /// Rows per snapshot chunk.
    pub snapshot_chunk_rows: i64,
    /// Leader lease: `Some(poll)` takes the pipeline's lease on the applying connection
    /// before anything is applied, standing by (polling every `poll`) while another instance
    /// holds it; `None` runs without a lease. See `supra_sync_ops::lease` on fencing.
    pub lease_poll: Option<Duration>,
    /// Entities whose changes applied to SUPRA also append `domain_events` rows.
    pub domain_events: Vec<String>,
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
            snapshot_chunk_rows: 5_000,
            lease_poll: None,
            domain_events: Vec::new(),
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
    /// Rows read by snapshot chunks.
    pub snapshot_rows: AtomicU64,
    /// Where the pipeline is (starting, standby, streaming, …), for health and metrics.
    pub state: Arc<supra_sync_ops::StateCell>,
}

/// One direction of sync.
pub struct Pipeline {
    opts: PipelineOptions,
    legacy: DbConfig,
    supra: DbConfig,
    mappings: Arc<MappingSet>,
    stats: Arc<PipelineStats>,
    publisher: Option<Arc<dyn ChangePublisher>>,
}

impl Pipeline {
    /// A pipeline between the two databases.
    pub fn new(
        opts: PipelineOptions,
        legacy: DbConfig,
        supra: DbConfig,
        mappings: Arc<MappingSet>,
    ) -> Pipeline {
        let stats = Arc::new(PipelineStats::default());
        stats.state.set_pipeline(&opts.names.pipeline(opts.source));
        Pipeline {
            opts,
            legacy,
            supra,
            mappings,
            stats,
            publisher: None,
        }
    }

    /// Publishes every batch (e.g. to Kafka) before applying it.
    pub fn with_publisher(mut self, publisher: Arc<dyn ChangePublisher>) -> Pipeline {
        self.publisher = Some(publisher);
        self
    }

    async fn publish(&self, batch: &[Transaction], snapshot: bool) -> Result<(), EngineError> {
        if let Some(p) = &self.publisher {
            p.publish(batch, snapshot).await.map_err(|e| {
                if e.transient {
                    EngineError::Transient(e.message)
                } else {
                    EngineError::Definite(e.message)
                }
            })?;
        }
        Ok(())
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
            let batches_before = self.stats.batches.load(Ordering::Relaxed);
            let attempt_started = std::time::Instant::now();
            let result = self.run_once(&mut shutdown).await;
            // A run that applied something or streamed for a while was a recovery: the next
            // failure starts a fresh give-up window and backoff.
            if self.stats.batches.load(Ordering::Relaxed) > batches_before
                || attempt_started.elapsed() > Duration::from_secs(60)
            {
                failing_since = None;
                delay = Duration::from_millis(200);
            }
            match result {
                Ok(()) => {
                    self.stats.state.set(supra_sync_ops::PipelineState::Stopped);
                    return Ok(());
                }
                Err(e) if e.is_transient() => {
                    self.stats
                        .state
                        .set(supra_sync_ops::PipelineState::Reconnecting);
                    supra_sync_ops::record::reconnect(&self.opts.names.pipeline(self.opts.source));
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
                Err(e) => {
                    self.stats.state.set(supra_sync_ops::PipelineState::Failed);
                    return Err(e);
                }
            }
        }
    }

    async fn run_once(&self, shutdown: &mut watch::Receiver<bool>) -> Result<(), EngineError> {
        let side = self.opts.source;
        let names = &self.opts.names;
        let target = self.target_db().connect().await?;
        if let Some(poll) = self.opts.lease_poll {
            // On the connection that commits: see supra_sync_ops::lease on fencing.
            let lease = supra_sync_ops::Lease::new(&names.slot(side), &names.pipeline(side), poll);
            match lease.acquire(&target, shutdown, &self.stats.state).await {
                Ok(supra_sync_ops::Acquired::Held) => {}
                Ok(supra_sync_ops::Acquired::ShutDown) => return Ok(()),
                Err(e) if e.is_transient() => return Err(EngineError::Transient(e.to_string())),
                Err(e) => return Err(EngineError::Definite(e.to_string())),
            }
        }
        self.stats
            .state
            .set(supra_sync_ops::PipelineState::Connecting);
        let book = match side {
            Side::Legacy => None,
            Side::Supra => Some(self.supra.connect().await?),
        };
        let reader = self.source_db().connect().await?;
        let heartbeat = self.source_db().connect().await?;
        let start_lsn = setup::origin_position(&target, side, names)
            .await?
            .unwrap_or(Lsn::ZERO);
        let applier_opts = ApplierOptions {
            source: side,
            names: names.clone(),
            origin: names.origin(side),
            tenant: self.opts.tenant.clone(),
            halt_on_failure: self.opts.halt_on_failure,
        };
        let mut applier =
            Applier::new(applier_opts, self.mappings.clone(), target, book, reader).await?;
        applier.use_asynchronous_commit().await?;
        applier.set_domain_events(crate::events::DomainEvents::new(
            &self.mappings,
            &self.opts.domain_events,
        )?);
        let mut source = ReplicationSource::start(
            self.source_db(),
            SourceOptions {
                side,
                slot: names.slot(side),
                publication: names.publication(side),
                start_lsn,
                drop_origins: names.all_origins(),
                status_interval: Duration::from_secs(1),
            },
        )
        .await?;
        tracing::info!(pipeline = %names.pipeline(side), %start_lsn, "streaming");
        self.stats
            .state
            .set(supra_sync_ops::PipelineState::Streaming);
        let mut heartbeat_tick = tokio::time::interval(self.opts.heartbeat_interval);
        let mut snapshot = match side {
            Side::Legacy => Some(SnapshotState::load(self, &self.mappings).await?),
            Side::Supra => None,
        };
        let mut batch: Vec<Transaction> = Vec::new();
        let mut batch_changes = 0usize;
        let mut skipped_to: Option<Lsn> = None;
        let mut batch_deadline = tokio::time::Instant::now();
        // Position requested for acknowledgement, and what was acknowledged (never more than
        // the target has flushed: the applier commits asynchronously).
        let mut position = start_lsn;
        let mut acked = start_lsn;
        loop {
            // Start the next snapshot chunk when nothing else is pending.
            if batch.is_empty()
                && let Some(state) = snapshot.as_mut()
            {
                state.maybe_start_chunk().await?;
            }
            let event = if batch.is_empty() {
                tokio::select! {
                    ev = source.next() => ev?,
                    _ = heartbeat_tick.tick() => {
                        emit_heartbeat(&heartbeat).await?;
                        self.acknowledge(&mut applier, &source, position, &mut acked).await?;
                        if let Some(state) = snapshot.as_mut() {
                            state.refresh(&self.mappings).await?;
                        }
                        continue;
                    }
                    _ = shutdown.changed() => {
                        source.shutdown().await.ok();
                        return Ok(());
                    }
                }
            } else {
                // A batch waits at most `batch_linger` from its first transaction: a deadline,
                // not a gap, so the keepalives a walsender interleaves while it is ahead of our
                // acknowledgements neither cut batches short nor hold them open.
                match tokio::time::timeout_at(batch_deadline, source.next()).await {
                    Ok(ev) => ev?,
                    Err(_) => None, // nothing more right now: apply what we have
                }
            };
            let mut watermark = None;
            match event {
                Some(SourceEvent::Transaction(tx)) => {
                    if let Some(state) = snapshot.as_mut() {
                        state.observe(&tx.changes);
                    }
                    if batch.is_empty() {
                        batch_deadline = tokio::time::Instant::now() + self.opts.batch_linger;
                    }
                    batch_changes += tx.changes.len();
                    batch.push(tx);
                    if batch_changes < self.opts.max_batch_changes {
                        continue;
                    }
                }
                Some(SourceEvent::Skipped {
                    end_lsn,
                    bookings,
                    changes,
                }) => {
                    // An echo of our own write is newer than what a chunk read before it.
                    if let Some(state) = snapshot.as_mut() {
                        state.observe(&changes);
                    }
                    for content in &bookings {
                        applier.record_booking(content).await?;
                    }
                    skipped_to = Some(end_lsn);
                    if !batch.is_empty() {
                        continue;
                    }
                }
                Some(SourceEvent::Idle { wal_end }) if batch.is_empty() => {
                    position = position.max(wal_end);
                    self.acknowledge(&mut applier, &source, position, &mut acked)
                        .await?;
                    continue;
                }
                Some(SourceEvent::Idle { .. }) => continue, // a ping: keep filling the batch
                Some(SourceEvent::Watermark { lsn, content }) => watermark = Some((lsn, content)),
                None if batch.is_empty() && skipped_to.is_none() => {
                    return Err(EngineError::Transient(
                        "the replication stream ended".into(),
                    ));
                }
                None => {}
            }
            // Apply what is pending (a watermark always flushes first: order is kept).
            let mut ack = skipped_to.take();
            if !batch.is_empty() {
                self.publish(&batch, false).await?;
                tracing::debug!(
                    transactions = batch.len(),
                    changes = batch_changes,
                    first_xid = batch[0].xid,
                    last_xid = batch[batch.len() - 1].xid,
                    from = %batch[0].commit_lsn,
                    to = %batch[batch.len() - 1].end_lsn,
                    "applying a batch"
                );
                let summary = applier.apply(&batch).await?;
                self.record(&summary, &batch);
                ack = Some(ack.map_or(summary.end_lsn, |s| s.max(summary.end_lsn)));
                batch.clear();
                batch_changes = 0;
                if applier.has_parked() {
                    applier.retry_parked(summary.end_lsn).await?;
                }
            }
            if let Some((lsn, content)) = watermark
                && let Some(state) = snapshot.as_mut()
                && let Some(end) = state
                    .on_watermark(self, &mut applier, lsn, &content, &self.stats)
                    .await?
            {
                ack = Some(ack.map_or(end, |a| a.max(end)));
                if applier.has_parked() {
                    applier.retry_parked(end).await?;
                }
            }
            if let Some(lsn) = ack {
                position = position.max(lsn);
            }
            self.acknowledge(&mut applier, &source, position, &mut acked)
                .await?;
        }
    }

    /// Acknowledges to the source what the target holds durably of `position`, when that
    /// is more than `acked`.
    async fn acknowledge(
        &self,
        applier: &mut Applier,
        source: &ReplicationSource,
        position: Lsn,
        acked: &mut Lsn,
    ) -> Result<(), EngineError> {
        let durable = applier.durable(position).await?;
        if durable > *acked {
            *acked = durable;
            tracing::trace!(lsn = %durable, "acknowledging");
            source.acknowledge(durable);
            self.stats
                .acknowledged_lsn
                .fetch_max(durable.0, Ordering::Relaxed);
        }
        Ok(())
    }

    fn record(&self, summary: &crate::BatchSummary, batch: &[Transaction]) {
        let s = &self.stats;
        s.applied
            .fetch_add(summary.applied as u64, Ordering::Relaxed);
        s.failed.fetch_add(summary.failed as u64, Ordering::Relaxed);
        s.parked.fetch_add(summary.parked as u64, Ordering::Relaxed);
        s.skipped
            .fetch_add(summary.skipped as u64, Ordering::Relaxed);
        s.batches.fetch_add(1, Ordering::Relaxed);
        supra_sync_ops::record::transactions_applied(
            self.opts.source.direction(),
            batch.iter().map(|t| t.commit_ts.timestamp_micros()),
        );
        if let Some(last) = batch.last() {
            s.last_commit_micros.store(
                last.commit_ts.timestamp_micros().max(0) as u64,
                Ordering::Relaxed,
            );
        }
    }
}

/// The forward pipeline's snapshot work: pending entities and the chunk in flight.
struct SnapshotState {
    supra: tokio_postgres::Client,
    snapshotter: Snapshotter,
    queue: VecDeque<EntityProgress>,
    chunk: Option<Chunk>,
}

impl SnapshotState {
    async fn load(
        pipeline: &Pipeline,
        mappings: &MappingSet,
    ) -> Result<SnapshotState, EngineError> {
        let supra = pipeline.supra.connect().await?;
        let legacy = pipeline.legacy.connect().await?;
        let queue = Snapshotter::pending(&supra, mappings).await?.into();
        Ok(SnapshotState {
            supra,
            snapshotter: Snapshotter::new(legacy, pipeline.opts.snapshot_chunk_rows).await?,
            queue,
            chunk: None,
        })
    }

    /// Picks up snapshots requested while running (`supra-sync snapshot`).
    async fn refresh(&mut self, mappings: &MappingSet) -> Result<(), EngineError> {
        if self.chunk.is_none() {
            self.queue = Snapshotter::pending(&self.supra, mappings).await?.into();
        }
        Ok(())
    }

    async fn maybe_start_chunk(&mut self) -> Result<(), EngineError> {
        if self.chunk.is_none()
            && let Some(front) = self.queue.front()
        {
            self.chunk = Some(self.snapshotter.read_chunk(front).await?);
        }
        Ok(())
    }

    /// The rows streamed changes touch (applied or skipped as our own echo): a row of the
    /// open chunk read before them is stale. Keys are built only while a chunk is open.
    fn observe(&mut self, changes: &[supra_sync_core::Change]) {
        if let Some(chunk) = self.chunk.as_mut() {
            for change in changes {
                for row in [&change.old, &change.new].into_iter().flatten() {
                    chunk.observe(&change.table, row.key_text());
                }
            }
        }
    }

    /// Handles a watermark; returns the position to acknowledge when a chunk was applied.
    async fn on_watermark(
        &mut self,
        pipeline: &Pipeline,
        applier: &mut Applier,
        lsn: Lsn,
        content: &str,
        stats: &PipelineStats,
    ) -> Result<Option<Lsn>, EngineError> {
        let Some((low, id)) = parse_watermark(content) else {
            return Ok(None);
        };
        let Some(chunk) = self.chunk.as_mut().filter(|c| c.id == id) else {
            return Ok(None); // a mark of a chunk lost in a crash: it is read again
        };
        if low {
            chunk.open_window();
            return Ok(None);
        }
        let chunk = self.chunk.take().expect("chunk present");
        if pipeline.publisher.is_some() {
            // Published (op = r) before it is applied, like streamed batches.
            let rows = chunk.surviving_rows().into_iter();
            let tx = Transaction {
                side: Side::Legacy,
                xid: 0,
                commit_lsn: lsn,
                end_lsn: lsn, // see Applier::apply_snapshot_chunk
                commit_ts: chrono::Utc::now(),
                origin: None,
                changes: rows
                    .map(|row| supra_sync_core::Change {
                        op: supra_sync_core::ChangeOp::Insert,
                        table: chunk.table.clone(),
                        old: None,
                        new: Some(row),
                    })
                    .collect(),
            };
            pipeline.publish(std::slice::from_ref(&tx), true).await?;
        }
        let before = self
            .queue
            .front()
            .cloned()
            .expect("a chunk belongs to the front entity");
        let (summary, progress) = applier.apply_snapshot_chunk(&chunk, &before, lsn).await?;
        stats
            .applied
            .fetch_add(summary.applied as u64, Ordering::Relaxed);
        stats
            .failed
            .fetch_add(summary.failed as u64, Ordering::Relaxed);
        stats
            .parked
            .fetch_add(summary.parked as u64, Ordering::Relaxed);
        stats
            .snapshot_rows
            .fetch_add(chunk.rows.len() as u64, Ordering::Relaxed);
        supra_sync_ops::record::snapshot_rows(&progress.entity, chunk.rows.len() as u64);
        if chunk.last {
            tracing::info!(entity = %progress.entity, rows = progress.rows, "snapshot of entity finished");
            self.queue.pop_front();
        } else if let Some(front) = self.queue.front_mut() {
            *front = progress;
        }
        Ok(Some(summary.end_lsn))
    }
}
