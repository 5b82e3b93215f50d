//! A replay batch becomes source transactions for the applier (pure, no I/O).
//!
//! ```text
//!  ReplayBatch.records (offset order per partition, partitions interleaved)
//!    ├─ tombstone                     ──► counted, nothing to apply
//!    ├─ key change (delete + create)  ──► delete of the old key, insert of the new one
//!    ├─ SUPRA-side change             ──► counted, not replayed (replay feeds SUPRA)
//!    ├─ undecodable                   ──► FailedRecord (goes to sync_log as failed)
//!    └─ change ─ stable sort by (commit LSN, xid, total_order) ─ group by (xid, commit LSN)
//!                                                              ─► Vec<Transaction>
//! ```
//!
//! A primary-key change is replayed as Debezium's consumers see it: the old key deleted, the
//! new one inserted (its SUPRA id is minted from the new key, exactly as a snapshot of the
//! current legacy would mint it). The two halves may sit in different partitions; applied
//! this way the result does not depend on which one is read first.
//!
//! Sorting by commit LSN restores the source commit order across the partitions (tables) of
//! one batch, so a contrato usually follows the persona it references; whatever still arrives
//! before its reference is parked by the applier and retried, never failed. Within one
//! partition the sort never moves a change behind an older one of the same key: records of a
//! key are published in commit order, and a suffix re-sent after a failed attempt repeats
//! records whose LSNs sort them next to their first copy, so the newest image is still applied
//! last.

use chrono::Utc;
use supra_sync_core::{ChangeOp, Lsn, Side, Transaction};

use crate::envelope::{ChangeEvent, Decoded};
use crate::replay::{ReplayBatch, ReplayRecord};

/// A record that could not be decoded, kept for the failure log.
#[derive(Debug, Clone, PartialEq)]
pub struct FailedRecord {
    /// Topic it was read from.
    pub topic: String,
    /// Partition.
    pub partition: i32,
    /// Offset.
    pub offset: i64,
    /// Why it could not be decoded.
    pub error: String,
    /// Raw key.
    pub key: Option<Vec<u8>>,
    /// Raw value.
    pub value: Option<Vec<u8>>,
}

/// What one batch holds, ready for the applier.
#[derive(Debug, Default)]
pub struct Prepared {
    /// Source transactions in commit order (may be empty).
    pub transactions: Vec<Transaction>,
    /// Records that did not decode.
    pub failed: Vec<FailedRecord>,
    /// Tombstones (nothing to apply: compaction markers).
    pub tombstones: usize,
    /// Changes captured on the SUPRA side (not replayed into SUPRA).
    pub foreign: usize,
    /// Highest commit LSN in the batch.
    pub max_lsn: Option<Lsn>,
}

impl Prepared {
    /// Changes to apply.
    pub fn changes(&self) -> usize {
        self.transactions.iter().map(|t| t.changes.len()).sum()
    }
}

/// Splits and orders a batch; see the module docs.
pub fn prepare(batch: ReplayBatch) -> Prepared {
    let mut out = Prepared::default();
    let mut events: Vec<ChangeEvent> = Vec::with_capacity(batch.records.len());
    for record in batch.records {
        let ReplayRecord {
            topic,
            partition,
            offset,
            decoded,
            ..
        } = record;
        match decoded {
            Ok(Decoded::Change(event) | Decoded::KeyChangeDelete(event))
                if event.side == Side::Legacy =>
            {
                events.push(as_replayed(*event))
            }
            Ok(Decoded::Change(_) | Decoded::KeyChangeDelete(_)) => out.foreign += 1,
            Ok(Decoded::Tombstone) => out.tombstones += 1,
            Err(undecodable) => out.failed.push(FailedRecord {
                topic,
                partition,
                offset,
                error: undecodable.error.message,
                key: undecodable.key,
                value: undecodable.value,
            }),
        }
    }
    // Stable: records without a transaction block keep their arrival order.
    events.sort_by_key(|e| (e.commit_lsn, e.xid, e.total_order.unwrap_or(u64::MAX)));
    out.max_lsn = events.last().map(|e| e.commit_lsn);
    for event in events {
        let same = out
            .transactions
            .last()
            .is_some_and(|t| t.xid == event.xid && t.commit_lsn == event.commit_lsn);
        if same {
            if let Some(last) = out.transactions.last_mut() {
                last.changes.push(event.change);
            }
            continue;
        }
        out.transactions.push(Transaction {
            side: Side::Legacy,
            xid: event.xid,
            commit_lsn: event.commit_lsn,
            end_lsn: event.commit_lsn,
            commit_ts: event.commit_ts,
            origin: event.origin,
            changes: vec![event.change],
        });
    }
    out
}

/// The create half of a key change (an update from the old key) becomes a plain insert of the
/// new row: its delete half removed the old key.
fn as_replayed(mut event: ChangeEvent) -> ChangeEvent {
    if event.change.op == ChangeOp::Update && event.change.changes_key() {
        event.change.op = ChangeOp::Insert;
        event.change.old = None;
    }
    event
}

/// A transaction without changes: lets a batch of tombstones (or of failed records) still
/// commit its offsets.
pub fn empty_transaction(at: Lsn) -> Transaction {
    Transaction {
        side: Side::Legacy,
        xid: 0,
        commit_lsn: at,
        end_lsn: at,
        commit_ts: Utc::now(),
        origin: None,
        changes: Vec::new(),
    }
}

#[cfg(test)]
mod tests;
