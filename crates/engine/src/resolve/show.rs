//! `conflicts show`: a conflict's two versions side by side in both schemas' column names,
//! the last synced version when the log still has it, and whether the rows moved since.

use chrono::{DateTime, Utc};
use serde::Serialize;
use supra_sync_core::{ChangeOp, Side, Value};
use uuid::Uuid;

use super::compare::{self, Comparison, forward_values, reverse_values};
use super::conflicts::{self, ConflictRecord};
use super::current::{EntityRows, EntitySchemas};
use super::image::changed_since;
use super::rows::Identity;
use super::{Operator, ResolveError};
use crate::raw;

/// Where the last synced version comes from.
#[derive(Debug, Clone, Serialize)]
pub struct LastSynced {
    /// The `sync_log` row of the last change applied before the conflict.
    pub log_id: i64,
    /// Its direction.
    pub direction: String,
    /// When it was applied.
    pub synced_at: DateTime<Utc>,
}

/// How one side's current row differs from the recorded one.
#[derive(Debug, Clone, Serialize)]
pub struct Moved {
    /// `legacy` or `SUPRA`.
    pub side: String,
    /// Changed columns, or a note that the row appeared or disappeared.
    pub columns: Vec<String>,
}

/// Everything `conflicts show` prints.
#[derive(Debug, Clone, Serialize)]
pub struct ConflictView {
    /// The conflict row.
    pub conflict: ConflictRecord,
    /// Legacy table.
    pub legacy_table: String,
    /// Primary SUPRA table.
    pub supra_table: String,
    /// The SUPRA id, when mapped.
    pub supra_id: Option<Uuid>,
    /// The recorded versions side by side.
    pub comparison: Comparison,
    /// The source of the "last synced" column.
    pub last_synced: Option<LastSynced>,
    /// Open conflicts only: rows changed since the conflict was recorded (empty: current).
    pub moved: Vec<Moved>,
}

/// Loads a conflict for display.
pub async fn show(op: &Operator, id: &str) -> Result<ConflictView, ResolveError> {
    let conflict = conflicts::get(&op.supra, id, false).await?;
    let entity = op.entity(&conflict.entity)?;
    let identity = Identity::find(&op.supra, &conflict.entity, &conflict.entity_id).await?;
    let schemas = EntitySchemas::load(op, entity).await?;
    let recorded = EntityRows::recorded(
        &op.legacy,
        &op.supra,
        &schemas,
        entity,
        &identity,
        op.tenant_id,
        conflict.legacy_data.as_ref(),
        conflict.supra_data.as_ref(),
    )
    .await?;
    let image_columns = entity.compared_supra_columns();
    let (last_synced, last_values) = match last_synced(op, &conflict, entity, &recorded).await? {
        Some((info, values)) => (Some(info), Some(values)),
        None => (None, None),
    };
    let comparison = compare::compare(
        entity,
        &image_columns,
        recorded.legacy_side(),
        recorded.supra_side(),
        last_values.as_ref(),
    );
    let mut moved = Vec::new();
    if conflict.status == "open" {
        let now = EntityRows::read(
            &op.legacy,
            &op.supra,
            &schemas,
            entity,
            &identity,
            op.tenant_id,
            false,
        )
        .await?;
        for (side, recorded, current, cols) in [
            (
                "legacy",
                conflict.legacy_data.as_ref(),
                now.legacy.as_ref(),
                None,
            ),
            (
                "SUPRA",
                conflict.supra_data.as_ref(),
                now.supra.as_ref(),
                Some(image_columns.as_slice()),
            ),
        ] {
            if recorded.is_none() && super::execute::partial(&conflict) {
                continue;
            }
            let columns = changed_since(recorded, current, cols);
            if !columns.is_empty() {
                moved.push(Moved {
                    side: side.into(),
                    columns,
                });
            }
        }
    }
    Ok(ConflictView {
        legacy_table: entity.legacy_table().to_string(),
        supra_table: entity.supra_tables()[0].to_string(),
        supra_id: Some(identity.supra_id),
        conflict,
        comparison,
        last_synced,
        moved,
    })
}

use super::compare::Values;

/// The last change applied to the entity before the conflict, as (SUPRA values, legacy
/// values), when the log still holds it and its image is complete.
async fn last_synced(
    op: &Operator,
    conflict: &ConflictRecord,
    entity: &supra_sync_mapping::EntityMapping,
    rows: &EntityRows,
) -> Result<Option<(LastSynced, (Values, Values))>, ResolveError> {
    let row = op
        .supra
        .query_opt(
            "SELECT id, direction::text, raw_change, synced_at FROM supra_sync.sync_log
              WHERE entity_type = $1 AND entity_id = $2 AND status = 'applied'
                AND synced_at <= $3 AND raw_change IS NOT NULL
              ORDER BY synced_at DESC, id DESC LIMIT 1",
            &[&conflict.entity, &conflict.entity_id, &conflict.detected_at],
        )
        .await
        .map_err(|e| ResolveError::sql("reading the last synced change", e))?;
    let Some(row) = row else { return Ok(None) };
    let info = LastSynced {
        log_id: row.get(0),
        direction: row.get(1),
        synced_at: row.get(3),
    };
    let Ok(change) = raw::decode(&row.get::<_, serde_json::Value>(2)) else {
        return Ok(None);
    };
    let Some(image) = change.new.filter(|r| !r.values.contains(&Value::Unchanged)) else {
        return Ok(None);
    };
    if change.op == ChangeOp::Delete {
        return Ok(None);
    }
    let side = if info.direction == Side::Legacy.direction() {
        Side::Legacy
    } else {
        Side::Supra
    };
    let values = |r: &supra_sync_core::Row| -> Values {
        r.schema
            .columns
            .iter()
            .map(|c| c.name.clone())
            .zip(r.values.iter().cloned())
            .collect()
    };
    let pair = match side {
        Side::Legacy => {
            let Some(ctx) = rows.forward_ctx() else {
                return Ok(None);
            };
            let supra =
                forward_values(entity, &compare::Side { row: &image, ctx }).unwrap_or_default();
            (supra, values(&image))
        }
        Side::Supra => {
            let Some(ctx) = rows.reverse_ctx() else {
                return Ok(None);
            };
            let legacy =
                reverse_values(entity, &compare::Side { row: &image, ctx }).unwrap_or_default();
            (values(&image), legacy)
        }
    };
    Ok(Some((info, pair)))
}
