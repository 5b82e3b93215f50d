//! `supra-sync retry`: re-run failed changes through the current mappings.
//!
//! ```text
//!  sync_log #N (failed) ── lock (FOR UPDATE NOWAIT) ── retried already? refuse
//!        │ a later change of the same row was applied since?  → new row `skipped` (superseded)
//!        │ else raw_change ─decode─► Applier (direction of capture, current mappings)
//!        ▼                                  └─► new sync_log row (applied / failed / …)
//!  #N status = retried, new row retry_of = N        (committed with the lock released)
//! ```
//!
//! Idempotent: a row is retried once (a retried row is refused; a retry that failed again is
//! a new failed row that can be retried in turn), and re-applying an image that is already
//! there changes nothing. A failed change older than one applied since for the same row is
//! not replayed — it would bring back the older version.

use chrono::{DateTime, Utc};
use serde::Serialize;
use supra_sync_core::{Lsn, Side};

use super::replay::Replayer;
use super::{Operator, ResolveError};

/// What a retry did.
#[derive(Debug, Clone, Serialize)]
pub struct RetryOutcome {
    /// The failed row.
    pub id: i64,
    /// Entity and key.
    pub entity: String,
    /// Legacy key text.
    pub entity_id: String,
    /// The new row (its `retry_of` is `id`).
    pub new_id: Option<i64>,
    /// Its status.
    pub status: String,
    /// Its error, if it failed again.
    pub error: Option<String>,
}

struct Failed {
    entity: String,
    entity_id: String,
    side: Side,
    raw: serde_json::Value,
    lsn: Lsn,
    ts: DateTime<Utc>,
    xid: i64,
}

/// Retries one failed `sync_log` row.
pub async fn retry(
    op: &mut Operator,
    replayer: &mut Replayer,
    id: i64,
) -> Result<RetryOutcome, ResolveError> {
    let tx = op
        .supra
        .transaction()
        .await
        .map_err(|e| ResolveError::sql("starting a SUPRA transaction", e))?;
    let row = tx
        .query_opt(
            "SELECT status::text, entity_type::text, entity_id::text, direction::text, raw_change,
                    COALESCE(source_lsn, '0/0')::text, COALESCE(source_commit_ts, synced_at),
                    COALESCE(source_xid, 0)
               FROM supra_sync.sync_log WHERE id = $1 FOR UPDATE NOWAIT",
            &[&id],
        )
        .await
        .map_err(|e| match e.code().map(|c| c.code()) {
            Some("55P03") => ResolveError::Refused(format!(
                "sync_log #{id} is being retried by another session"
            )),
            _ => ResolveError::sql("reading the failed change", e),
        })?
        .ok_or_else(|| {
            ResolveError::NotFound(format!(
                "sync_log #{id} does not exist\nhint: list failed changes with `supra-sync log --failed`"
            ))
        })?;
    let status: String = row.get(0);
    if status == "retried" {
        let by: Option<i64> = tx
            .query_opt(
                "SELECT id FROM supra_sync.sync_log WHERE retry_of = $1 ORDER BY id DESC LIMIT 1",
                &[&id],
            )
            .await
            .map_err(|e| ResolveError::sql("reading the retry", e))?
            .map(|r| r.get(0));
        return Err(ResolveError::Refused(format!(
            "sync_log #{id} was already retried{}; a change is retried once\nhint: if the retry failed too, retry that row instead",
            by.map(|b| format!(" (see #{b})")).unwrap_or_default()
        )));
    }
    if status != "failed" {
        return Err(ResolveError::Refused(format!(
            "sync_log #{id} is {status}, not failed; only failed changes can be retried"
        )));
    }
    let Some(raw) = row.get::<_, Option<serde_json::Value>>(4) else {
        return Err(ResolveError::Refused(format!(
            "sync_log #{id} kept no raw change to retry"
        )));
    };
    let failed = Failed {
        entity: row.get(1),
        entity_id: row.get(2),
        side: if row.get::<_, String>(3) == Side::Legacy.direction() {
            Side::Legacy
        } else {
            Side::Supra
        },
        raw,
        lsn: row.get::<_, String>(5).parse().unwrap_or(Lsn::ZERO),
        ts: row.get(6),
        xid: row.get(7),
    };
    let direction = failed.side.direction();
    let newer: Option<i64> = tx
        .query_opt(
            "SELECT id FROM supra_sync.sync_log
              WHERE entity_type = $1 AND entity_id = $2 AND direction = $3 AND status = 'applied'
                AND source_lsn > $4::text::pg_lsn AND entity_id <> '*'
              ORDER BY id DESC LIMIT 1",
            &[
                &failed.entity,
                &failed.entity_id,
                &direction,
                &failed.lsn.to_string(),
            ],
        )
        .await
        .map_err(|e| ResolveError::sql("looking for a later change of the row", e))?
        .map(|r| r.get(0));
    let high: i64 = tx
        .query_one("SELECT COALESCE(max(id), 0) FROM supra_sync.sync_log", &[])
        .await
        .map_err(|e| ResolveError::sql("reading the log position", e))?
        .get(0);
    let new_row = match newer {
        Some(later) => {
            let r = tx
                .query_one(
                    "INSERT INTO supra_sync.sync_log
                            (entity_type, entity_id, supra_id, direction, operation, diff, raw_change, status,
                             error_message, source_lsn, source_xid, source_commit_ts, retry_of)
                     SELECT entity_type, entity_id, supra_id, direction, operation, diff, raw_change, 'skipped',
                            'superseded: sync_log #' || $2::bigint || ' applied a later change of this row',
                            source_lsn, source_xid, source_commit_ts, id
                       FROM supra_sync.sync_log WHERE id = $1
                     RETURNING id, status::text, error_message",
                    &[&id, &later],
                )
                .await
                .map_err(|e| ResolveError::sql("recording the superseded retry", e))?;
            Some(r)
        }
        None => {
            let change = crate::raw::decode(&failed.raw)
                .map_err(|e| ResolveError::Refused(format!("sync_log #{id}: {e}")))?;
            replayer
                .apply(
                    failed.side,
                    change,
                    failed.lsn,
                    failed.ts,
                    failed.xid as u32,
                )
                .await?;
            tx.query_opt(
                "SELECT id, status::text, error_message FROM supra_sync.sync_log
                  WHERE id > $1 AND entity_type = $2 AND entity_id = $3 AND direction = $4
                    AND source_lsn = $5::text::pg_lsn AND retry_of IS NULL
                  ORDER BY id DESC LIMIT 1",
                &[
                    &high,
                    &failed.entity,
                    &failed.entity_id,
                    &direction,
                    &failed.lsn.to_string(),
                ],
            )
            .await
            .map_err(|e| ResolveError::sql("finding the retry's log row", e))?
        }
    };
    let Some(new_row) = new_row else {
        return Err(ResolveError::Refused(format!(
            "sync_log #{id}: the current mappings no longer route this change to {} — nothing was applied",
            failed.entity
        )));
    };
    let new_id: i64 = new_row.get(0);
    tx.execute(
        "UPDATE supra_sync.sync_log SET retry_of = $2 WHERE id = $1",
        &[&new_id, &id],
    )
    .await
    .map_err(|e| ResolveError::sql("linking the retry", e))?;
    tx.execute(
        "UPDATE supra_sync.sync_log SET status = 'retried' WHERE id = $1",
        &[&id],
    )
    .await
    .map_err(|e| ResolveError::sql("marking the failed change retried", e))?;
    tx.commit()
        .await
        .map_err(|e| ResolveError::sql("committing the retry bookkeeping", e))?;
    Ok(RetryOutcome {
        id,
        entity: failed.entity,
        entity_id: failed.entity_id,
        new_id: Some(new_id),
        status: new_row.get(1),
        error: new_row.get(2),
    })
}

/// Ids of the failed rows, oldest first (optionally of one entity).
pub async fn failed_ids(op: &Operator, entity: Option<&str>) -> Result<Vec<i64>, ResolveError> {
    let rows = op
        .supra
        .query(
            "SELECT id FROM supra_sync.sync_log
              WHERE status = 'failed' AND ($1::text IS NULL OR entity_type = $1) ORDER BY id",
            &[&entity],
        )
        .await
        .map_err(|e| ResolveError::sql("listing failed changes", e))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
