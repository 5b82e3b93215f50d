//! Conflict checks of a batch, inside the target transaction: the agreed versions of every
//! checked row and the rows themselves (locked) are read with one statement per table, then
//! each change is decided in order; after the writes, the new agreed versions are read back
//! and stored the same way.

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use supra_sync_core::{RowSchema, Side, TableName};
use tokio_postgres::{Client, GenericClient, Transaction};
use uuid::Uuid;

use super::Planned;
use crate::EngineError;
use crate::book::LogStatus;
use crate::booking::Version;
use crate::conflict::{self, Check, Current, Verdict};

type Schemas = HashMap<TableName, Arc<RowSchema>>;

/// What `sync_mappings` says about a row: the hash each side had when they last agreed, and
/// when supra-sync last wrote each side.
#[derive(Debug, Clone, Default)]
struct Agreed {
    supra_hash: Option<String>,
    legacy_hash: Option<String>,
    wrote_supra_at: Option<DateTime<Utc>>,
    wrote_legacy_at: Option<DateTime<Utc>>,
}

impl Agreed {
    /// The hash expected on the target of a change from `source`, and supra-sync's last
    /// write to `source` (a change committed before it is stale).
    fn for_source(&self, source: Side) -> (Option<&str>, Option<DateTime<Utc>>) {
        match source {
            Side::Legacy => (self.supra_hash.as_deref(), self.wrote_legacy_at),
            Side::Supra => (self.legacy_hash.as_deref(), self.wrote_supra_at),
        }
    }

    /// The hash the source side of a change had when both sides last agreed.
    fn on_source(&self, source: Side) -> Option<&str> {
        match source {
            Side::Legacy => self.legacy_hash.as_deref(),
            Side::Supra => self.supra_hash.as_deref(),
        }
    }
}

/// Locks each checked row, decides by policy, records conflicts, and clears the operations
/// of changes that must not be applied. Runs before any write of the batch, so every change
/// is compared with the row as it was when the batch started. With `skip_stale`, a change
/// carrying the image its side last agreed on is skipped rather than opening a conflict.
pub(super) async fn run(
    tx: &Transaction<'_>,
    book: Option<&Client>,
    our_origins: &[u32],
    schemas: &Schemas,
    open_conflicts: &mut HashMap<(String, String), Uuid>,
    plans: &mut [Planned],
    skip_stale: bool,
) -> Result<(), EngineError> {
    let candidates: Vec<&Check> = plans
        .iter()
        .filter(|p| !p.ops.is_empty())
        .filter_map(|p| p.check.as_ref())
        .collect();
    let agreed = match book {
        Some(book) => agreed_versions(book, &candidates).await?,
        None => agreed_versions(tx, &candidates).await?,
    };
    let mut current = read_rows(tx, schemas, &candidates).await?;
    for plan in plans.iter_mut() {
        if let Some(conflict_id) = plan.held_by.or_else(|| {
            open_conflicts
                .get(&(plan.log.entity.clone(), plan.log.entity_id.clone()))
                .copied()
        }) {
            if plan.log.status == LogStatus::Applied {
                plan.set_outcome(
                    LogStatus::Held,
                    format!("held behind open conflict {conflict_id}"),
                );
                plan.mappings.clear();
                plan.check = None;
                plan.held_by = Some(conflict_id);
            }
            continue;
        }
        if plan.ops.is_empty() {
            continue;
        }
        let Some(check) = plan.check.take() else {
            continue;
        };
        let none = Agreed::default();
        let versions = agreed
            .get(&(check.entity.clone(), check.legacy_key.clone()))
            .unwrap_or(&none);
        let (expected, last_write) = versions.for_source(check.source);
        if last_write.is_some_and(|w| check.incoming_ts <= w) {
            plan.set_outcome(
                LogStatus::Skipped,
                "superseded: supra-sync wrote a newer synced version of this row after this change"
                    .into(),
            );
            continue;
        }
        let now = current_of(tx, schemas, &mut current, &check).await?;
        if now.last_origin.is_some_and(|o| our_origins.contains(&o)) {
            // Last written by supra-sync itself: nobody changed it on this side since, even
            // if the agreed versions of that write are not recorded yet.
            plan.check = Some(check);
            continue;
        }
        let verdict = conflict::decide(&check, expected, now);
        if verdict == Verdict::Apply {
            plan.check = Some(check);
            continue;
        }
        if skip_stale
            && !check.deleting
            && versions.on_source(check.source) == Some(check.incoming_hash.as_str())
        {
            // The incoming image is the one both sides last agreed on (a snapshot row read
            // before the target's newer change reached its source): only the target changed,
            // and that change travels the other way. Nothing to apply, nothing to review.
            plan.set_outcome(
                LogStatus::Skipped,
                "unchanged since both sides last agreed; the other side's newer version stands"
                    .into(),
            );
            continue;
        }
        let id = match book {
            Some(book) => conflict::record(book, &check, now, verdict).await?,
            None => conflict::record(tx, &check, now, verdict).await?,
        };
        match verdict {
            Verdict::Hold => {
                plan.set_outcome(
                    LogStatus::Held,
                    format!("conflict {id}: both sides changed the row; held for review"),
                );
                plan.mappings.clear();
                open_conflicts.insert((check.entity.clone(), check.legacy_key.clone()), id);
            }
            Verdict::SkipResolved => {
                plan.set_outcome(
                    LogStatus::Skipped,
                    format!("conflict {id} resolved by policy: the other side's version is kept"),
                );
            }
            Verdict::ApplyResolved | Verdict::Apply => plan.check = Some(check),
        }
    }
    Ok(())
}

/// After the writes: queues the changes held behind open conflicts, and reads back (under
/// the row lock) the new agreed version of every checked row that was written.
pub(super) async fn record_versions(
    tx: &Transaction<'_>,
    book: Option<&Client>,
    schemas: &Schemas,
    plans: &[Planned],
) -> Result<Vec<Version>, EngineError> {
    for plan in plans {
        if let (Some(conflict_id), LogStatus::Held) = (plan.held_by, plan.log.status) {
            let log = &plan.log;
            let (direction, op) = (log.source.direction(), log.operation);
            let (raw, lsn, ts) = (&log.raw, log.source_lsn, log.commit_ts);
            match book {
                Some(book) => {
                    conflict::hold(book, conflict_id, direction, op, raw, lsn, ts).await?
                }
                None => conflict::hold(tx, conflict_id, direction, op, raw, lsn, ts).await?,
            }
        }
    }
    let written: Vec<&Check> = plans
        .iter()
        .filter(|p| !p.ops.is_empty() && p.log.status == LogStatus::Applied)
        .filter_map(|p| p.check.as_ref())
        .filter(|c| !c.deleting && schemas.contains_key(&c.table))
        .collect();
    let mut current = read_rows(tx, schemas, &written).await?;
    let mut versions = Vec::with_capacity(written.len());
    for check in written {
        let now = current_of(tx, schemas, &mut current, check).await?;
        let Some(target_hash) = now.hash.clone() else {
            continue;
        };
        let (supra_hash, legacy_hash) = match check.source {
            Side::Legacy => (target_hash, check.incoming_hash.clone()),
            Side::Supra => (check.incoming_hash.clone(), target_hash),
        };
        versions.push(Version {
            entity: check.entity.clone(),
            key: check.legacy_key.clone(),
            supra_hash,
            legacy_hash,
            written_to: check.source.other().to_string(),
            written_at: now.read_at,
        });
    }
    Ok(versions)
}

/// Stores the agreed versions (SUPRA image hash, legacy image hash) of synced rows and when
/// supra-sync wrote them, in one statement (the last version of a row wins).
pub(crate) async fn write_versions<C: GenericClient>(
    client: &C,
    versions: &[Version],
) -> Result<(), EngineError> {
    if versions.is_empty() {
        return Ok(());
    }
    let mut last: HashMap<(&str, &str), usize> = HashMap::new();
    for (i, v) in versions.iter().enumerate() {
        last.insert((v.entity.as_str(), v.key.as_str()), i);
    }
    let mut order: Vec<usize> = last.into_values().collect();
    order.sort_unstable();
    let pick = |f: &dyn Fn(&Version) -> String| -> Vec<String> {
        order.iter().map(|&i| f(&versions[i])).collect()
    };
    let (entities, keys) = (pick(&|v| v.entity.clone()), pick(&|v| v.key.clone()));
    let supra = pick(&|v| v.supra_hash.clone());
    let legacy = pick(&|v| v.legacy_hash.clone());
    let sides = pick(&|v| v.written_to.clone());
    let at: Vec<Option<DateTime<Utc>>> = order.iter().map(|&i| versions[i].written_at).collect();
    client
        .execute(
            "UPDATE supra_sync.sync_mappings m
                SET last_synced_hash = v.supra_hash, last_legacy_hash = v.legacy_hash,
                    last_write_to_supra_at = CASE WHEN v.side = 'supra' THEN v.at ELSE m.last_write_to_supra_at END,
                    last_write_to_legacy_at = CASE WHEN v.side = 'legacy' THEN v.at ELSE m.last_write_to_legacy_at END
               FROM unnest($1::text[], $2::text[], $3::text[], $4::text[], $5::text[], $6::timestamptz[])
                    AS v(entity, key, supra_hash, legacy_hash, side, at)
              WHERE m.entity_type = v.entity AND m.legacy_id = v.key",
            &[&entities, &keys, &supra, &legacy, &sides, &at],
        )
        .await
        .map_err(|e| EngineError::sql("recording synced versions", e))?;
    Ok(())
}

/// The agreed versions of the checked rows, in one statement.
async fn agreed_versions<C: GenericClient>(
    client: &C,
    checks: &[&Check],
) -> Result<HashMap<(String, String), Agreed>, EngineError> {
    if checks.is_empty() {
        return Ok(HashMap::new());
    }
    let entities: Vec<&str> = checks.iter().map(|c| c.entity.as_str()).collect();
    let keys: Vec<&str> = checks.iter().map(|c| c.legacy_key.as_str()).collect();
    let rows = client
        .query(
            "SELECT m.entity_type::text, m.legacy_id::text, m.last_synced_hash, m.last_legacy_hash,
                    m.last_write_to_supra_at, m.last_write_to_legacy_at
               FROM supra_sync.sync_mappings m
              WHERE (m.entity_type, m.legacy_id) IN (SELECT * FROM unnest($1::text[], $2::text[]))",
            &[&entities, &keys],
        )
        .await
        .map_err(|e| EngineError::sql("reading the last synced versions", e))?;
    Ok(rows
        .iter()
        .map(|r| {
            (
                (r.get(0), r.get(1)),
                Agreed {
                    supra_hash: r.get(2),
                    legacy_hash: r.get(3),
                    wrote_supra_at: r.get(4),
                    wrote_legacy_at: r.get(5),
                },
            )
        })
        .collect())
}

/// Current target rows of the checks, keyed by (table, key text): one locking read per
/// table, key columns and compared columns.
type CurrentRows = HashMap<(TableName, Vec<Option<String>>), Current>;

async fn read_rows(
    tx: &Transaction<'_>,
    schemas: &Schemas,
    checks: &[&Check],
) -> Result<CurrentRows, EngineError> {
    // Checks read by one statement: same table, key columns and compared columns.
    type Shape<'a> = (&'a TableName, &'a [String], &'a [String]);
    let mut groups: HashMap<Shape<'_>, Vec<&Check>> = HashMap::new();
    for c in checks {
        groups
            .entry((&c.table, &c.key_columns[..], &c.columns[..]))
            .or_default()
            .push(c);
    }
    let mut found = CurrentRows::new();
    for ((table, _, _), group) in groups {
        let schema = schemas
            .get(table)
            .ok_or_else(|| EngineError::Definite(format!("no shape loaded for {table}")))?;
        for (key, row) in conflict::read_many(tx, schema, &group).await? {
            found.insert((table.clone(), key), row);
        }
    }
    Ok(found)
}

/// The row of a check from the batch read (which answers for every key it was asked).
async fn current_of<'r>(
    tx: &Transaction<'_>,
    schemas: &Schemas,
    rows: &'r mut CurrentRows,
    check: &Check,
) -> Result<&'r Current, EngineError> {
    let key = (check.table.clone(), conflict::key_text(check));
    if !rows.contains_key(&key) {
        let schema = schemas
            .get(&check.table)
            .ok_or_else(|| EngineError::Definite(format!("no shape loaded for {}", check.table)))?;
        let row = conflict::read_current(tx, schema, check).await?;
        rows.insert(key.clone(), row);
    }
    Ok(&rows[&key])
}
