//! Retrying parked changes once the references they wait for are mapped.

use std::collections::HashMap;
use std::time::Duration;

use chrono::Utc;
use supra_sync_core::{Lsn, Transaction};

use super::Applier;
use crate::{EngineError, park};

/// Bounds of the interval between searches for parked changes that no batch announced.
const PARKED_SWEEP_MIN: Duration = Duration::from_secs(1);
const PARKED_SWEEP_MAX: Duration = Duration::from_secs(60);

impl Applier {
    /// Re-applies parked changes whose awaited reference is now mapped (all parked changes of
    /// those rows, in their original order), at position `at`. Returns how many were retried.
    ///
    /// Looking for them costs a probe per parked change, and changes can stay parked for good
    /// (their reference failed), so the search runs only after a batch that mapped an awaited
    /// reference, or once the sweep interval (twenty times the last search, 1 s to 60 s)
    /// has passed, for references mapped elsewhere (the other pipeline, `retry`, `--fix`).
    pub async fn retry_parked(&mut self, at: Lsn) -> Result<usize, EngineError> {
        let now = std::time::Instant::now();
        if !self.parked_may_resolve && now < self.next_parked_sweep {
            return Ok(0);
        }
        self.parked_may_resolve = false;
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
        let searched = now.elapsed();
        self.next_parked_sweep =
            std::time::Instant::now() + (searched * 20).clamp(PARKED_SWEEP_MIN, PARKED_SWEEP_MAX);
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
        self.awaited = park::load_awaited(self.bookkeeping(), self.opts.source).await?;
        Ok(rows.len())
    }
}
