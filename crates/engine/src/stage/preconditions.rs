//! What must hold before an entity changes stage (each failing precondition is a reason;
//! all are reported at once):
//! * forward one step at a time along the entity's ladder (going back may skip: rollback);
//! * no open conflict and no failed `sync_log` row for the entity;
//! * the entity's latest reconciliation (and its financial checks) is clean;
//! * every entity it depends on is at that stage or beyond — as far as that entity's
//!   direction goes: a legacy_to_supra dependency stays at shadow and never blocks — and,
//!   going back, no entity depending on it is left beyond it;
//! * retiring it (no sync), every entity depending on it is retired already (retirement
//!   goes dependents first; the entities it depends on may still sync).

use chrono::{DateTime, Utc};
use supra_sync_mapping::{EntityMapping, MappingSet};
use tokio_postgres::GenericClient;

use super::{Stage, StageBook};
use crate::EngineError;

/// The highest stage `dep` can reach without going beyond `stage`.
fn cap(dep: &EntityMapping, stage: Stage) -> Stage {
    Stage::allowed(dep.direction())
        .iter()
        .copied()
        .filter(|s| *s <= stage)
        .max()
        .unwrap_or(Stage::Shadow)
}

/// Every failed precondition of moving `entity` from `from` to `to`.
pub(super) async fn check<C: GenericClient>(
    client: &C,
    mappings: &MappingSet,
    book: &StageBook,
    entity: &EntityMapping,
    from: Stage,
    to: Stage,
) -> Result<Vec<String>, EngineError> {
    let mut reasons = Vec::new();
    let name = entity.name();
    let ladder = Stage::allowed(entity.direction());
    let pos = |s: Stage| ladder.iter().position(|x| *x == s);
    if let (Some(f), Some(t)) = (pos(from), pos(to))
        && t > f + 1
    {
        reasons.push(format!(
            "advance one stage at a time: the next stage after {from} is {}",
            ladder[f + 1]
        ));
    }
    reasons.extend(open_conflicts(client, name).await?);
    reasons.extend(failed_rows(client, name).await?);
    reasons.extend(crate::reconcile::store::unclean_for_stage(client, name).await?);
    // Dependencies lead through the synced stages; retiring goes the other way round
    // (dependents first, below).
    let leading = if to == Stage::Retired {
        &[][..]
    } else {
        entity.depends_on()
    };
    for dep in leading {
        let Some(d) = mappings.entity(dep).filter(|d| d.name() != name) else {
            continue;
        };
        let need = cap(d, to);
        let at = book.stage(d);
        if at < need {
            reasons.push(format!(
                "{name} depends on {dep}, which is at {at}: move {dep} to {need} first"
            ));
        }
    }
    for other in mappings.entities() {
        if other.name() == name || !other.depends_on().iter().any(|d| d == name) {
            continue;
        }
        let at = book.stage(other);
        if to < from && cap(entity, at) > to {
            reasons.push(format!(
                "{} (at {at}) depends on {name}: move it back to {to} or before first",
                other.name()
            ));
        }
        // Without sync, rows of a dependent that still syncs would wait for this entity's
        // new rows forever.
        if to == Stage::Retired && at != Stage::Retired {
            reasons.push(format!(
                "{} (at {at}) depends on {name}: retire it first",
                other.name()
            ));
        }
    }
    Ok(reasons)
}

async fn open_conflicts<C: GenericClient>(
    client: &C,
    entity: &str,
) -> Result<Vec<String>, EngineError> {
    let rows = client
        .query(
            "SELECT id::text, entity_id::text, conflict_type::text, detected_at, count(*) OVER ()
               FROM supra_sync.sync_conflicts
              WHERE entity_type = $1 AND status = 'open'
              ORDER BY detected_at LIMIT 5",
            &[&entity],
        )
        .await
        .map_err(|e| EngineError::sql("reading open conflicts", e))?;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let total: i64 = first.get(4);
    let listed = rows
        .iter()
        .map(|r| {
            let at: DateTime<Utc> = r.get(3);
            format!(
                "{} (key {}, {}, since {})",
                r.get::<_, String>(0),
                r.get::<_, String>(1),
                r.get::<_, String>(2),
                at.format("%Y-%m-%d %H:%M:%S UTC")
            )
        })
        .collect::<Vec<_>>()
        .join(", ");
    Ok(vec![format!(
        "{total} open conflict(s) on {entity}: {listed}{}; resolve them first",
        if total > 5 { ", …" } else { "" }
    )])
}

async fn failed_rows<C: GenericClient>(
    client: &C,
    entity: &str,
) -> Result<Vec<String>, EngineError> {
    let rows = client
        .query(
            "SELECT entity_id::text, left(error_message, 120), count(*) OVER ()
               FROM supra_sync.sync_log
              WHERE entity_type = $1 AND status = 'failed'
              ORDER BY id LIMIT 3",
            &[&entity],
        )
        .await
        .map_err(|e| EngineError::sql("reading failed rows", e))?;
    let Some(first) = rows.first() else {
        return Ok(Vec::new());
    };
    let total: i64 = first.get(2);
    let listed = rows
        .iter()
        .map(|r| {
            format!(
                "key {}: {}",
                r.get::<_, String>(0),
                r.get::<_, Option<String>>(1).unwrap_or_default()
            )
        })
        .collect::<Vec<_>>()
        .join("; ");
    Ok(vec![format!(
        "{total} failed change(s) of {entity} in sync_log ({listed}); retry or resolve them first"
    )])
}
