//! Writing a planned batch: one target transaction holding the data, the replication origin
//! position, the conflict checks, domain events and the bookkeeping; with `isolate`, change by
//! change under savepoints so that only the changes that error fail.

use chrono::Utc;
use supra_sync_core::{Lsn, Side};
use supra_sync_mapping::TargetOp;
use uuid::Uuid;

use super::checks;
use super::{Applier, Planned};
use crate::EngineError;
use crate::book::{self, LogRow, LogStatus, MappingRow, ParkedRow};
use crate::conflict;
use crate::snapshot::record_progress;

impl Applier {
    /// Writes the plans in one transaction. With `isolate`, every change runs under its own
    /// savepoint and a failing one is turned into a `failed` log row.
    pub(super) async fn commit(
        &mut self,
        plans: &mut [Planned],
        end_lsn: Lsn,
        commit_ts: chrono::DateTime<Utc>,
        isolate: bool,
    ) -> Result<(), EngineError> {
        let reverse = self.opts.source == Side::Supra;
        if reverse {
            // Identities first, on SUPRA, so a replay after a crash reuses them.
            let mappings: Vec<&MappingRow> = plans.iter().flat_map(|p| &p.mappings).collect();
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
            let mappings: Vec<&MappingRow> = plans.iter().flat_map(|p| &p.mappings).collect();
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
}
