//! Releasing the changes held behind a resolved conflict, in their order (`seq`).
//!
//! A held change that committed before the resolution's write to its own side
//! (`sync_mappings.last_write_to_<side>_at`) is superseded — the resolution read the current
//! rows, which already contain it — and is logged `skipped` without being applied (deletes
//! included). Later ones are replayed through an [`crate::Applier`] in the direction they were
//! captured, with the same conflict checks as the running pipelines. Each released change
//! leaves `held_changes` (the conflict's count follows) and gets its `sync_log` row.
//!
//! Replaying here rather than re-queuing is deliberate: a running pipeline reads parked
//! changes only when it starts, while the resolution must take effect now; and the pipelines
//! stop holding changes for the entity as soon as the conflict is resolved (they re-read open
//! conflicts every batch), so nothing new queues behind it.

use chrono::{DateTime, Utc};
use serde::Serialize;
use supra_sync_core::{Lsn, Side};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use super::conflicts;
use super::replay::Replayer;
use super::{Operator, ResolveError};
use crate::book::{self, LogRow, LogStatus};
use crate::raw;

/// What releasing did.
#[derive(Debug, Clone, Default, Serialize)]
pub struct ReleaseSummary {
    /// Held changes already contained in the resolution (logged `skipped`).
    pub superseded: usize,
    /// Replayed and applied.
    pub applied: usize,
    /// Replayed and failed (in `sync_log` for `retry`).
    pub failed: usize,
    /// Replayed and skipped by the engine.
    pub skipped: usize,
    /// Replayed and held again behind a newer conflict on the same row.
    pub held_again: usize,
}

struct Held {
    seq: i32,
    side: Side,
    raw: serde_json::Value,
    lsn: Lsn,
    ts: DateTime<Utc>,
}

/// Releases what is held behind a resolved (or superseded) conflict.
pub async fn release(op: &mut Operator, id: &str) -> Result<ReleaseSummary, ResolveError> {
    let record = conflicts::get(&op.supra, id, false).await?;
    if record.status == "open" {
        return Err(ResolveError::Refused(format!(
            "conflict {} is still open; its held changes are released when it is resolved\nhint: supra-sync conflicts resolve {} --legacy-wins | --supra-wins | --merge …",
            record.id, record.id
        )));
    }
    // One releaser per conflict: two would replay the same changes twice.
    let key = format!("supra_sync.release.{}", record.id);
    let locked: bool = op
        .supra
        .query_one("SELECT pg_try_advisory_lock(hashtext($1))", &[&key])
        .await
        .map_err(|e| ResolveError::sql("locking the conflict for release", e))?
        .get(0);
    if !locked {
        return Err(ResolveError::Refused(format!(
            "the held changes of conflict {} are being released by another session",
            record.id
        )));
    }
    let result = release_locked(op, &record).await;
    op.supra
        .execute("SELECT pg_advisory_unlock(hashtext($1))", &[&key])
        .await
        .map_err(|e| ResolveError::sql("unlocking the conflict", e))?;
    result
}

async fn release_locked(
    op: &mut Operator,
    record: &conflicts::ConflictRecord,
) -> Result<ReleaseSummary, ResolveError> {
    let versions = op
        .supra
        .query_opt(
            "SELECT last_write_to_legacy_at, last_write_to_supra_at, supra_id FROM supra_sync.sync_mappings
              WHERE entity_type = $1 AND legacy_id = $2",
            &[&record.entity, &record.entity_id],
        )
        .await
        .map_err(|e| ResolveError::sql("reading the resolved versions", e))?;
    let (legacy_at, supra_at, supra_id): (
        Option<DateTime<Utc>>,
        Option<DateTime<Utc>>,
        Option<Uuid>,
    ) = versions.map_or((None, None, None), |r| (r.get(0), r.get(1), r.get(2)));
    let mut summary = ReleaseSummary::default();
    let mut replayer = Replayer::new(op);
    for held in held_changes(op, record.id).await? {
        let change = raw::decode(&held.raw).map_err(|e| {
            ResolveError::Refused(format!(
                "held change {} of conflict {}: {e}",
                held.seq, record.id
            ))
        })?;
        let written_at = match held.side {
            Side::Legacy => legacy_at,
            Side::Supra => supra_at,
        };
        if written_at.is_some_and(|w| held.ts <= w) {
            let log = LogRow {
                entity: record.entity.clone(),
                entity_id: record.entity_id.clone(),
                supra_id,
                source: held.side,
                operation: change.op.as_str(),
                diff: raw::diff(&change),
                raw: held.raw.to_string(),
                status: LogStatus::Skipped,
                error: Some(format!(
                    "superseded by the resolution of conflict {} ({})",
                    record.id,
                    record.resolution.as_deref().unwrap_or("resolved")
                )),
                source_lsn: held.lsn,
                source_xid: 0,
                commit_ts: held.ts,
            };
            let tx = op
                .supra
                .transaction()
                .await
                .map_err(|e| ResolveError::sql("starting a SUPRA transaction", e))?;
            book::write_log(&tx, &[log]).await?;
            forget(&tx, record.id, held.seq).await?;
            tx.commit()
                .await
                .map_err(|e| ResolveError::sql("committing a superseded held change", e))?;
            summary.superseded += 1;
            continue;
        }
        let s = replayer
            .apply(held.side, change, held.lsn, held.ts, 0)
            .await?;
        forget(&op.supra, record.id, held.seq).await?;
        summary.applied += s.applied;
        summary.failed += s.failed;
        summary.skipped += s.skipped;
        summary.held_again += 1usize.saturating_sub(s.applied + s.failed + s.skipped);
    }
    Ok(summary)
}

async fn held_changes(op: &Operator, conflict: Uuid) -> Result<Vec<Held>, ResolveError> {
    let rows = op
        .supra
        .query(
            "SELECT seq, direction::text, raw_change, COALESCE(source_lsn, '0/0')::text,
                    COALESCE(source_commit_ts, held_at)
               FROM supra_sync.held_changes WHERE conflict_id = $1 ORDER BY seq",
            &[&conflict],
        )
        .await
        .map_err(|e| ResolveError::sql("reading held changes", e))?;
    Ok(rows
        .iter()
        .map(|r| Held {
            seq: r.get(0),
            side: if r.get::<_, String>(1) == Side::Legacy.direction() {
                Side::Legacy
            } else {
                Side::Supra
            },
            raw: r.get(2),
            lsn: r.get::<_, String>(3).parse().unwrap_or(Lsn::ZERO),
            ts: r.get(4),
        })
        .collect())
}

async fn forget<C: GenericClient>(
    client: &C,
    conflict: Uuid,
    seq: i32,
) -> Result<(), ResolveError> {
    client
        .execute(
            "DELETE FROM supra_sync.held_changes WHERE conflict_id = $1 AND seq = $2",
            &[&conflict, &seq],
        )
        .await
        .map_err(|e| ResolveError::sql("removing a released change", e))?;
    Ok(())
}
