//! `conflicts refresh`: record the rows as they are now in an open conflict whose rows moved
//! since it was detected (a stale conflict), so that the operator reviews — and resolves —
//! what is really there.

use serde_json::{Map, Value as Json};
use supra_sync_core::Row;

use super::conflicts;
use super::current::{EntityRows, EntitySchemas};
use super::image::row_texts;
use super::rows::Identity;
use super::{Operator, ResolveError};

/// What a refresh found.
#[derive(Debug, Clone, serde::Serialize)]
pub struct RefreshOutcome {
    /// The conflict.
    pub conflict: uuid::Uuid,
    /// Per side, the columns that had moved (sides that had not are left out).
    pub moved: Vec<(String, Vec<String>)>,
    /// Both rows are gone: the conflict was marked `superseded` (nothing is left to
    /// reconcile; its held changes can be released).
    pub superseded: bool,
}

/// Re-records both images of an open conflict.
pub async fn refresh(op: &mut Operator, id: &str) -> Result<RefreshOutcome, ResolveError> {
    let record = conflicts::get(&op.supra, id, false).await?;
    let entity = op.entity(&record.entity)?;
    let identity = Identity::find(&op.supra, &record.entity, &record.entity_id).await?;
    let schemas = EntitySchemas::load(op, entity).await?;
    let image_columns = entity.compared_supra_columns();
    let mappings = op.mappings.clone();
    let entity = mappings
        .entity(&record.entity)
        .ok_or_else(|| ResolveError::Refused("entity vanished".into()))?;
    let tenant_id = op.tenant_id;
    let Operator { legacy, supra, .. } = op;
    let tx = supra
        .transaction()
        .await
        .map_err(|e| ResolveError::sql("starting the SUPRA transaction", e))?;
    let record = conflicts::get(&tx, &record.id.to_string(), true).await?;
    if record.status != "open" {
        return Err(ResolveError::NotOpen {
            id: record.id,
            status: record.status,
            resolution: record.resolution,
            by: record.resolved_by,
        });
    }
    let now =
        EntityRows::read(&*legacy, &tx, &schemas, entity, &identity, tenant_id, false).await?;
    let moved = vec![
        (
            "legacy".to_string(),
            super::image::changed_since(record.legacy_data.as_ref(), now.legacy.as_ref(), None),
        ),
        (
            "SUPRA".to_string(),
            super::image::changed_since(
                record.supra_data.as_ref(),
                now.supra.as_ref(),
                Some(&image_columns),
            ),
        ),
    ];
    let legacy_image = now.legacy.as_ref().map(row_texts);
    let supra_image = now.supra.as_ref().map(|r| only(r, &image_columns));
    let moved: Vec<(String, Vec<String>)> =
        moved.into_iter().filter(|(_, c)| !c.is_empty()).collect();
    if legacy_image.is_none() && supra_image.is_none() {
        tx.execute(
            "UPDATE supra_sync.sync_conflicts
                SET status = 'superseded', resolved_at = now(),
                    resolution_note = 'both rows were deleted after the conflict'
              WHERE id = $1 AND status = 'open'",
            &[&record.id],
        )
        .await
        .map_err(|e| ResolveError::sql("marking the conflict superseded", e))?;
        tx.commit()
            .await
            .map_err(|e| ResolveError::sql("committing the refresh", e))?;
        return Ok(RefreshOutcome {
            conflict: record.id,
            moved,
            superseded: true,
        });
    }
    tx.execute(
        "UPDATE supra_sync.sync_conflicts
            SET legacy_data = $2, supra_data = $3
          WHERE id = $1 AND status = 'open'",
        &[&record.id, &legacy_image, &supra_image],
    )
    .await
    .map_err(|e| ResolveError::sql("recording the current rows in the conflict", e))?;
    tx.commit()
        .await
        .map_err(|e| ResolveError::sql("committing the refresh", e))?;
    Ok(RefreshOutcome {
        conflict: record.id,
        moved,
        superseded: false,
    })
}

fn only(row: &Row, columns: &[String]) -> Json {
    let all = row_texts(row);
    let mut out = Map::new();
    for c in columns {
        if let Some(v) = all.get(c) {
            out.insert(c.clone(), v.clone());
        }
    }
    Json::Object(out)
}
