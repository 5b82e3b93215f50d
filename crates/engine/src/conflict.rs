//! Conflict detection and policies for bidirectional entities.
//!
//! ```text
//!  sync_mappings.last_synced_hash / last_legacy_hash: the two images when both sides agreed
//!                         │
//!  incoming change ──► lock the target row (FOR UPDATE, inside the apply transaction)
//!                      hash its image ── equal? ──► apply, then record both new hashes
//!                                  └── differs / row gone ──► conflict:
//!     manual       → not applied; sync_conflicts row (open); later changes to the row are held
//!     legacy_wins  → the legacy side's change is applied, the SUPRA side's is not
//!     supra_wins   → the other way round
//!     newest_wins  → the later commit timestamp wins (tie: legacy, the system of record)
//!  every automatically decided conflict is recorded too (resolved, by `policy:<name>`)
//! ```

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json};
use sha2::{Digest, Sha256};
use std::sync::Arc;

use supra_sync_core::{
    PgType, Row, RowSchema, Side, TableName, Value, numbered, quote_ident, unnest_text_arrays,
};
use supra_sync_mapping::ConflictPolicy;
use tokio_postgres::GenericClient;
use uuid::Uuid;

use crate::EngineError;

/// Hash of an image: the named columns' text forms, in the given order.
pub fn image_hash<'a, T: AsRef<str>>(pairs: impl Iterator<Item = (&'a str, Option<T>)>) -> String {
    let mut h = Sha256::new();
    for (name, text) in pairs {
        h.update(name.as_bytes());
        h.update([0x1f]);
        match text {
            Some(t) => {
                h.update([1]);
                h.update(t.as_ref().as_bytes());
            }
            None => h.update([0]),
        }
        h.update([0x1e]);
    }
    hex::encode(&h.finalize()[..16])
}

/// Hash of `columns` of a row (missing columns count as NULL; empty: every column).
pub fn row_hash(row: &supra_sync_core::Row, columns: &[String]) -> String {
    if columns.is_empty() {
        return image_hash(
            row.schema
                .columns
                .iter()
                .zip(&row.values)
                .map(|(c, v)| (c.name.as_str(), v.to_text())),
        );
    }
    image_hash(
        columns
            .iter()
            .map(|c| (c.as_str(), row.get(c).and_then(Value::to_text))),
    )
}

/// What to verify before an incoming change overwrites a row of a bidirectional entity.
#[derive(Debug, Clone)]
pub struct Check {
    /// Entity.
    pub entity: String,
    /// Legacy key text.
    pub legacy_key: String,
    /// SUPRA id.
    pub supra_id: Uuid,
    /// The mapping's policy.
    pub policy: ConflictPolicy,
    /// Side the change comes from.
    pub source: Side,
    /// Target table holding the row.
    pub table: TableName,
    /// Key columns of the row on the target.
    pub key_columns: Arc<[String]>,
    /// Key values.
    pub key_values: Vec<Value>,
    /// Target columns forming the compared image (empty: every column of the target row).
    pub columns: Arc<[String]>,
    /// The incoming change's row (the old key or row of a delete), turned into the conflict
    /// record's image only when a conflict is recorded.
    pub incoming_row: Option<Row>,
    /// Hash of the incoming side's image (recorded as that side's hash once applied).
    pub incoming_hash: String,
    /// Commit time of the incoming change.
    pub incoming_ts: DateTime<Utc>,
    /// The incoming change deletes the row.
    pub deleting: bool,
}

impl Check {
    /// The incoming change's image as JSON (column → value; null when it brings no row).
    pub fn incoming_image(&self) -> Json {
        self.incoming_row.as_ref().map_or(Json::Null, Row::to_json)
    }
}

/// A target row's compared columns and their text (normalized), turned into JSON only when a
/// conflict needs it.
#[derive(Debug, Clone)]
pub struct Image {
    columns: Arc<[String]>,
    values: Vec<Option<String>>,
}

impl Image {
    /// Column → text value (null for NULL).
    pub fn to_json(&self) -> Json {
        let mut image = Map::with_capacity(self.columns.len());
        for (c, v) in self.columns.iter().zip(&self.values) {
            image.insert(c.clone(), v.clone().map_or(Json::Null, Json::String));
        }
        Json::Object(image)
    }
}

/// The target row as it is now.
#[derive(Debug, Clone)]
pub struct Current {
    /// Hash of its image (`None`: no row).
    pub hash: Option<String>,
    /// Its image.
    pub image: Option<Image>,
    /// Commit time of its last change.
    pub commit_ts: Option<DateTime<Utc>>,
    /// The server clock when the row was read (under the row lock).
    pub read_at: Option<DateTime<Utc>>,
    /// Replication origin (`roident`) of the transaction that last wrote it, when known:
    /// a row last written under one of supra-sync's own origins has not been changed on
    /// this side since supra-sync synced it.
    pub last_origin: Option<u32>,
}

/// After a row's compared columns: its last commit time, the server clock, and the
/// replication origin of its last writer (`0` when none, NULL when unknown).
const COMMIT_INFO: &str = "(pg_xact_commit_timestamp_origin(t.xmin)).timestamp, clock_timestamp(),
       (pg_xact_commit_timestamp_origin(t.xmin)).roident";

/// Locks and reads the target row.
pub async fn read_current<C: GenericClient>(
    client: &C,
    schema: &RowSchema,
    check: &Check,
) -> Result<Current, EngineError> {
    let columns = compared_columns(schema, check);
    let cond = check
        .key_columns
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!(
                "{} = ${}::text::{}",
                quote_ident(k),
                i + 1,
                schema.sql_type_of(k)
            )
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    let sql = format!(
        "SELECT {}, {COMMIT_INFO} FROM {} AS t WHERE {cond} FOR UPDATE OF t",
        select_list(schema, &columns),
        check.table.quoted()
    );
    let keys: Vec<Option<String>> = check.key_values.iter().map(Value::to_text).collect();
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = keys
        .iter()
        .map(|k| k as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let row = client.query_opt(&sql, &params).await.map_err(|e| {
        EngineError::sql(format!("locking {} for conflict detection", check.table), e)
    })?;
    Ok(match row {
        Some(row) => to_current(&row, &Shape::new(schema, columns)),
        None => Current::missing(),
    })
}

/// Locks and reads, in one statement, the target rows of several checks that share a table,
/// key columns and compared columns. Every requested key is in the result, keyed by
/// [`key_text`] exactly as sent: [`Current::missing`] when the target has no such row.
pub async fn read_many<C: GenericClient>(
    client: &C,
    schema: &RowSchema,
    checks: &[&Check],
) -> Result<std::collections::HashMap<Vec<Option<String>>, Current>, EngineError> {
    let mut found = std::collections::HashMap::new();
    let Some(first) = checks.first() else {
        return Ok(found);
    };
    let mut requested: Vec<Vec<Option<String>>> = checks.iter().map(|c| key_text(c)).collect();
    requested.sort();
    requested.dedup();
    let columns = compared_columns(schema, first);
    let keys = &first.key_columns;
    let join = keys
        .iter()
        .enumerate()
        .map(|(i, k)| {
            format!(
                "t.{} = u.k{}::{}",
                quote_ident(k),
                i + 1,
                schema.sql_type_of(k)
            )
        })
        .collect::<Vec<_>>()
        .join(" AND ");
    let unnest = unnest_text_arrays(numbered("k", keys.len()));
    let sent = numbered("u.k", keys.len()).collect::<Vec<_>>().join(", ");
    let order = keys
        .iter()
        .map(|k| format!("t.{}", quote_ident(k)))
        .collect::<Vec<_>>()
        .join(", ");
    // The requested key texts come back as sent, so a key the server would print differently
    // still finds its row; rows are locked in key order.
    let sql = format!(
        "SELECT {}, {COMMIT_INFO}, {sent}
           FROM {} AS t JOIN {unnest} ON {join}
          ORDER BY {order} FOR UPDATE OF t",
        select_list(schema, &columns),
        first.table.quoted()
    );
    let arrays: Vec<Vec<Option<String>>> = (0..keys.len())
        .map(|i| {
            requested
                .iter()
                .map(|k| k.get(i).cloned().flatten())
                .collect()
        })
        .collect();
    let params: Vec<&(dyn tokio_postgres::types::ToSql + Sync)> = arrays
        .iter()
        .map(|a| a as &(dyn tokio_postgres::types::ToSql + Sync))
        .collect();
    let rows = client.query(&sql, &params).await.map_err(|e| {
        EngineError::sql(format!("locking {} for conflict detection", first.table), e)
    })?;
    let shape = Shape::new(schema, columns);
    for row in &rows {
        let key: Vec<Option<String>> = (0..keys.len())
            .map(|i| row.get(shape.columns.len() + 3 + i))
            .collect();
        found.insert(key, to_current(row, &shape));
    }
    for key in requested {
        found.entry(key).or_insert_with(Current::missing);
    }
    Ok(found)
}

/// The key values of a check as [`read_many`] keys its results.
pub fn key_text(check: &Check) -> Vec<Option<String>> {
    check.key_values.iter().map(Value::to_text).collect()
}

fn compared_columns(schema: &RowSchema, check: &Check) -> Arc<[String]> {
    if check.columns.is_empty() {
        schema.columns.iter().map(|c| c.name.clone()).collect()
    } else {
        check.columns.clone()
    }
}

fn select_list(schema: &RowSchema, columns: &[String]) -> String {
    columns
        .iter()
        .map(|c| match schema.columns.iter().find(|d| &d.name == c) {
            Some(def) => crate::reader::text_expr(def),
            None => format!("{}::text", quote_ident(c)),
        })
        .collect::<Vec<_>>()
        .join(", ")
}

/// The compared columns of a read and their types, looked up once per statement.
struct Shape {
    columns: Arc<[String]>,
    types: Vec<PgType>,
}

impl Shape {
    fn new(schema: &RowSchema, columns: Arc<[String]>) -> Shape {
        let types = columns
            .iter()
            .map(|c| {
                schema
                    .columns
                    .iter()
                    .find(|d| &d.name == c)
                    .map_or(PgType::Text, |d| d.pg_type)
            })
            .collect();
        Shape { columns, types }
    }
}

fn to_current(row: &tokio_postgres::Row, shape: &Shape) -> Current {
    let n = shape.columns.len();
    let values: Vec<Option<String>> = (0..n)
        .map(|i| {
            let raw: Option<String> = row.get(i);
            raw.map(|t| Value::canonical_text(shape.types[i], t))
        })
        .collect();
    let hash = image_hash(
        shape
            .columns
            .iter()
            .zip(&values)
            .map(|(c, v)| (c.as_str(), v.as_deref())),
    );
    Current {
        hash: Some(hash),
        image: Some(Image {
            columns: shape.columns.clone(),
            values,
        }),
        commit_ts: row.get(n),
        read_at: row.get(n + 1),
        last_origin: row.get(n + 2),
    }
}

impl Current {
    /// No row.
    pub fn missing() -> Current {
        Current {
            hash: None,
            image: None,
            commit_ts: None,
            read_at: None,
            last_origin: None,
        }
    }
}

/// What to do with the incoming change.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// No conflict: apply.
    Apply,
    /// Conflict decided for the incoming side: apply and record it resolved.
    ApplyResolved,
    /// Conflict decided for the target side: skip and record it resolved.
    SkipResolved,
    /// Manual policy: hold the change and open a conflict.
    Hold,
}

/// Decides a conflict by policy. `expected` is the target side's hash at the last sync.
pub fn decide(check: &Check, expected: Option<&str>, current: &Current) -> Verdict {
    let Some(expected) = expected else {
        return Verdict::Apply;
    };
    if check.deleting && current.hash.is_none() {
        return Verdict::Apply; // already gone: nothing to disagree about
    }
    if current.hash.as_deref() == Some(expected) {
        return Verdict::Apply;
    }
    let incoming_wins = match check.policy {
        ConflictPolicy::Manual => return Verdict::Hold,
        ConflictPolicy::LegacyWins => check.source == Side::Legacy,
        ConflictPolicy::SupraWins => check.source == Side::Supra,
        ConflictPolicy::NewestWins => match current.commit_ts {
            Some(ts) if ts == check.incoming_ts => check.source == Side::Legacy,
            Some(ts) => check.incoming_ts > ts,
            None => true,
        },
    };
    if incoming_wins {
        Verdict::ApplyResolved
    } else {
        Verdict::SkipResolved
    }
}

/// The policy's name as stored in `sync_conflicts.policy`.
pub fn policy_name(p: ConflictPolicy) -> &'static str {
    match p {
        ConflictPolicy::LegacyWins => "legacy_wins",
        ConflictPolicy::SupraWins => "supra_wins",
        ConflictPolicy::NewestWins => "newest_wins",
        ConflictPolicy::Manual => "manual",
    }
}

/// Records a conflict; returns its id. Open for `Hold`, resolved by the policy otherwise.
pub async fn record<C: GenericClient>(
    client: &C,
    check: &Check,
    current: &Current,
    verdict: Verdict,
) -> Result<Uuid, EngineError> {
    let conflict_type = if check.deleting {
        "delete_vs_update"
    } else if current.hash.is_none() {
        "update_missing"
    } else {
        "concurrent_update"
    };
    let (legacy_data, supra_data) = match check.source {
        Side::Legacy => (
            Some(check.incoming_image()),
            current.image.as_ref().map(Image::to_json),
        ),
        Side::Supra => (
            current.image.as_ref().map(Image::to_json),
            Some(check.incoming_image()),
        ),
    };
    let (legacy_ts, supra_ts) = match check.source {
        Side::Legacy => (Some(check.incoming_ts), current.commit_ts),
        Side::Supra => (current.commit_ts, Some(check.incoming_ts)),
    };
    let policy = policy_name(check.policy);
    let (status, resolution) = match verdict {
        Verdict::Hold | Verdict::Apply => ("open", None),
        Verdict::ApplyResolved | Verdict::SkipResolved => {
            let incoming_won = verdict == Verdict::ApplyResolved;
            let legacy_won = (check.source == Side::Legacy) == incoming_won;
            (
                "resolved",
                Some(if legacy_won {
                    "legacy_wins"
                } else {
                    "supra_wins"
                }),
            )
        }
    };
    // An open conflict of the row that already exists (recorded by an earlier attempt of this
    // batch on the bookkeeping connection, or by a unique violation) is the one this change
    // waits behind: its id is returned instead of a second open conflict.
    let row = client
        .query_one(
            "WITH existing AS (
                SELECT id FROM supra_sync.sync_conflicts
                 WHERE entity_type = $1::text AND entity_id = $2::text AND status = 'open' AND $8::text = 'open'),
             inserted AS (
                INSERT INTO supra_sync.sync_conflicts
                    (entity_type, entity_id, direction, legacy_data, supra_data, conflict_type, policy,
                     status, resolution, legacy_commit_ts, supra_commit_ts, resolved_by, resolved_at)
                SELECT $1::text, $2::text, $3::text, $4::text::jsonb, $5::text::jsonb, $6::text, $7::text,
                       $8::text, $9::text, $10, $11,
                       CASE WHEN $8::text = 'resolved' THEN 'policy:' || $7::text END,
                       CASE WHEN $8::text = 'resolved' THEN now() END
                 WHERE NOT EXISTS (SELECT 1 FROM existing)
                RETURNING id)
             SELECT id FROM inserted UNION ALL SELECT id FROM existing",
            &[
                &check.entity,
                &check.legacy_key,
                &check.source.direction(),
                &legacy_data.map(|j| j.to_string()),
                &supra_data.map(|j| j.to_string()),
                &conflict_type,
                &policy,
                &status,
                &resolution,
                &legacy_ts,
                &supra_ts,
            ],
        )
        .await
        .map_err(|e| EngineError::sql("recording a conflict", e))?;
    Ok(row.get(0))
}

/// Records a `unique_violation` conflict (open): the incoming row collides with another row
/// on a unique key of the target. The failed change stays in `sync_log` for `retry`.
pub async fn record_unique_violation<C: GenericClient>(
    client: &C,
    check: &Check,
    error: &str,
) -> Result<Uuid, EngineError> {
    let image = Some(check.incoming_image().to_string());
    let (legacy_data, supra_data) = match check.source {
        Side::Legacy => (image, None),
        Side::Supra => (None, image),
    };
    let row = client
        .query_one(
            "INSERT INTO supra_sync.sync_conflicts
                    (entity_type, entity_id, direction, legacy_data, supra_data, conflict_type, policy,
                     status, resolution_note)
             SELECT $1::text, $2::text, $3::text, $4::text::jsonb, $5::text::jsonb, 'unique_violation', $6::text,
                    'open', $7::text
              WHERE NOT EXISTS (SELECT 1 FROM supra_sync.sync_conflicts
                                 WHERE entity_type = $1::text AND entity_id = $2::text AND status = 'open')
             RETURNING id",
            &[
                &check.entity,
                &check.legacy_key,
                &check.source.direction(),
                &legacy_data,
                &supra_data,
                &policy_name(check.policy),
                &error,
            ],
        )
        .await;
    match row {
        Ok(r) => Ok(r.get(0)),
        // An open conflict for the row already exists: report that one.
        Err(_) => {
            let r = client
                .query_one(
                    "SELECT id FROM supra_sync.sync_conflicts WHERE entity_type = $1 AND entity_id = $2 AND status = 'open'",
                    &[&check.entity, &check.legacy_key],
                )
                .await
                .map_err(|e| EngineError::sql("reading the open conflict", e))?;
            Ok(r.get(0))
        }
    }
}

/// Queues a change behind an open conflict.
pub async fn hold<C: GenericClient>(
    client: &C,
    conflict: Uuid,
    direction: &str,
    operation: &str,
    raw: &str,
    lsn: supra_sync_core::Lsn,
    ts: DateTime<Utc>,
) -> Result<(), EngineError> {
    client
        .execute(
            // sync_conflicts.held_changes is kept by a trigger on held_changes.
            "INSERT INTO supra_sync.held_changes (conflict_id, seq, direction, operation, raw_change, source_lsn, source_commit_ts)
             SELECT $1, COALESCE(max(seq), 0) + 1, $2, $3, $4::text::jsonb, $5::text::pg_lsn, $6
               FROM supra_sync.held_changes WHERE conflict_id = $1",
            &[&conflict, &direction, &operation, &raw, &lsn.to_string(), &ts],
        )
        .await
        .map_err(|e| match e.code() {
            // The trigger refuses: an operator resolved the conflict after this batch was
            // planned. Re-planning (from the stored position) applies the change normally.
            Some(c) if *c == tokio_postgres::error::SqlState::CHECK_VIOLATION => {
                EngineError::Transient(format!(
                    "conflict {conflict} was resolved while a change was being held behind it; re-planning"
                ))
            }
            _ => EngineError::sql("holding a change behind a conflict", e),
        })?;
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(policy: ConflictPolicy, source: Side, ts: i64) -> Check {
        Check {
            entity: "persona".into(),
            legacy_key: "1".into(),
            supra_id: Uuid::nil(),
            policy,
            source,
            table: TableName::new("public", "persons"),
            key_columns: Arc::from(vec!["id".to_string()]),
            key_values: vec![],
            columns: Arc::from(Vec::new()),
            incoming_row: None,
            incoming_hash: String::new(),
            incoming_ts: DateTime::from_timestamp(ts, 0).unwrap(),
            deleting: false,
        }
    }

    fn current(hash: &str, ts: i64) -> Current {
        Current {
            hash: Some(hash.into()),
            image: None,
            commit_ts: DateTime::from_timestamp(ts, 0),
            read_at: None,
            last_origin: None,
        }
    }

    #[test]
    fn policies_decide_deterministically() {
        use ConflictPolicy::*;
        assert_eq!(
            decide(&check(Manual, Side::Legacy, 5), Some("a"), &current("a", 1)),
            Verdict::Apply
        );
        assert_eq!(
            decide(&check(Manual, Side::Legacy, 5), None, &current("b", 1)),
            Verdict::Apply
        );
        assert_eq!(
            decide(&check(Manual, Side::Legacy, 5), Some("a"), &current("b", 1)),
            Verdict::Hold
        );
        assert_eq!(
            decide(
                &check(LegacyWins, Side::Legacy, 5),
                Some("a"),
                &current("b", 9)
            ),
            Verdict::ApplyResolved
        );
        assert_eq!(
            decide(
                &check(LegacyWins, Side::Supra, 5),
                Some("a"),
                &current("b", 1)
            ),
            Verdict::SkipResolved
        );
        assert_eq!(
            decide(
                &check(SupraWins, Side::Supra, 5),
                Some("a"),
                &current("b", 9)
            ),
            Verdict::ApplyResolved
        );
        assert_eq!(
            decide(
                &check(NewestWins, Side::Supra, 5),
                Some("a"),
                &current("b", 9)
            ),
            Verdict::SkipResolved
        );
        assert_eq!(
            decide(
                &check(NewestWins, Side::Supra, 9),
                Some("a"),
                &current("b", 5)
            ),
            Verdict::ApplyResolved
        );
        // Tie: legacy, the system of record, wins.
        assert_eq!(
            decide(
                &check(NewestWins, Side::Legacy, 5),
                Some("a"),
                &current("b", 5)
            ),
            Verdict::ApplyResolved
        );
        assert_eq!(
            decide(
                &check(NewestWins, Side::Supra, 5),
                Some("a"),
                &current("b", 5)
            ),
            Verdict::SkipResolved
        );
    }

    #[test]
    fn hash_distinguishes_null_from_empty_and_order() {
        let a = image_hash([("x", None), ("y", Some("1"))].into_iter());
        let b = image_hash([("x", Some("")), ("y", Some("1"))].into_iter());
        let c = image_hash([("y", Some("1")), ("x", None)].into_iter());
        assert_ne!(a, b);
        assert_ne!(a, c);
    }
}
