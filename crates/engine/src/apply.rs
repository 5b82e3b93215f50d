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

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::Utc;
use supra_sync_core::{Change, ChangeOp, Lsn, Row, Side, Transaction, Value};
use supra_sync_mapping::{
    Direction, EntityMapping, EvalError, IdStrategy, MappingSet, ResolvedContext, Role, TargetOp,
    TruncatePolicy, mint_supra_id,
};
use supra_sync_postgres::names::ObjectNames;
use tokio_postgres::Client;
use uuid::Uuid;

use crate::book::{self, LogRow, LogStatus, MappingRow, ParkedRow};
use crate::conflict::{self, Check};
use crate::reader::RowReader;
use crate::snapshot::{Chunk, EntityProgress, record_progress};
use crate::write::TargetWriter;
use crate::{EngineError, park, raw};

mod checks;
pub(crate) use checks::write_versions;

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
}

/// A fetch of rows: table plus `column = value` filter (values as text).
type FetchKey = (supra_sync_core::TableName, Vec<(String, Option<String>)>);

fn fetch_key(f: &supra_sync_mapping::FetchNeed) -> FetchKey {
    (
        f.table.clone(),
        f.key
            .iter()
            .map(|(c, v)| (c.clone(), v.to_text()))
            .collect(),
    )
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
        Ok(Applier {
            opts,
            mappings,
            target,
            book,
            source,
            writer: TargetWriter::default(),
            tenant_id,
            parked_keys,
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
            }
        }
        Ok(summary)
    }

    /// Writes the plans in one transaction. With `isolate`, every change runs under its own
    /// savepoint and a failing one is turned into a `failed` log row.
    async fn commit(
        &mut self,
        plans: &mut [Planned],
        end_lsn: Lsn,
        commit_ts: chrono::DateTime<Utc>,
        isolate: bool,
    ) -> Result<(), EngineError> {
        let reverse = self.opts.source == Side::Supra;
        if reverse {
            // Identities first, on SUPRA, so a replay after a crash reuses them.
            let mappings: Vec<MappingRow> = plans.iter().flat_map(|p| p.mappings.clone()).collect();
            book::write_mappings(self.bookkeeping(), &mappings, &[]).await?;
        }
        let tables: Vec<supra_sync_core::TableName> = plans
            .iter()
            .filter_map(|p| p.check.as_ref().map(|c| c.table.clone()))
            .collect();
        for table in tables {
            self.target_schema(&table).await?;
        }
        let tx = self
            .target
            .transaction()
            .await
            .map_err(|e| EngineError::sql("starting the target transaction", e))?;
        if !reverse {
            tx.execute(
                "SELECT set_config('app.current_tenant', $1, true)",
                &[&self.tenant_id.to_string()],
            )
            .await
            .map_err(|e| EngineError::sql("setting the tenant context", e))?;
        }
        tx.execute(
            "SELECT pg_replication_origin_xact_setup($1::text::pg_lsn, $2)",
            &[&end_lsn.to_string(), &commit_ts],
        )
        .await
        .map_err(|e| EngineError::sql("recording the replication origin position", e))?;
        checks::run(
            &tx,
            self.book.as_ref(),
            &self.our_origins,
            &self.target_schemas,
            &mut self.open_conflicts,
            plans,
            // `reconcile --fix` re-sends a side's current image on purpose.
            self.policy_override.is_none(),
        )
        .await?;
        let subjects = Self::event_subjects(&self.events, self.opts.source, plans);
        let mut events = self.events.begin(&tx, &self.mappings, subjects).await?;
        if !isolate {
            // All the batch's operations in as few statements as possible; the writer never
            // merges two writes to one row, and a row whose domain events need its image
            // between two writes cuts the run there.
            let mut run: Vec<TargetOp> = Vec::new();
            for (seq, plan) in plans.iter().enumerate() {
                run.extend(plan.ops.iter().cloned());
                if events.needs_step(seq) && !plan.ops.is_empty() {
                    self.writer.execute(&tx, &run).await?;
                    run.clear();
                    events.step(&tx, &self.mappings, seq).await?;
                }
            }
            self.writer.execute(&tx, &run).await?;
        }
        for (seq, plan) in plans.iter_mut().enumerate() {
            if plan.ops.is_empty() || !isolate {
                continue;
            }
            tx.batch_execute("SAVEPOINT change")
                .await
                .map_err(|e| EngineError::sql("savepoint", e))?;
            match self.writer.execute(&tx, &plan.ops).await {
                Ok(()) => {
                    tx.batch_execute("RELEASE SAVEPOINT change")
                        .await
                        .map_err(|e| EngineError::sql("savepoint", e))?;
                    events.step(&tx, &self.mappings, seq).await?;
                }
                Err(e) if !e.is_transient() => {
                    tx.batch_execute("ROLLBACK TO SAVEPOINT change")
                        .await
                        .map_err(|e| EngineError::sql("savepoint", e))?;
                    plan.log.status = LogStatus::Failed;
                    plan.log.error = Some(e.to_string());
                    plan.mappings.clear();
                    plan.rekey = None;
                    // On a bidirectional entity a unique violation means the same natural key
                    // was used on both sides: a conflict for review, not only a failure.
                    if let (Some(check), Some("23505")) = (plan.check.take(), e.sqlstate()) {
                        let id = match self.book.as_ref() {
                            Some(book) => {
                                conflict::record_unique_violation(book, &check, &e.to_string())
                                    .await?
                            }
                            None => {
                                conflict::record_unique_violation(&tx, &check, &e.to_string())
                                    .await?
                            }
                        };
                        plan.log.error = Some(format!("{e} (conflict {id})"));
                    }
                }
                Err(e) => return Err(e),
            }
        }
        let subjects = Self::event_subjects(&self.events, self.opts.source, plans);
        events
            .finish(
                &tx,
                &self.mappings,
                self.tenant_id,
                &self.opts.origin,
                &subjects,
            )
            .await?;
        // The agreed versions of the rows just written (read back under their row locks).
        let versions =
            checks::record_versions(&tx, self.book.as_ref(), &self.target_schemas, plans).await?;
        if !reverse {
            for (entity, old, new) in plans.iter().filter_map(|p| p.rekey.as_ref()) {
                book::rekey_mapping(&tx, entity, old, new).await?;
            }
            let mappings: Vec<MappingRow> = plans.iter().flat_map(|p| p.mappings.clone()).collect();
            book::write_mappings(&tx, &mappings, &versions).await?;
            let logs: Vec<&LogRow> = plans.iter().map(|p| &p.log).collect();
            book::write_log(&tx, &logs).await?;
            let parked: Vec<ParkedRow> = plans.iter().flat_map(|p| p.parked.clone()).collect();
            book::write_parked(&tx, &parked).await?;
        }
        for (sql, params) in &self.staged {
            let refs: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = params
                .iter()
                .map(|p| p as &(dyn tokio_postgres::types::ToSql + Sync))
                .collect();
            tx.execute(sql.as_str(), &refs)
                .await
                .map_err(|e| EngineError::sql(format!("staged statement {sql}"), e))?;
        }
        if let Some((progress, done, lsn)) = &self.pending_progress {
            record_progress(&tx, progress, *done, *lsn).await?;
        }
        if !reverse {
            book::unpark(&tx, &self.pending_unpark).await?;
        }
        // SUPRA → legacy: the batch's SUPRA bookkeeping travels inside the legacy transaction
        // too, so it can be written even if supra-sync dies right after the commit.
        let booking = if reverse {
            let booking = crate::booking::Booking {
                id: Uuid::new_v4(),
                logs: plans.iter().map(|p| p.log.clone()).collect(),
                versions,
                rekeys: plans.iter().filter_map(|p| p.rekey.clone()).collect(),
                parked: plans.iter().flat_map(|p| p.parked.clone()).collect(),
                unpark: self.pending_unpark.clone(),
            };
            tx.execute(
                "SELECT pg_logical_emit_message(true, $1, $2::text)",
                &[&crate::booking::BOOKING_PREFIX, &booking.to_json()],
            )
            .await
            .map_err(|e| {
                EngineError::sql("carrying the bookkeeping in the legacy transaction", e)
            })?;
            Some(booking)
        } else {
            None
        };
        tx.commit()
            .await
            .map_err(|e| EngineError::sql("committing the target transaction", e))?;
        if self.asynchronous_commit {
            let wal = self.wal_insert_position().await?;
            self.unflushed.push_back((wal, end_lsn));
        }
        // Staged statements belong to the transaction that just committed (documented in
        // `stage_statement`); a failed commit keeps them for the isolating retry.
        self.staged.clear();
        if let (Some(booking), Some(book)) = (booking, self.book.as_mut()) {
            let book = book
                .transaction()
                .await
                .map_err(|e| EngineError::sql("starting the bookkeeping transaction", e))?;
            booking.write(&book).await?;
            book.commit()
                .await
                .map_err(|e| EngineError::sql("committing the bookkeeping", e))?;
        }
        Ok(())
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

    /// Re-applies parked changes whose awaited reference is now mapped (all parked changes of
    /// those rows, in their original order), at position `at`. Returns how many were retried.
    pub async fn retry_parked(&mut self, at: Lsn) -> Result<usize, EngineError> {
        let rows = self
            .bookkeeping()
            .query(
                "SELECT p.id, p.raw_change::text, p.entity_type::text, p.entity_id::text,
                        COALESCE(p.source_lsn, '0/0')::text, COALESCE(p.source_commit_ts, now())
                   FROM supra_sync.parked_changes p
                  WHERE p.direction = $1
                    AND (p.entity_type, p.entity_id) IN (
                        SELECT q.entity_type, q.entity_id FROM supra_sync.parked_changes q
                         WHERE q.direction = $1
                           AND (EXISTS (SELECT 1 FROM supra_sync.sync_mappings m
                                         WHERE m.entity_type = q.waiting_for_entity
                                           AND m.legacy_id = q.waiting_for_id)
                                OR EXISTS (SELECT 1 FROM supra_sync.sync_mappings m
                                            WHERE m.entity_type = q.waiting_for_entity
                                              AND m.supra_id = CASE
                                                  WHEN q.waiting_for_id ~ '^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$'
                                                  THEN q.waiting_for_id::uuid END)))
                  ORDER BY p.id
                  LIMIT 5000",
                &[&self.opts.source.direction()],
            )
            .await
            .map_err(|e| EngineError::sql("reading parked changes", e))?;
        if rows.is_empty() {
            return Ok(0);
        }
        let mut retries = Vec::with_capacity(rows.len());
        for r in &rows {
            let id: i64 = r.get(0);
            let change = park::decode(&r.get::<_, String>(1))
                .map_err(|e| EngineError::Definite(format!("parked change {id}: {e}")))?;
            let lsn: Lsn = r.get::<_, String>(4).parse().unwrap_or(Lsn::ZERO);
            retries.push((
                park::Retry {
                    id,
                    entity: r.get(2),
                    entity_id: r.get(3),
                    change,
                },
                lsn,
                r.get::<_, chrono::DateTime<Utc>>(5),
            ));
        }
        let ids: Vec<i64> = retries.iter().map(|(r, _, _)| r.id).collect();
        let positions: HashMap<i64, (Lsn, chrono::DateTime<Utc>)> = retries
            .iter()
            .map(|(r, lsn, ts)| (r.id, (*lsn, *ts)))
            .collect();
        let (keep, erased) = park::coalesce(
            retries.into_iter().map(|(r, _, _)| r).collect(),
            self.opts.source,
            &self.mappings,
        );
        if !erased.is_empty() {
            tracing::debug!(
                changes = erased.len(),
                "parked changes erased by a later parked delete of the same row"
            );
        }
        let mut batch: Vec<Transaction> = Vec::with_capacity(keep.len());
        for r in erased.iter().chain(&keep) {
            self.parked_keys
                .remove(&(r.entity.clone(), r.entity_id.clone()));
            // The row's new key is being created by this very retry.
            if let Some(new_key) =
                park::new_key_of(&r.change, &r.entity, self.opts.source, &self.mappings)
            {
                self.parked_keys.remove(&(r.entity.clone(), new_key));
            }
        }
        for r in keep {
            let (lsn, commit_ts) = positions[&r.id];
            batch.push(Transaction {
                side: self.opts.source,
                xid: 0,
                commit_lsn: lsn,
                end_lsn: at,
                commit_ts,
                origin: None,
                changes: vec![r.change],
            });
        }
        self.pending_unpark = ids;
        let result = self.apply(&batch).await;
        self.pending_unpark.clear();
        result?;
        self.parked_keys =
            park::load_keys(self.bookkeeping(), self.opts.source, &self.mappings).await?;
        Ok(rows.len())
    }

    async fn plan_batch(
        &mut self,
        batch: &[Transaction],
        plans: &mut Vec<Planned>,
    ) -> Result<(), EngineError> {
        let mut known: HashMap<(String, String), Uuid> = self.prefetch_identities(batch).await?;
        self.prefetch_rows(batch).await?;
        self.refresh_open_conflicts().await?;
        self.stages = crate::stage::StageBook::load(self.bookkeeping()).await?;
        for tx in batch {
            for change in &tx.changes {
                let routes = self.mappings.routes_for(tx.side, &change.table);
                for route in routes {
                    let plan = self
                        .plan_change(tx, change, &route.entity, route.role, &mut known)
                        .await?;
                    plans.push(plan);
                }
            }
        }
        Ok(())
    }

    async fn refresh_open_conflicts(&mut self) -> Result<(), EngineError> {
        let rows = self
            .bookkeeping()
            .query(
                "SELECT entity_type::text, entity_id::text, id FROM supra_sync.sync_conflicts WHERE status = 'open'",
                &[],
            )
            .await
            .map_err(|e| EngineError::sql("reading open conflicts", e))?;
        self.open_conflicts = rows
            .iter()
            .map(|r| ((r.get(0), r.get(1)), r.get(2)))
            .collect();
        Ok(())
    }

    async fn target_schema(
        &mut self,
        table: &supra_sync_core::TableName,
    ) -> Result<Arc<supra_sync_core::RowSchema>, EngineError> {
        if let Some(s) = self.target_schemas.get(table) {
            return Ok(s.clone());
        }
        let schema = supra_sync_postgres::catalog::load_table(&self.target, table)
            .await?
            .ok_or_else(|| EngineError::Definite(format!("target table {table} does not exist")))?;
        self.target_schemas.insert(table.clone(), schema.clone());
        Ok(schema)
    }

    /// One query per joined/child table for all the rows the batch's changes need.
    async fn prefetch_rows(&mut self, batch: &[Transaction]) -> Result<(), EngineError> {
        self.prefetched.clear();
        if self.opts.source == Side::Supra {
            return Ok(());
        }
        let mut wanted: HashMap<(supra_sync_core::TableName, Vec<String>), Vec<Vec<Value>>> =
            HashMap::new();
        let mut requested: Vec<FetchKey> = Vec::new();
        for tx in batch {
            for change in &tx.changes {
                let Some(row) = change.new.as_ref() else {
                    continue;
                };
                if row.values.contains(&Value::Unchanged) {
                    continue;
                }
                for route in self.mappings.routes_for(tx.side, &change.table) {
                    if route.role != Role::Primary {
                        continue;
                    }
                    let Some(entity) = self.mappings.entity(&route.entity) else {
                        continue;
                    };
                    let needs = entity.forward_needs(Role::Primary, row);
                    for f in needs.secondary.iter().chain(&needs.children) {
                        let cols: Vec<String> = f.key.iter().map(|(c, _)| c.clone()).collect();
                        wanted
                            .entry((f.table.clone(), cols))
                            .or_default()
                            .push(f.key.iter().map(|(_, v)| v.clone()).collect());
                        requested.push(fetch_key(f));
                    }
                }
            }
        }
        for ((table, cols), keys) in wanted {
            let rows = self.source.fetch_many(&table, &cols, &keys).await?;
            for row in rows {
                let filter = cols
                    .iter()
                    .map(|c| (c.clone(), row.get(c).and_then(Value::to_text)))
                    .collect();
                self.prefetched
                    .entry((table.clone(), filter))
                    .or_default()
                    .push(row);
            }
        }
        for key in requested {
            self.prefetched.entry(key).or_default();
        }
        Ok(())
    }

    /// Rows for a fetch need: from the batch prefetch, else one query.
    async fn rows_for(
        &mut self,
        f: &supra_sync_mapping::FetchNeed,
    ) -> Result<Vec<Row>, EngineError> {
        match self.prefetched.get(&fetch_key(f)) {
            Some(rows) => Ok(rows.clone()),
            None => self.source.fetch(&f.table, &f.key).await,
        }
    }

    /// One lookup for every primary key and reference the batch mentions.
    async fn prefetch_identities(
        &mut self,
        batch: &[Transaction],
    ) -> Result<HashMap<(String, String), Uuid>, EngineError> {
        if self.opts.source == Side::Supra {
            return Ok(HashMap::new());
        }
        let mut wanted: Vec<(String, String)> = Vec::new();
        for tx in batch {
            for change in &tx.changes {
                for route in self.mappings.routes_for(tx.side, &change.table) {
                    if route.role != Role::Primary {
                        continue;
                    }
                    let Some(entity) = self.mappings.entity(&route.entity) else {
                        continue;
                    };
                    for row in [&change.old, &change.new].into_iter().flatten() {
                        wanted.push((entity.name().to_string(), row.key_text()));
                        if change.op != ChangeOp::Delete {
                            for r in entity.forward_needs(Role::Primary, row).refs {
                                wanted.push((r.entity, r.legacy_key));
                            }
                        }
                    }
                }
            }
        }
        wanted.sort();
        wanted.dedup();
        book::supra_ids(self.bookkeeping(), &wanted).await
    }

    async fn plan_change(
        &mut self,
        tx: &Transaction,
        change: &Change,
        entity_name: &str,
        role: Role,
        known: &mut HashMap<(String, String), Uuid>,
    ) -> Result<Planned, EngineError> {
        let mappings = self.mappings.clone();
        let entity = mappings.entity(entity_name).ok_or_else(|| {
            EngineError::Definite(format!("route to unknown entity {entity_name}"))
        })?;
        let key = change.identity().map(Row::key_text).unwrap_or_default();
        let mut planned = Planned {
            ops: Vec::new(),
            log: LogRow {
                entity: entity_name.to_string(),
                entity_id: key.clone(),
                supra_id: None,
                source: tx.side,
                operation: change.op.as_str(),
                diff: raw::diff(change),
                raw: raw::encode(change),
                status: LogStatus::Applied,
                error: None,
                source_lsn: tx.commit_lsn,
                source_xid: tx.xid,
                commit_ts: tx.commit_ts,
            },
            mappings: Vec::new(),
            parked: Vec::new(),
            rekey: None,
            check: None,
            held_by: None,
        };
        let result = match (self.stages.gate(entity, tx.side), tx.side) {
            (Some(reason), _) => Err(Outcome::Skip(reason)),
            (None, Side::Legacy) => {
                self.plan_forward(tx, change, entity, role, known, &mut planned)
                    .await
            }
            (None, Side::Supra) => {
                self.plan_reverse(tx, change, entity, known, &mut planned)
                    .await
            }
        };
        let result = match result {
            Ok(()) => self.check_lengths(&planned.ops).await,
            other => other,
        };
        match result {
            Ok(()) => {}
            Err(Outcome::Park {
                entity: wait_entity,
                key: wait_key,
            }) => {
                planned.ops.clear();
                planned.mappings.clear();
                planned.rekey = None;
                planned.check = None;
                planned.log.status = LogStatus::Skipped;
                planned.log.error =
                    Some(format!("parked until {wait_entity} {wait_key} is synced"));
                // Later changes of this row in the same batch must queue behind it.
                self.parked_keys
                    .insert((entity_name.to_string(), planned.log.entity_id.clone()));
                planned.parked.push(ParkedRow {
                    entity: entity_name.to_string(),
                    entity_id: planned.log.entity_id.clone(),
                    source: tx.side,
                    operation: change.op.as_str(),
                    waiting_for_entity: wait_entity,
                    waiting_for_id: wait_key,
                    raw: planned.log.raw.clone(),
                    source_lsn: tx.commit_lsn,
                    commit_ts: tx.commit_ts,
                });
            }
            Err(Outcome::Skip(reason)) => {
                planned.ops.clear();
                planned.log.status = LogStatus::Skipped;
                planned.log.error = Some(reason);
            }
            Err(Outcome::Fail(reason)) => {
                planned.ops.clear();
                planned.mappings.clear();
                planned.log.status = LogStatus::Failed;
                planned.log.error = Some(reason);
            }
            Err(Outcome::Engine(e)) => return Err(e),
        }
        Ok(planned)
    }

    /// Fails a planned change whose values do not fit their target columns (see
    /// [`crate::write::too_long`]).
    async fn check_lengths(&mut self, ops: &[TargetOp]) -> Result<(), Outcome> {
        for op in ops {
            let Some((columns, values)) = op.written() else {
                continue;
            };
            let table = op.table();
            let types = self
                .writer
                .column_types(&self.target, table)
                .await
                .map_err(Outcome::Engine)?;
            if let Some(problem) = crate::write::too_long(types, columns, values) {
                return Err(Outcome::Fail(format!("{problem} in {table}")));
            }
        }
        Ok(())
    }

    async fn plan_forward(
        &mut self,
        tx: &Transaction,
        change: &Change,
        entity: &EntityMapping,
        role: Role,
        known: &mut HashMap<(String, String), Uuid>,
        planned: &mut Planned,
    ) -> Result<(), Outcome> {
        let name = entity.name().to_string();
        // Secondary and child rows recompute their parent's primary row.
        let row = match role {
            Role::Primary => match change.op {
                ChangeOp::Truncate => return self.plan_truncate(entity, planned).await,
                ChangeOp::Delete => {
                    let key = planned.log.entity_id.clone();
                    if self.parked_keys.contains(&(name.clone(), key.clone())) {
                        return Err(Outcome::Park { entity: name, key });
                    }
                    let Some(id) = known.get(&(name.clone(), key.clone())).copied() else {
                        return Err(Outcome::Skip("no SUPRA row is mapped to this key".into()));
                    };
                    let mut ctx = ResolvedContext::new(self.tenant_id, Utc::now());
                    ctx.supra_id = Some(id);
                    ctx.add_mapping(&name, &key, id);
                    planned.log.supra_id = Some(id);
                    planned.ops = entity.forward_delete(&key, &ctx).map_err(Outcome::eval)?;
                    if entity.direction() == Direction::Bidirectional {
                        planned.check = Some(self.check_for(
                            entity,
                            Side::Legacy,
                            &key,
                            id,
                            Incoming::delete(change, tx.commit_ts),
                        ));
                    }
                    return Ok(());
                }
                _ => {
                    let new = change
                        .new
                        .clone()
                        .ok_or_else(|| Outcome::Fail("change without a new image".into()))?;
                    if change.changes_key() {
                        let old_key = change.old.as_ref().map(Row::key_text).unwrap_or_default();
                        let new_key = new.key_text();
                        let old = (name.clone(), old_key.clone());
                        if self.parked_keys.contains(&old) {
                            if known.contains_key(&old) {
                                // On the target under the old key: re-key behind its parked
                                // changes, and queue the new key's changes behind the re-key.
                                self.parked_keys.insert((name.clone(), new_key));
                                planned.log.entity_id = old_key.clone();
                                return Err(Outcome::Park {
                                    entity: name,
                                    key: old_key,
                                });
                            }
                            // Never reached the target: its parked history ends with a delete
                            // and the row starts afresh under its new key.
                            planned
                                .parked
                                .extend(park::delete_of_old_key(change, &name, &old_key, tx));
                        } else if let Some(id) = known.remove(&old) {
                            known.insert((name.clone(), new_key.clone()), id);
                            planned.rekey = Some((name.clone(), old_key, new_key));
                        }
                    }
                    if new.values.contains(&Value::Unchanged) {
                        self.full_row(&new).await?.ok_or_else(|| {
                            Outcome::Skip("row no longer exists at the source".into())
                        })?
                    } else {
                        new
                    }
                }
            },
            Role::Secondary | Role::Child => {
                let image = change
                    .new
                    .as_ref()
                    .or(change.old.as_ref())
                    .ok_or_else(|| Outcome::Skip("no row image".into()))?;
                let needs = entity.forward_needs(role, image);
                let Some((_, parent_key)) = needs.parent else {
                    return Err(Outcome::Skip(
                        "the parent row cannot be identified from this image".into(),
                    ));
                };
                planned.log.entity_id = parent_key.clone();
                let key_values = parse_key_text(&parent_key);
                let parent = self
                    .source
                    .fetch_by_key(entity.legacy_table(), &key_values)
                    .await
                    .map_err(Outcome::Engine)?;
                match parent {
                    Some(row) => row,
                    None => {
                        return Err(Outcome::Skip(
                            "the parent row does not exist at the source".into(),
                        ));
                    }
                }
            }
        };
        let key = row.key_text();
        planned.log.entity_id = key.clone();
        if self.parked_keys.contains(&(name.clone(), key.clone())) {
            return Err(Outcome::Park { entity: name, key });
        }
        let needs = entity.forward_needs(Role::Primary, &row);
        let mut ctx = ResolvedContext::new(self.tenant_id, tx.commit_ts);
        for r in &needs.refs {
            if let Some(id) = known.get(&(r.entity.clone(), r.legacy_key.clone())) {
                ctx.add_mapping(&r.entity, &r.legacy_key, *id);
            }
        }
        for f in &needs.secondary {
            let rows = self.rows_for(f).await.map_err(Outcome::Engine)?;
            ctx.secondary.insert(f.table.clone(), rows);
        }
        // References read from joined rows (e.g. factura's person via its contrato) are only
        // known once those rows are fetched.
        let joined: Vec<(String, String)> = entity
            .joined_refs(&row, &ctx)
            .into_iter()
            .map(|r| (r.entity, r.legacy_key))
            .filter(|k| !known.contains_key(k))
            .collect();
        if !joined.is_empty() {
            let found = book::supra_ids(self.bookkeeping(), &joined)
                .await
                .map_err(Outcome::Engine)?;
            known.extend(found);
        }
        for r in entity.joined_refs(&row, &ctx) {
            if let Some(id) = known.get(&(r.entity.clone(), r.legacy_key.clone())) {
                ctx.add_mapping(&r.entity, &r.legacy_key, *id);
            }
        }
        for f in &needs.children {
            let rows = self.rows_for(f).await.map_err(Outcome::Engine)?;
            ctx.children
                .entry(f.table.clone())
                .or_default()
                .extend(rows);
        }
        let existing = known.get(&(name.clone(), key.clone())).copied();
        let id = existing.unwrap_or_else(|| mint_supra_id(&name, &key));
        ctx.supra_id = Some(id);
        ctx.add_mapping(&name, &key, id);
        planned.ops = entity.forward(&row, &ctx).map_err(Outcome::eval)?;
        planned.log.supra_id = Some(id);
        known.insert((name.clone(), key.clone()), id);
        if entity.direction() == Direction::Bidirectional {
            let incoming = Incoming::row(&row, conflict::row_hash(&row, &[]), tx.commit_ts);
            planned.check = Some(self.check_for(entity, Side::Legacy, &key, id, incoming));
        }
        planned.mappings.push(MappingRow {
            entity: name,
            legacy_table: entity.legacy_table().to_string(),
            legacy_id: key,
            supra_id: id,
            source: Side::Legacy,
            lsn: tx.commit_lsn,
            commit_ts: tx.commit_ts,
        });
        Ok(())
    }

    /// A legacy TRUNCATE: `refuse` logs it as failed and leaves SUPRA alone; `propagate`
    /// deletes every SUPRA row mapped to the entity.
    async fn plan_truncate(
        &self,
        entity: &EntityMapping,
        planned: &mut Planned,
    ) -> Result<(), Outcome> {
        planned.log.entity_id = "*".into();
        if entity.truncate_policy() == TruncatePolicy::Refuse {
            return Err(Outcome::Fail(format!(
                "TRUNCATE of {} refused by the mapping (on_truncate = refuse); SUPRA was not changed",
                entity.legacy_table()
            )));
        }
        let rows = self
            .bookkeeping()
            .query(
                "SELECT legacy_id::text, supra_id FROM supra_sync.sync_mappings WHERE entity_type = $1",
                &[&entity.name()],
            )
            .await
            .map_err(|e| Outcome::Engine(EngineError::sql("reading the mapped rows to truncate", e)))?;
        for r in rows {
            let (key, id): (String, Uuid) = (r.get(0), r.get(1));
            let mut ctx = ResolvedContext::new(self.tenant_id, Utc::now());
            ctx.supra_id = Some(id);
            ctx.add_mapping(entity.name(), &key, id);
            planned
                .ops
                .extend(entity.forward_delete(&key, &ctx).map_err(Outcome::eval)?);
        }
        Ok(())
    }

    async fn full_row(&mut self, image: &Row) -> Result<Option<Row>, Outcome> {
        let key: Vec<Value> = image.key_values().into_iter().cloned().collect();
        self.source
            .fetch_by_key(&image.schema.table, &key)
            .await
            .map_err(Outcome::Engine)
    }

    /// `known` holds the identities planned earlier in the batch (legacy key → SUPRA id), not
    /// yet in `sync_mappings`: a row created and changed in one batch keeps one legacy id.
    async fn plan_reverse(
        &mut self,
        tx: &Transaction,
        change: &Change,
        entity: &EntityMapping,
        known: &mut HashMap<(String, String), Uuid>,
        planned: &mut Planned,
    ) -> Result<(), Outcome> {
        if entity.direction() != Direction::Bidirectional {
            return Err(Outcome::Skip("entity is not bidirectional".into()));
        }
        let name = entity.name().to_string();
        let image = change
            .identity()
            .ok_or_else(|| Outcome::Skip("no row image".into()))?;
        let supra_id = match image.get(entity.supra_id_column()) {
            Some(Value::Uuid(u)) => *u,
            _ => {
                return Err(Outcome::Fail(format!(
                    "SUPRA row has no {} uuid",
                    entity.supra_id_column()
                )));
            }
        };
        planned.log.supra_id = Some(supra_id);
        let planned_before = known
            .iter()
            .find(|((e, _), id)| *e == name && **id == supra_id)
            .map(|((_, k), _)| k.clone());
        let existing = match planned_before {
            Some(k) => Some(k),
            None => book::legacy_ids(self.bookkeeping(), &[(name.clone(), supra_id)])
                .await
                .map_err(Outcome::Engine)?
                .remove(&(name.clone(), supra_id)),
        };
        if change.op == ChangeOp::Truncate {
            return Err(Outcome::Fail(
                "TRUNCATE on SUPRA is never propagated to legacy".into(),
            ));
        }
        if change.op == ChangeOp::Delete {
            let Some(legacy_key) = existing else {
                return Err(Outcome::Skip(
                    "no legacy row is mapped to this SUPRA row".into(),
                ));
            };
            planned.log.entity_id = legacy_key.clone();
            planned.ops = vec![TargetOp::Delete {
                table: entity.legacy_table().clone(),
                key_columns: entity.legacy_key().to_vec(),
                key_values: parse_key_text(&legacy_key),
            }];
            planned.check = Some(self.check_for(
                entity,
                Side::Supra,
                &legacy_key,
                supra_id,
                Incoming::delete(change, tx.commit_ts),
            ));
            return Ok(());
        }
        let mut row = change
            .new
            .clone()
            .ok_or_else(|| Outcome::Fail("change without a new image".into()))?;
        if row.values.contains(&Value::Unchanged) {
            row = self
                .full_row(&row)
                .await?
                .ok_or_else(|| Outcome::Skip("row no longer exists in SUPRA".into()))?;
        }
        let legacy_key = match existing {
            Some(k) => k,
            None => self.allocate_legacy_id(entity).await?,
        };
        known.insert((name.clone(), legacy_key.clone()), supra_id);
        planned.log.entity_id = legacy_key.clone();
        if self
            .parked_keys
            .contains(&(name.clone(), legacy_key.clone()))
        {
            return Err(Outcome::Park {
                entity: name,
                key: legacy_key,
            });
        }
        let needs = entity.reverse_needs(&row);
        let refs: Vec<(String, Uuid)> = needs
            .reverse_refs
            .iter()
            .map(|r| (r.entity.clone(), r.supra_id))
            .collect();
        let found = book::legacy_ids(self.bookkeeping(), &refs)
            .await
            .map_err(Outcome::Engine)?;
        let mut ctx = ResolvedContext::new(self.tenant_id, tx.commit_ts);
        for ((e, id), k) in &found {
            ctx.add_mapping(e, k, *id);
        }
        ctx.add_mapping(&name, &legacy_key, supra_id);
        ctx.supra_id = Some(supra_id);
        planned.ops = entity.reverse(&row, &ctx).map_err(Outcome::eval)?;
        let hash = conflict::row_hash(&row, &supra_image_columns(entity));
        let incoming = Incoming::row(&row, hash, tx.commit_ts);
        planned.check = Some(self.check_for(entity, Side::Supra, &legacy_key, supra_id, incoming));
        planned.mappings.push(MappingRow {
            entity: name,
            legacy_table: entity.legacy_table().to_string(),
            legacy_id: legacy_key,
            supra_id,
            source: Side::Supra,
            lsn: tx.commit_lsn,
            commit_ts: tx.commit_ts,
        });
        Ok(())
    }

    /// The conflict check of a change from `source` to the row of `entity` known as
    /// `legacy_key` / `supra_id`: the row is locked and compared on the other side.
    fn check_for(
        &self,
        entity: &EntityMapping,
        source: Side,
        legacy_key: &str,
        supra_id: Uuid,
        incoming: Incoming,
    ) -> Check {
        let (table, key_columns, key_values, columns) = match source {
            Side::Legacy => (
                entity.supra_tables()[0].clone(),
                vec![entity.supra_id_column().to_string()],
                vec![Value::Uuid(supra_id)],
                supra_image_columns(entity),
            ),
            Side::Supra => (
                entity.legacy_table().clone(),
                entity.legacy_key().to_vec(),
                parse_key_text(legacy_key),
                Vec::new(),
            ),
        };
        Check {
            entity: entity.name().to_string(),
            legacy_key: legacy_key.to_string(),
            supra_id,
            policy: self
                .policy_override
                .unwrap_or_else(|| self.stages.policy(entity)),
            source,
            table,
            key_columns,
            key_values,
            columns,
            incoming_image: incoming.image,
            incoming_hash: incoming.hash,
            incoming_ts: incoming.ts,
            deleting: incoming.deleting,
        }
    }

    /// A legacy id for a row born in SUPRA, by the entity's strategy (never `max()+1`).
    async fn allocate_legacy_id(&mut self, entity: &EntityMapping) -> Result<String, Outcome> {
        match entity.id_strategy() {
            Some(IdStrategy::Sequence(seq)) => {
                let row = self
                    .target
                    .query_one("SELECT nextval($1::text::regclass)::text", &[seq])
                    .await
                    .map_err(|e| Outcome::Engine(EngineError::sql(format!("nextval({seq})"), e)))?;
                Ok(row.get(0))
            }
            Some(IdStrategy::Range { start, end }) => {
                let next = match self.range_next.get(entity.name()) {
                    Some(n) => *n,
                    None => {
                        let key_col = entity.legacy_key().first().cloned().unwrap_or_default();
                        let sql = format!(
                            "SELECT COALESCE(max({k}) + 1, $1)::bigint FROM {t} WHERE {k} BETWEEN $1 AND $2",
                            k = supra_sync_core::quote_ident(&key_col),
                            t = entity.legacy_table().quoted()
                        );
                        let row =
                            self.target
                                .query_one(&sql, &[start, end])
                                .await
                                .map_err(|e| {
                                    Outcome::Engine(EngineError::sql(
                                        "reading the reserved id range",
                                        e,
                                    ))
                                })?;
                        row.get::<_, i64>(0)
                    }
                };
                if next > *end {
                    return Err(Outcome::Fail(format!(
                        "the reserved legacy id range {start}..={end} of {} is exhausted",
                        entity.name()
                    )));
                }
                self.range_next.insert(entity.name().to_string(), next + 1);
                Ok(next.to_string())
            }
            None => Err(Outcome::Fail(format!(
                "entity {} has no id strategy for rows born in SUPRA",
                entity.name()
            ))),
        }
    }
}

/// What an incoming change brings to its conflict check.
struct Incoming {
    image: serde_json::Value,
    hash: String,
    ts: chrono::DateTime<Utc>,
    deleting: bool,
}

impl Incoming {
    /// An insert or update bringing `row`, whose compared image hashes to `hash`.
    fn row(row: &Row, hash: String, ts: chrono::DateTime<Utc>) -> Incoming {
        Incoming {
            image: row.to_json(),
            hash,
            ts,
            deleting: false,
        }
    }

    /// A delete (its image: the old key or row).
    fn delete(change: &Change, ts: chrono::DateTime<Utc>) -> Incoming {
        Incoming {
            image: change
                .old
                .as_ref()
                .map_or(serde_json::Value::Null, Row::to_json),
            hash: String::new(),
            ts,
            deleting: true,
        }
    }
}

/// Why a change was not turned into operations.
enum Outcome {
    Park { entity: String, key: String },
    Skip(String),
    Fail(String),
    Engine(EngineError),
}

impl Outcome {
    fn eval(e: EvalError) -> Outcome {
        match e {
            EvalError::MissingReference { entity, legacy_key } => Outcome::Park {
                entity,
                key: legacy_key,
            },
            EvalError::MissingLegacyId { entity, supra_id } => Outcome::Park {
                entity,
                key: supra_id.to_string(),
            },
            other => Outcome::Fail(other.to_string()),
        }
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

/// The SUPRA columns compared for conflicts: what the mapping writes, minus id and tenant.
fn supra_image_columns(entity: &EntityMapping) -> Vec<String> {
    entity
        .supra_columns()
        .iter()
        .filter(|c| {
            c.as_str() != entity.supra_id_column() && Some(c.as_str()) != entity.tenant_column()
        })
        .cloned()
        .collect()
}
