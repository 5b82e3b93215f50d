//! Replaying topics into SUPRA: each [`ReplayBatch`] goes through the same mappings and
//! [`Applier`] as the live pipeline, under the replay replication origin, with the consumer's
//! offsets committed in the same target transaction.
//!
//! ```text
//!  replay::run ─ ReplayBatch ─► batch::prepare ─► transactions (commit order)
//!                                   │                 │
//!   stage: kafka_offsets upsert ◄───┤                 ▼
//!   stage: sync_log failed rows ◄───┘   Applier::apply (origin <prefix>_replay, source legacy)
//!                                        BEGIN … data · sync_mappings · sync_log · offsets COMMIT
//!                                                     │
//!                                        retry_parked (rows whose reference just arrived)
//! ```
//!
//! # Exactly once into SUPRA
//!
//! The offsets after a batch commit with that batch's data, and the next run starts from the
//! offsets stored for its group ([`stored_offsets`]). A crash before the commit re-reads the
//! whole batch; after it, nothing of it. Replaying the same records again (a new group, or a
//! re-sent suffix) is idempotent: the applier upserts by the identity in `sync_mappings`.
//!
//! Rows the mappings join or aggregate (`direccion` + `geolocalizacion`, tariff blocks) are
//! read from the legacy database as it is now, like the live pipeline does; a replay therefore
//! needs the legacy connection even though the changes come from Kafka.

mod batch;
mod run;
mod store;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::{Duration, Instant};

use supra_sync_core::{Lsn, Side, TableName, Transaction};
use supra_sync_engine::{Applier, ApplierOptions, BatchSummary, EngineError};
use supra_sync_mapping::MappingSet;
use supra_sync_postgres::DbConfig;
use supra_sync_postgres::names::ObjectNames;

pub use batch::{FailedRecord, Prepared, prepare};
pub use run::{ReplayError, ReplayOutcome, run};
pub use store::{ensure_replay_origin, stored_offsets};

use crate::replay::{ReplayBatch, TopicPartition};

/// How a [`ReplayTarget`] applies.
#[derive(Debug, Clone)]
pub struct TargetOptions {
    /// Object names (the replay origin is `names.replay_origin()`).
    pub names: ObjectNames,
    /// Tenant code the mappings write for.
    pub tenant: String,
    /// Consumer group whose offsets are stored.
    pub group: String,
    /// Topic prefix, to name the entity of an undecodable record in `sync_log`.
    pub topic_prefix: String,
    /// Stop at the first change that fails instead of logging it.
    pub halt_on_failure: bool,
    /// Keep retrying a batch that fails transiently (database restart) this long.
    pub retry_for: Duration,
}

/// Counters of a replay into SUPRA.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct TargetStats {
    /// Changes applied.
    pub applied: u64,
    /// Changes logged as failed (mapping or data errors).
    pub failed: u64,
    /// Changes parked until a reference arrives.
    pub parked: u64,
    /// Changes deliberately not applied (e.g. a delete of a row never mapped).
    pub skipped: u64,
    /// Parked changes re-applied once their reference arrived.
    pub unparked: u64,
    /// Tombstones (nothing to apply).
    pub tombstones: u64,
    /// SUPRA-side changes (not replayed into SUPRA).
    pub foreign: u64,
    /// Records that did not decode (logged as failed).
    pub undecodable: u64,
    /// Target transactions committed.
    pub batches: u64,
}

/// Applies replay batches to SUPRA.
pub struct ReplayTarget {
    opts: TargetOptions,
    legacy: DbConfig,
    supra: DbConfig,
    mappings: Arc<MappingSet>,
    applier: Option<Applier>,
    stats: TargetStats,
    last_lsn: Lsn,
}

impl ReplayTarget {
    /// Connects to both databases (SUPRA as target, legacy to read joined rows).
    pub async fn connect(
        opts: TargetOptions,
        legacy: DbConfig,
        supra: DbConfig,
        mappings: Arc<MappingSet>,
    ) -> Result<ReplayTarget, EngineError> {
        let mut target = ReplayTarget {
            opts,
            legacy,
            supra,
            mappings,
            applier: None,
            stats: TargetStats::default(),
            last_lsn: Lsn::ZERO,
        };
        target.applier = Some(target.new_applier().await?);
        Ok(target)
    }

    async fn new_applier(&self) -> Result<Applier, EngineError> {
        let opts = ApplierOptions {
            source: Side::Legacy,
            names: self.opts.names.clone(),
            origin: self.opts.names.replay_origin(),
            tenant: self.opts.tenant.clone(),
            halt_on_failure: self.opts.halt_on_failure,
        };
        let target = self.supra.connect().await?;
        let source = self.legacy.connect().await?;
        Applier::new(opts, self.mappings.clone(), target, None, source).await
    }

    /// The next offset per partition stored for this target's group.
    pub async fn stored_offsets(&self) -> Result<HashMap<TopicPartition, i64>, EngineError> {
        let client = self.supra.connect().await?;
        stored_offsets(&client, &self.opts.group).await
    }

    /// Counters so far.
    pub fn stats(&self) -> TargetStats {
        self.stats
    }

    /// Applies one batch and stores its offsets in the same transaction. Transient failures
    /// (a database restarting) are retried on a new connection for
    /// [`TargetOptions::retry_for`]; then, and for definite failures, the error is returned
    /// and nothing of the batch (offsets included) was committed.
    pub async fn apply(&mut self, batch: ReplayBatch) -> Result<(), EngineError> {
        let next_offsets = batch.next_offsets.clone();
        let prepared = prepare(batch);
        if let Some(lsn) = prepared.max_lsn {
            self.last_lsn = self.last_lsn.max(lsn);
        }
        let transactions = if prepared.transactions.is_empty() {
            vec![batch::empty_transaction(self.last_lsn)]
        } else {
            prepared.transactions.clone()
        };
        let started = Instant::now();
        let mut delay = Duration::from_millis(200);
        let summary = loop {
            let err = match self.attempt(&transactions, &next_offsets, &prepared).await {
                Ok(summary) => break summary,
                Err(e) => e,
            };
            if !err.is_transient() || started.elapsed() > self.opts.retry_for {
                return Err(err);
            }
            tracing::warn!(error = %err, retry_in = ?delay, "replay batch failed; reconnecting");
            tokio::time::sleep(delay).await;
            delay = (delay * 2).min(Duration::from_secs(10));
        };
        let s = &mut self.stats;
        s.applied += summary.applied as u64;
        s.failed += summary.failed as u64;
        s.parked += summary.parked as u64;
        s.skipped += summary.skipped as u64;
        s.tombstones += prepared.tombstones as u64;
        s.foreign += prepared.foreign as u64;
        s.undecodable += prepared.failed.len() as u64;
        s.batches += 1;
        if prepared.foreign > 0 {
            tracing::warn!(
                changes = prepared.foreign,
                "skipped SUPRA-side changes: replay only feeds legacy changes into SUPRA"
            );
        }
        self.retry_parked(summary.end_lsn).await;
        Ok(())
    }

    /// One try: stage the offsets and failed records, apply. On error the applier (which may
    /// hold the staged statements of the failed try) is dropped and rebuilt next time.
    async fn attempt(
        &mut self,
        transactions: &[Transaction],
        next_offsets: &HashMap<TopicPartition, i64>,
        prepared: &Prepared,
    ) -> Result<BatchSummary, EngineError> {
        let mut applier = match self.applier.take() {
            Some(a) => a,
            None => self.new_applier().await?,
        };
        applier.stage_statement(
            store::UPSERT_OFFSETS,
            store::offsets_params(&self.opts.group, next_offsets),
        );
        for failed in &prepared.failed {
            let entity = self.entity_of(&failed.topic);
            applier.stage_statement(store::INSERT_FAILED, store::failed_params(&entity, failed));
        }
        let summary = applier.apply(transactions).await?;
        self.applier = Some(applier);
        Ok(summary)
    }

    /// Re-applies parked changes whose reference is now mapped. The batch is already
    /// committed: a failure here only delays them to the next batch (they stay parked).
    async fn retry_parked(&mut self, at: Lsn) {
        let Some(applier) = self.applier.as_mut() else {
            return;
        };
        // A retried change may unlock others waiting for it (lectura → contado → ptoserv):
        // go on while rounds make progress.
        for _ in 0..8 {
            if !applier.has_parked() {
                return;
            }
            match applier.retry_parked(at).await {
                Ok(0) => return,
                Ok(n) => self.stats.unparked += n as u64,
                Err(e) => {
                    tracing::warn!(error = %e, "retrying parked changes failed; they stay parked");
                    self.applier = None;
                    return;
                }
            }
        }
    }

    /// Changes still parked (waiting for a reference that never arrived), per entity.
    pub async fn parked(&self) -> Result<BTreeMap<String, i64>, EngineError> {
        let client = self.supra.connect().await?;
        let rows = client
            .query(
                "SELECT entity_type::text, count(*) FROM supra_sync.parked_changes
                  WHERE direction = 'legacy_to_supra' GROUP BY 1 ORDER BY 1",
                &[],
            )
            .await
            .map_err(|e| EngineError::sql("counting parked changes", e))?;
        Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
    }

    /// The entity a topic feeds (its table's primary entity), for the failure log.
    fn entity_of(&self, topic: &str) -> String {
        let table = topic
            .strip_prefix(&self.opts.topic_prefix)
            .and_then(|rest| rest.strip_prefix('.'))
            .map(TableName::parse);
        table
            .and_then(|t| {
                self.mappings
                    .routes_for(Side::Legacy, &t)
                    .into_iter()
                    .next()
                    .map(|r| r.entity)
            })
            .unwrap_or_else(|| "kafka".to_string())
    }
}
