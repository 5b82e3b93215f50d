//! supra-sync's bookkeeping in the SUPRA database: identity mappings, the operation log and
//! parked changes, written in bulk inside the same transaction as the data they describe.

use std::collections::HashMap;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use supra_sync_core::{Lsn, Side};
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::EngineError;
use crate::booking::Version;

/// Outcome recorded in `sync_log.status`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LogStatus {
    /// Applied to the target.
    Applied,
    /// Could not be transformed or applied; see the error.
    Failed,
    /// Deliberately not applied (e.g. nothing to delete, truncate refused by policy).
    Skipped,
    /// Held behind an open conflict.
    Held,
}

impl LogStatus {
    /// Reads a `sync_log.status` value (not `retried`, which supra-sync never writes).
    pub fn parse(text: &str) -> Option<LogStatus> {
        [
            LogStatus::Applied,
            LogStatus::Failed,
            LogStatus::Skipped,
            LogStatus::Held,
        ]
        .into_iter()
        .find(|s| s.as_str() == text)
    }

    /// The `sync_log.status` spelling.
    pub fn as_str(self) -> &'static str {
        match self {
            LogStatus::Applied => "applied",
            LogStatus::Failed => "failed",
            LogStatus::Skipped => "skipped",
            LogStatus::Held => "held",
        }
    }
}

/// One `sync_log` row.
#[derive(Debug, Clone)]
pub struct LogRow {
    /// Entity name.
    pub entity: String,
    /// Legacy key text.
    pub entity_id: String,
    /// SUPRA id, when known.
    pub supra_id: Option<Uuid>,
    /// Which side the change came from.
    pub source: Side,
    /// insert / update / delete / truncate.
    pub operation: &'static str,
    /// Changed columns.
    pub diff: Option<Json>,
    /// The raw change as JSON text (see [`crate::raw`]).
    pub raw: String,
    /// Outcome.
    pub status: LogStatus,
    /// Error text for failures.
    pub error: Option<String>,
    /// Commit LSN of the source transaction.
    pub source_lsn: Lsn,
    /// Source transaction id.
    pub source_xid: u32,
    /// Source commit time.
    pub commit_ts: DateTime<Utc>,
}

/// One identity to record (or refresh) in `sync_mappings`.
#[derive(Debug, Clone)]
pub struct MappingRow {
    /// Entity name.
    pub entity: String,
    /// Qualified legacy table.
    pub legacy_table: String,
    /// Legacy key text.
    pub legacy_id: String,
    /// SUPRA id.
    pub supra_id: Uuid,
    /// Which side the change that synced it came from.
    pub source: Side,
    /// Its commit LSN.
    pub lsn: Lsn,
    /// Its commit time.
    pub commit_ts: DateTime<Utc>,
}

/// A change parked because a row it references is not mapped yet.
#[derive(Debug, Clone)]
pub struct ParkedRow {
    /// Entity of the parked change.
    pub entity: String,
    /// Its legacy key.
    pub entity_id: String,
    /// Which side it came from.
    pub source: Side,
    /// Operation.
    pub operation: &'static str,
    /// Entity it waits for.
    pub waiting_for_entity: String,
    /// Key it waits for.
    pub waiting_for_id: String,
    /// The raw change as JSON text (see [`crate::raw`]).
    pub raw: String,
    /// Commit LSN.
    pub source_lsn: Lsn,
    /// Commit time.
    pub commit_ts: DateTime<Utc>,
}

/// Looks up SUPRA ids for `(entity, legacy_id)` pairs.
pub async fn supra_ids<C: GenericClient>(
    client: &C,
    keys: &[(String, String)],
) -> Result<HashMap<(String, String), Uuid>, EngineError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (entities, ids): (Vec<&str>, Vec<&str>) =
        keys.iter().map(|(e, k)| (e.as_str(), k.as_str())).unzip();
    let rows = client
        .query(
            "SELECT m.entity_type::text, m.legacy_id::text, m.supra_id
               FROM supra_sync.sync_mappings m
               JOIN unnest($1::text[], $2::text[]) AS k(e, id) ON m.entity_type = k.e AND m.legacy_id = k.id",
            &[&entities, &ids],
        )
        .await
        .map_err(|e| EngineError::sql("looking up sync_mappings", e))?;
    Ok(rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect())
}

/// Looks up legacy ids for `(entity, supra_id)` pairs.
pub async fn legacy_ids<C: GenericClient>(
    client: &C,
    keys: &[(String, Uuid)],
) -> Result<HashMap<(String, Uuid), String>, EngineError> {
    if keys.is_empty() {
        return Ok(HashMap::new());
    }
    let (entities, ids): (Vec<&str>, Vec<Uuid>) =
        keys.iter().map(|(e, k)| (e.as_str(), *k)).unzip();
    let rows = client
        .query(
            "SELECT m.entity_type::text, m.supra_id, m.legacy_id::text
               FROM supra_sync.sync_mappings m
               JOIN unnest($1::text[], $2::uuid[]) AS k(e, id) ON m.entity_type = k.e AND m.supra_id = k.id",
            &[&entities, &ids],
        )
        .await
        .map_err(|e| EngineError::sql("looking up sync_mappings", e))?;
    Ok(rows
        .iter()
        .map(|r| ((r.get(0), r.get(1)), r.get(2)))
        .collect())
}

/// Records identities (insert or refresh the per-side version info), together with the agreed
/// versions of the rows just written, in one statement: each identity row is written once per
/// batch. Versions of rows without an identity in `rows` are written by
/// [`crate::apply::write_versions`].
pub async fn write_mappings<C: GenericClient, R: std::borrow::Borrow<MappingRow>>(
    client: &C,
    rows: &[R],
    versions: &[Version],
) -> Result<(), EngineError> {
    // The last version of a row wins, as the last identity row does.
    let mut version_of: HashMap<(&str, &str), &Version> = HashMap::new();
    for v in versions {
        version_of.insert((v.entity.as_str(), v.key.as_str()), v);
    }
    let rows: Vec<&MappingRow> = rows.iter().map(|r| r.borrow()).collect();
    let rows = last_per_identity(&rows);
    let unmatched: Vec<Version> = {
        let written: std::collections::HashSet<(&str, &str)> = rows
            .iter()
            .map(|r| (r.entity.as_str(), r.legacy_id.as_str()))
            .collect();
        versions
            .iter()
            .filter(|v| !written.contains(&(v.entity.as_str(), v.key.as_str())))
            .cloned()
            .collect()
    };
    if !rows.is_empty() {
        let of_row: Vec<Option<&Version>> = rows
            .iter()
            .map(|r| {
                version_of
                    .get(&(r.entity.as_str(), r.legacy_id.as_str()))
                    .copied()
            })
            .collect();
        let entity: Vec<&str> = rows.iter().map(|r| r.entity.as_str()).collect();
        let table: Vec<&str> = rows.iter().map(|r| r.legacy_table.as_str()).collect();
        let legacy_id: Vec<&str> = rows.iter().map(|r| r.legacy_id.as_str()).collect();
        let supra_id: Vec<Uuid> = rows.iter().map(|r| r.supra_id).collect();
        let side: Vec<String> = rows.iter().map(|r| r.source.to_string()).collect();
        let lsn: Vec<String> = rows.iter().map(|r| r.lsn.to_string()).collect();
        let ts: Vec<DateTime<Utc>> = rows.iter().map(|r| r.commit_ts).collect();
        let supra_hash: Vec<Option<&str>> = of_row
            .iter()
            .map(|v| v.map(|v| v.supra_hash.as_str()))
            .collect();
        let legacy_hash: Vec<Option<&str>> = of_row
            .iter()
            .map(|v| v.map(|v| v.legacy_hash.as_str()))
            .collect();
        let written_to: Vec<Option<&str>> = of_row
            .iter()
            .map(|v| v.map(|v| v.written_to.as_str()))
            .collect();
        let written_at: Vec<Option<DateTime<Utc>>> = of_row
            .iter()
            .map(|v| v.and_then(|v| v.written_at))
            .collect();
        client
            .execute(
                "INSERT INTO supra_sync.sync_mappings AS m
                        (entity_type, legacy_table, legacy_id, supra_id, legacy_lsn, legacy_commit_ts,
                         supra_lsn, supra_commit_ts, synced_at, last_synced_hash, last_legacy_hash,
                         last_write_to_supra_at, last_write_to_legacy_at)
                 SELECT u.e, u.t, u.l, u.s,
                        CASE WHEN u.side = 'legacy' THEN u.lsn::pg_lsn END,
                        CASE WHEN u.side = 'legacy' THEN u.ts END,
                        CASE WHEN u.side = 'supra' THEN u.lsn::pg_lsn END,
                        CASE WHEN u.side = 'supra' THEN u.ts END,
                        now(), u.sh, u.lh,
                        CASE WHEN u.wt = 'supra' THEN u.wa END,
                        CASE WHEN u.wt = 'legacy' THEN u.wa END
                   FROM unnest($1::text[], $2::text[], $3::text[], $4::uuid[], $5::text[], $6::text[],
                               $7::timestamptz[], $8::text[], $9::text[], $10::text[], $11::timestamptz[])
                        AS u(e, t, l, s, side, lsn, ts, sh, lh, wt, wa)
                 ON CONFLICT (entity_type, legacy_id) DO UPDATE SET
                        legacy_lsn = COALESCE(EXCLUDED.legacy_lsn, m.legacy_lsn),
                        legacy_commit_ts = COALESCE(EXCLUDED.legacy_commit_ts, m.legacy_commit_ts),
                        supra_lsn = COALESCE(EXCLUDED.supra_lsn, m.supra_lsn),
                        supra_commit_ts = COALESCE(EXCLUDED.supra_commit_ts, m.supra_commit_ts),
                        synced_at = now(),
                        last_synced_hash = COALESCE(EXCLUDED.last_synced_hash, m.last_synced_hash),
                        last_legacy_hash = COALESCE(EXCLUDED.last_legacy_hash, m.last_legacy_hash),
                        last_write_to_supra_at = COALESCE(EXCLUDED.last_write_to_supra_at, m.last_write_to_supra_at),
                        last_write_to_legacy_at = COALESCE(EXCLUDED.last_write_to_legacy_at, m.last_write_to_legacy_at)",
                &[
                    &entity, &table, &legacy_id, &supra_id, &side, &lsn, &ts, &supra_hash,
                    &legacy_hash, &written_to, &written_at,
                ],
            )
            .await
            .map_err(|e| EngineError::sql("recording sync_mappings", e))?;
    }
    crate::apply::write_versions(client, &unmatched).await
}

/// One row per identity (the last one wins): a batch may touch a row several times. Also one
/// row per SUPRA id: a row inserted and then re-keyed in the same batch leaves only its new
/// key (the rekey of the old key found nothing committed to move).
fn last_per_identity<'a>(rows: &[&'a MappingRow]) -> Vec<&'a MappingRow> {
    let mut last: HashMap<(&str, &str), &MappingRow> = HashMap::new();
    let mut last_supra: HashMap<(&str, Uuid), &MappingRow> = HashMap::new();
    for &r in rows {
        last.insert((r.entity.as_str(), r.legacy_id.as_str()), r);
        last_supra.insert((r.entity.as_str(), r.supra_id), r);
    }
    rows.iter()
        .copied()
        .filter(|r| std::ptr::eq(last[&(r.entity.as_str(), r.legacy_id.as_str())], *r))
        .filter(|r| std::ptr::eq(last_supra[&(r.entity.as_str(), r.supra_id)], *r))
        .collect()
}

/// Moves an identity to a new legacy key (the legacy primary key was updated).
pub async fn rekey_mapping<C: GenericClient>(
    client: &C,
    entity: &str,
    old_id: &str,
    new_id: &str,
) -> Result<(), EngineError> {
    client
        .execute(
            "UPDATE supra_sync.sync_mappings SET legacy_id = $3, synced_at = now()
              WHERE entity_type = $1 AND legacy_id = $2
                AND NOT EXISTS (SELECT 1 FROM supra_sync.sync_mappings WHERE entity_type = $1 AND legacy_id = $3)",
            &[&entity, &old_id, &new_id],
        )
        .await
        .map_err(|e| EngineError::sql("re-keying sync_mappings", e))?;
    Ok(())
}

/// Appends `sync_log` rows.
pub async fn write_log<C: GenericClient, R: std::borrow::Borrow<LogRow>>(
    client: &C,
    rows: &[R],
) -> Result<(), EngineError> {
    let rows: Vec<&LogRow> = rows.iter().map(|r| r.borrow()).collect();
    if rows.is_empty() {
        return Ok(());
    }
    let entity: Vec<&str> = rows.iter().map(|r| r.entity.as_str()).collect();
    let id: Vec<&str> = rows.iter().map(|r| r.entity_id.as_str()).collect();
    let supra: Vec<Option<Uuid>> = rows.iter().map(|r| r.supra_id).collect();
    let direction: Vec<&str> = rows.iter().map(|r| r.source.direction()).collect();
    let op: Vec<&str> = rows.iter().map(|r| r.operation).collect();
    let diff: Vec<Option<String>> = rows
        .iter()
        .map(|r| r.diff.as_ref().map(Json::to_string))
        .collect();
    let raw: Vec<&str> = rows.iter().map(|r| r.raw.as_str()).collect();
    let status: Vec<&str> = rows.iter().map(|r| r.status.as_str()).collect();
    let error: Vec<Option<&str>> = rows.iter().map(|r| r.error.as_deref()).collect();
    let lsn: Vec<String> = rows.iter().map(|r| r.source_lsn.to_string()).collect();
    let xid: Vec<i64> = rows.iter().map(|r| i64::from(r.source_xid)).collect();
    let ts: Vec<DateTime<Utc>> = rows.iter().map(|r| r.commit_ts).collect();
    client
        .execute(
            "INSERT INTO supra_sync.sync_log
                    (entity_type, entity_id, supra_id, direction, operation, diff, raw_change, status,
                     error_message, source_lsn, source_xid, source_commit_ts)
             SELECT u.e, u.id, u.s, u.d, u.op, u.diff::jsonb, u.raw::json, u.st, u.err, u.lsn::pg_lsn, u.xid, u.ts
               FROM unnest($1::text[], $2::text[], $3::uuid[], $4::text[], $5::text[], $6::text[], $7::text[],
                           $8::text[], $9::text[], $10::text[], $11::bigint[], $12::timestamptz[])
                    AS u(e, id, s, d, op, diff, raw, st, err, lsn, xid, ts)",
            &[&entity, &id, &supra, &direction, &op, &diff, &raw, &status, &error, &lsn, &xid, &ts],
        )
        .await
        .map_err(|e| EngineError::sql("writing sync_log", e))?;
    Ok(())
}

/// Parks changes until what they reference is mapped.
pub async fn write_parked<C: GenericClient>(
    client: &C,
    rows: &[ParkedRow],
) -> Result<(), EngineError> {
    for r in rows {
        client
            .execute(
                "INSERT INTO supra_sync.parked_changes
                        (entity_type, entity_id, direction, operation, waiting_for_entity, waiting_for_id,
                         raw_change, source_lsn, source_commit_ts)
                 VALUES ($1, $2, $3, $4, $5, $6, $7::text::jsonb, $8::text::pg_lsn, $9)",
                &[
                    &r.entity,
                    &r.entity_id,
                    &r.source.direction(),
                    &r.operation,
                    &r.waiting_for_entity,
                    &r.waiting_for_id,
                    &r.raw,
                    &r.source_lsn.to_string(),
                    &r.commit_ts,
                ],
            )
            .await
            .map_err(|e| EngineError::sql("parking a change", e))?;
    }
    Ok(())
}

/// Removes parked changes that were retried.
pub async fn unpark<C: GenericClient>(client: &C, ids: &[i64]) -> Result<(), EngineError> {
    if ids.is_empty() {
        return Ok(());
    }
    client
        .execute(
            "DELETE FROM supra_sync.parked_changes WHERE id = ANY($1)",
            &[&ids],
        )
        .await
        .map_err(|e| EngineError::sql("removing retried parked changes", e))?;
    Ok(())
}

/// The tenant's id for a tenant code (slug).
pub async fn tenant_id<C: GenericClient>(client: &C, code: &str) -> Result<Uuid, EngineError> {
    let row = client
        .query_opt("SELECT id FROM public.tenants WHERE slug = $1", &[&code])
        .await
        .map_err(|e| EngineError::sql("looking up the tenant", e))?;
    row.map(|r| r.get(0)).ok_or_else(|| {
        EngineError::Definite(format!(
            "tenant {code:?} does not exist in SUPRA\nhint: INSERT INTO tenants (name, slug) VALUES ('…', '{code}');"
        ))
    })
}
