//! The ordered, group-committing applier.
//!
//! ```text
//!  batch of source transactions (commit order)
//!    │ plan: routes → rows (re-read from the source when needed) → needs
//!    │ resolve: one sync_mappings lookup for the whole batch, fetch joined/child rows
//!    │ evaluate the mappings → TargetOps per change (or failed / parked / skipped)
//!    ▼
//!  BEGIN; set tenant; origin_xact_setup(end_lsn, commit_ts)
//!    TargetOps (grouped, in order) · sync_mappings · sync_log · parked_changes
//!  COMMIT            ── on a data error: redo the batch change by change under savepoints,
//!                       failing only the changes that error
//! ```
//!
//! Forward (legacy → SUPRA) writes data and bookkeeping in one SUPRA transaction. Reverse
//! (SUPRA → legacy, bidirectional entities) writes data in legacy under the origin; identity
//! mappings for rows born in SUPRA are committed to SUPRA *before* the legacy write, so a crash
//! in between reuses the same legacy id on replay; the rest of its bookkeeping (log rows,
//! agreed versions, parked changes) is carried in the legacy transaction as a logical message
//! and written to SUPRA after the legacy commit, or by the legacy → SUPRA pipeline when it
//! meets the message if supra-sync died in between ([`crate::booking`]).
//!
//! Layout: this file holds the applier's state and the batch entry points (`apply`, snapshot
//! chunks); `plan` turns a batch into planned changes (with `forward` for legacy → SUPRA and
//! `reverse` for SUPRA → legacy), `checks` decides conflicts inside the target transaction,
//! `commit` writes a planned batch, and `parked` retries changes waiting for references.

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use supra_sync_core::{Change, ChangeOp, Lsn, Row, Side, Transaction, Value};
use supra_sync_mapping::{MappingSet, TargetOp};
use supra_sync_postgres::names::ObjectNames;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::book::{self, LogRow, LogStatus, MappingRow, ParkedRow};
use crate::conflict::Check;
use crate::reader::RowReader;
use crate::snapshot::{Chunk, EntityProgress};
use crate::write::TargetWriter;
use crate::{EngineError, park};

mod checks;
mod commit;
mod forward;
mod parked;
mod plan;
mod reverse;
pub(crate) use checks::write_versions;
use plan::{CheckColumns, FetchKey};

/// How an applier behaves.
#[derive(Debug, Clone)]
pub struct ApplierOptions {
    /// Which side the changes come from.
    pub source: Side,
    /// Object names.
    pub names: ObjectNames,
    /// Replication origin the writes carry (normally `names.origin(source)`; replay uses
    /// `names.replay_origin()`).
    pub origin: String,
    /// Tenant code (`tenants.slug`) whose context the SUPRA writes run in.
    pub tenant: String,
    /// Stop the pipeline at the first failed change instead of logging it and going on.
    pub halt_on_failure: bool,
}

/// What one batch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct BatchSummary {
    /// Changes applied.
    pub applied: usize,
    /// Changes logged as failed.
    pub failed: usize,
    /// Changes parked until a referenced row is mapped.
    pub parked: usize,
    /// Changes deliberately not applied.
    pub skipped: usize,
    /// Position the target now holds (end of the last transaction of the batch).
    pub end_lsn: Lsn,
}

/// The result of planning one source change.
struct Planned {
    ops: Vec<TargetOp>,
    log: LogRow,
    mappings: Vec<MappingRow>,
    /// Changes parked by this one: itself, and/or the parked delete of a key it left.
    parked: Vec<ParkedRow>,
    rekey: Option<(String, String, String)>,
    /// Conflict check for bidirectional entities.
    check: Option<Check>,
    /// Open conflict this change must queue behind.
    held_by: Option<Uuid>,
}

impl Planned {
    /// The change is not applied: its writes are dropped and it is logged as `status`,
    /// with `reason`.
    fn set_outcome(&mut self, status: LogStatus, reason: String) {
        self.ops.clear();
        self.log.status = status;
        self.log.error = Some(reason);
    }
}

/// Applies batches of source transactions to the target, in order.
pub struct Applier {
    opts: ApplierOptions,
    mappings: Arc<MappingSet>,
    target: Client,
    /// SUPRA connection for bookkeeping when the target is legacy.
    book: Option<Client>,
    source: RowReader,
    writer: TargetWriter,
    tenant_id: Uuid,
    parked_keys: HashSet<(String, String)>,
    /// The references parked changes wait for: entity → legacy keys or SUPRA ids.
    awaited: park::Awaited,
    /// A batch mapped a reference some parked change waits for: retry them.
    parked_may_resolve: bool,
    /// When parked changes are next retried even without such a batch (references mapped
    /// by another pipeline, `retry` or `reconcile --fix`).
    next_parked_sweep: std::time::Instant,
    range_next: HashMap<String, i64>,
    /// Snapshot progress to record in the next target transaction.
    pending_progress: Option<(EntityProgress, bool, Lsn)>,
    /// Parked change ids to delete in the next target transaction.
    pending_unpark: Vec<i64>,
    /// Extra statements (SQL, text parameters) for the next target transaction.
    staged: Vec<(String, Vec<Option<String>>)>,
    /// Joined and child rows fetched for the current batch, by (table, filter).
    prefetched: HashMap<FetchKey, Vec<Row>>,
    /// Open conflicts by (entity, legacy key), refreshed every batch.
    open_conflicts: HashMap<(String, String), Uuid>,
    /// Shapes of target tables (for conflict checks).
    target_schemas: HashMap<supra_sync_core::TableName, Arc<supra_sync_core::RowSchema>>,
    /// Cutover stages, reloaded every batch (direction gating, conflict policy).
    stages: crate::stage::StageBook,
    /// Entities whose changes to SUPRA append domain events.
    events: crate::events::DomainEvents,
    /// Conflict policy replacing the stage's (`reconcile --fix`).
    policy_override: Option<supra_sync_mapping::ConflictPolicy>,
    /// Commits do not wait for the target's WAL flush (see [`Applier::durable`]).
    asynchronous_commit: bool,
    /// Target commits not yet known to be flushed: (target WAL position after the commit,
    /// source position the commit carries), oldest first.
    unflushed: std::collections::VecDeque<(Lsn, Lsn)>,
    /// Highest source position whose target commit is known to be flushed.
    durable_source: Lsn,
    /// `roident`s of supra-sync's replication origins on the target.
    our_origins: Vec<u32>,
    /// Per entity: the key and compared columns of its conflict checks on the target.
    check_columns: HashMap<String, CheckColumns>,
}

impl Applier {
    /// Builds an applier. `target` receives the data; `book` is the SUPRA connection for
    /// bookkeeping when the target is legacy (`None` when the target is SUPRA); `source`
    /// reads current source rows (joins, children, unchanged TOAST).
    pub async fn new(
        opts: ApplierOptions,
        mappings: Arc<MappingSet>,
        target: Client,
        book: Option<Client>,
        source: Client,
    ) -> Result<Applier, EngineError> {
        let origin = opts.origin.clone();
        target
            .query("SELECT pg_replication_origin_session_setup($1)", &[&origin])
            .await
            .map_err(|e| {
                EngineError::sql(format!("attaching to replication origin {origin}"), e)
            })?;
        let tenant_id = book::tenant_id(book.as_ref().unwrap_or(&target), &opts.tenant).await?;
        let source = RowReader::new(source).await?;
        if opts.source == Side::Supra {
            source
                .client()
                .execute(
                    "SELECT set_config('app.current_tenant', $1, false)",
                    &[&tenant_id.to_string()],
                )
                .await
                .map_err(|e| {
                    EngineError::sql("setting the tenant context on the SUPRA reader", e)
                })?;
        }
        let bookkeeping = book.as_ref().unwrap_or(&target);
        let parked_keys = park::load_keys(bookkeeping, opts.source, &mappings).await?;
        let awaited = park::load_awaited(bookkeeping, opts.source).await?;
        let our_origins: Vec<u32> = target
            .query(
                "SELECT pg_replication_origin_oid(n) FROM unnest($1::text[]) AS n
                  WHERE pg_replication_origin_oid(n) IS NOT NULL",
                &[&opts.names.all_origins()],
            )
            .await
            .map_err(|e| EngineError::sql("looking up supra-sync's replication origins", e))?
            .iter()
            .map(|r| r.get(0))
            .collect();
        let check_columns = mappings
            .entities()
            .iter()
            .map(|e| (e.name().to_string(), CheckColumns::of(e, opts.source)))
            .collect();
        Ok(Applier {
            opts,
            mappings,
            target,
            book,
            source,
            writer: TargetWriter::default(),
            tenant_id,
            parked_keys,
            awaited,
            parked_may_resolve: false,
            next_parked_sweep: std::time::Instant::now(),
            range_next: HashMap::new(),
            pending_progress: None,
            pending_unpark: Vec::new(),
            staged: Vec::new(),
            prefetched: HashMap::new(),
            open_conflicts: HashMap::new(),
            target_schemas: HashMap::new(),
            stages: crate::stage::StageBook::default(),
            events: crate::events::DomainEvents::default(),
            policy_override: None,
            asynchronous_commit: false,
            unflushed: std::collections::VecDeque::new(),
            durable_source: Lsn::ZERO,
            our_origins,
            check_columns,
        })
    }

    /// Commits without waiting for the target's WAL flush, as PostgreSQL's own logical
    /// replication workers do. The source may then only be acknowledged up to
    /// [`Applier::durable`]: a target crash loses the unflushed commits together with their
    /// origin progress, and the source still holds them.
    pub async fn use_asynchronous_commit(&mut self) -> Result<(), EngineError> {
        self.target
            .batch_execute("SET synchronous_commit = off")
            .await
            .map_err(|e| EngineError::sql("turning off synchronous commit", e))?;
        self.asynchronous_commit = true;
        Ok(())
    }

    /// The highest source position up to `wanted` that may be acknowledged: `wanted` when
    /// every commit made so far is flushed on the target, else the source position of the
    /// last flushed one.
    pub async fn durable(&mut self, wanted: Lsn) -> Result<Lsn, EngineError> {
        if self.unflushed.is_empty() {
            return Ok(wanted);
        }
        let flushed: String = self
            .target
            .query_one("SELECT pg_current_wal_flush_lsn()::text", &[])
            .await
            .map_err(|e| EngineError::sql("reading the target's flushed WAL position", e))?
            .get(0);
        let flushed: Lsn = flushed
            .parse()
            .map_err(|e| EngineError::Definite(format!("flushed WAL position: {e}")))?;
        while let Some(&(wal, source)) = self.unflushed.front() {
            if wal > flushed {
                break;
            }
            self.durable_source = self.durable_source.max(source);
            self.unflushed.pop_front();
        }
        Ok(if self.unflushed.is_empty() {
            wanted
        } else {
            wanted.min(self.durable_source)
        })
    }

    /// Writes the bookkeeping a SUPRA → legacy batch carried into its legacy transaction
    /// (met by the legacy → SUPRA pipeline in that echo transaction), unless it was written
    /// already. Returns whether it wrote it. Until this write is flushed on SUPRA,
    /// [`Applier::durable`] acknowledges nothing more.
    pub async fn record_booking(&mut self, content: &str) -> Result<bool, EngineError> {
        let booking = crate::booking::Booking::from_json(content)?;
        let tx = self
            .target
            .transaction()
            .await
            .map_err(|e| EngineError::sql("starting the bookkeeping transaction", e))?;
        let wrote = booking.write(&tx).await?;
        tx.commit()
            .await
            .map_err(|e| EngineError::sql("committing the bookkeeping", e))?;
        if wrote {
            tracing::info!(
                booking = %booking.id,
                changes = booking.logs.len(),
                "wrote the bookkeeping of a SUPRA → legacy batch from its legacy transaction"
            );
            if self.asynchronous_commit {
                // No source position of its own: it only holds acknowledgements back (a
                // batch still pending in the pipeline may lie before the echo's end).
                self.unflushed
                    .push_back((self.wal_insert_position().await?, Lsn::ZERO));
            }
        }
        Ok(wrote)
    }

    async fn wal_insert_position(&self) -> Result<Lsn, EngineError> {
        let wal: String = self
            .target
            .query_one("SELECT pg_current_wal_insert_lsn()::text", &[])
            .await
            .map_err(|e| EngineError::sql("reading the target's WAL position", e))?
            .get(0);
        wal.parse()
            .map_err(|e| EngineError::Definite(format!("target WAL position: {e}")))
    }

    /// Appends SUPRA domain events for the changes of these entities (forward only).
    pub fn set_domain_events(&mut self, events: crate::events::DomainEvents) {
        self.events = events;
    }

    /// Decides every conflict by `policy` instead of the entity's stage policy (`None`: back
    /// to the stage's). For deliberate re-syncs, such as `reconcile --fix`.
    pub fn set_policy_override(&mut self, policy: Option<supra_sync_mapping::ConflictPolicy>) {
        self.policy_override = policy;
    }

    /// The applied changes to SUPRA that produce domain events.
    fn event_subjects(
        events: &crate::events::DomainEvents,
        source: Side,
        plans: &[Planned],
    ) -> Vec<crate::events::Subject> {
        if source == Side::Supra || events.is_empty() {
            return Vec::new();
        }
        plans
            .iter()
            .enumerate()
            .filter(|(_, p)| p.log.status == LogStatus::Applied && !p.ops.is_empty())
            .filter(|(_, p)| events.wants(&p.log.entity))
            .filter_map(|(seq, p)| {
                Some(crate::events::Subject {
                    seq,
                    entity: p.log.entity.clone(),
                    supra_id: p.log.supra_id?,
                    legacy_key: p.log.entity_id.clone(),
                    operation: p.log.operation,
                    lsn: p.log.source_lsn,
                    commit_ts: p.log.commit_ts,
                    xid: p.log.source_xid,
                })
            })
            .collect()
    }

    fn bookkeeping(&self) -> &Client {
        self.book.as_ref().unwrap_or(&self.target)
    }

    /// Applies `batch` (non-empty, in commit order) in one target transaction and returns
    /// what happened. Transient errors are returned for the caller to retry the same batch.
    pub async fn apply(&mut self, batch: &[Transaction]) -> Result<BatchSummary, EngineError> {
        let last = batch
            .last()
            .ok_or_else(|| EngineError::Definite("empty batch".into()))?;
        let (end_lsn, commit_ts) = (last.end_lsn, last.commit_ts);
        let mut plans = Vec::new();
        self.plan_batch(batch, &mut plans).await?;
        if self.opts.halt_on_failure
            && let Some(p) = plans.iter().find(|p| p.log.status == LogStatus::Failed)
        {
            return Err(EngineError::Definite(format!(
                "halting on failed change to {} {}: {}",
                p.log.entity,
                p.log.entity_id,
                p.log.error.clone().unwrap_or_default()
            )));
        }
        let commit_started = std::time::Instant::now();
        match self.commit(&mut plans, end_lsn, commit_ts, false).await {
            Ok(()) => {}
            Err(e) if !e.is_transient() => {
                // The detail of a data error can quote row values: debug level only.
                tracing::warn!(
                    sqlstate = e.sqlstate().unwrap_or("-"),
                    "batch failed; retrying change by change to isolate the failure"
                );
                tracing::debug!(error = %e, "batch failure");
                self.commit(&mut plans, end_lsn, commit_ts, true).await?;
            }
            Err(e) => return Err(e),
        }
        supra_sync_ops::record::batch_committed(
            self.opts.source.direction(),
            commit_started.elapsed(),
        );
        let mut summary = BatchSummary {
            end_lsn,
            ..BatchSummary::default()
        };
        for p in &plans {
            match p.log.status {
                LogStatus::Applied => summary.applied += 1,
                LogStatus::Failed => summary.failed += 1,
                LogStatus::Skipped => summary.skipped += 1,
                LogStatus::Held => {}
            }
            supra_sync_ops::record::change(
                &p.log.entity,
                self.opts.source.direction(),
                match p.log.status {
                    LogStatus::Applied => supra_sync_ops::record::Outcome::Applied,
                    LogStatus::Failed => supra_sync_ops::record::Outcome::Failed,
                    LogStatus::Skipped => supra_sync_ops::record::Outcome::Skipped,
                    LogStatus::Held => supra_sync_ops::record::Outcome::Held,
                },
                !p.parked.is_empty(),
            );
            if !p.parked.is_empty() {
                summary.parked += 1;
            }
            for parked in &p.parked {
                self.parked_keys
                    .insert((parked.entity.clone(), parked.entity_id.clone()));
                self.awaited
                    .entry(parked.waiting_for_entity.clone())
                    .or_default()
                    .insert(parked.waiting_for_id.clone());
            }
        }
        // Identities this batch recorded that parked changes wait for (a change parked earlier
        // in this very batch included).
        if !self.awaited.is_empty() {
            let mapped = plans.iter().flat_map(|p| &p.mappings).any(|m| {
                self.awaited.get(&m.entity).is_some_and(|keys| {
                    keys.contains(&m.legacy_id) || keys.contains(&m.supra_id.to_string())
                })
            });
            self.parked_may_resolve |= mapped;
        }
        Ok(summary)
    }

    /// Applies the surviving rows of a snapshot chunk at its HIGH watermark, recording the
    /// entity's progress in the same target transaction.
    pub async fn apply_snapshot_chunk(
        &mut self,
        chunk: &Chunk,
        before: &EntityProgress,
        high_lsn: Lsn,
    ) -> Result<(BatchSummary, EntityProgress), EngineError> {
        let changes = chunk
            .surviving_rows()
            .into_iter()
            .map(|row| Change {
                op: ChangeOp::Insert,
                table: chunk.table.clone(),
                old: None,
                new: Some(row),
            })
            .collect();
        let tx = Transaction {
            side: self.opts.source,
            xid: 0,
            commit_lsn: high_lsn,
            // Not one byte further: a watermark's position is the end of its WAL record,
            // which may be where the next transaction's commit record starts, and that
            // transaction must still be streamed after a restart from here.
            end_lsn: high_lsn,
            commit_ts: Utc::now(),
            origin: None,
            changes,
        };
        let progress = chunk.progress(before);
        self.pending_progress = Some((progress.clone(), chunk.last, high_lsn));
        let result = self.apply(std::slice::from_ref(&tx)).await;
        self.pending_progress = None;
        Ok((result?, progress))
    }

    /// Stages a statement to run inside the next target transaction (e.g. replay offsets, so
    /// they commit atomically with the data). Parameters are bound as text. Cleared after the
    /// next successful [`Applier::apply`].
    pub fn stage_statement(&mut self, sql: impl Into<String>, params: Vec<Option<String>>) {
        self.staged.push((sql.into(), params));
    }

    /// True when some changes wait for references to be mapped.
    pub fn has_parked(&self) -> bool {
        !self.parked_keys.is_empty()
    }
}

/// Splits a `sync_mappings.legacy_id` back into key values: a single value, or a JSON array
/// for composite keys.
pub fn parse_key_text(key: &str) -> Vec<Value> {
    if key.starts_with('[')
        && let Ok(serde_json::Value::Array(items)) = serde_json::from_str::<serde_json::Value>(key)
    {
        return items
            .into_iter()
            .map(|i| match i {
                serde_json::Value::Null => Value::Null,
                serde_json::Value::String(s) => Value::Text(s),
                other => Value::Text(other.to_string()),
            })
            .collect();
    }
    vec![Value::Text(key.to_string())]
}
