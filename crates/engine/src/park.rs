//! Parked changes: changes of rows that wait for a referenced row to be mapped, kept in
//! `supra_sync.parked_changes` and retried in their original order once it is.
//!
//! A row is *parked* while it has parked changes: every later change of that row queues
//! behind them, so the row's history reaches the target in order. Two cases need more than
//! the parked row's own key:
//!
//! * **A key change of a parked row that is already mapped** (its row exists on the target
//!   under the old key): the re-key is parked behind the old key's changes, and the *new*
//!   key is parked as well (an *alias*), so later changes of the row under its new key queue
//!   behind the re-key. Aliases are recomputed from the parked updates themselves, so they
//!   survive a restart.
//! * **A key change of a parked row that never reached the target**: the old key gets a
//!   parked delete (its parked history ends there) and the new key is applied as a new row.
//!
//! When parked changes are retried, everything before the last delete of a row is dropped
//! (the delete erases it), except key changes, which carry the row's identity elsewhere.

use std::collections::HashSet;

use supra_sync_core::{Change, ChangeOp, Row, Side, TableName, Transaction};
use supra_sync_mapping::MappingSet;
use tokio_postgres::GenericClient;

use crate::book::ParkedRow;
use crate::{EngineError, raw};

/// `(entity, legacy key)` pairs whose changes must queue behind parked ones.
pub type ParkedKeys = HashSet<(String, String)>;

/// A parked change read back for a retry.
#[derive(Debug, Clone)]
pub struct Retry {
    /// `parked_changes.id`.
    pub id: i64,
    /// Entity of the parked row.
    pub entity: String,
    /// The key the change is parked under.
    pub entity_id: String,
    /// The change itself.
    pub change: Change,
}

/// The parked rows of one direction, with the aliases of parked key changes.
pub async fn load_keys<C: GenericClient>(
    client: &C,
    source: Side,
    mappings: &MappingSet,
) -> Result<ParkedKeys, EngineError> {
    let rows = client
        .query(
            "SELECT entity_type::text, entity_id::text,
                    CASE WHEN operation = 'update' THEN raw_change::text END
               FROM supra_sync.parked_changes WHERE direction = $1",
            &[&source.direction()],
        )
        .await
        .map_err(|e| EngineError::sql("reading parked changes", e))?;
    let mut keys = ParkedKeys::new();
    for r in &rows {
        let entity: String = r.get(0);
        if let Some(text) = r.get::<_, Option<String>>(2) {
            let change = decode(&text)?;
            if let Some(new_key) = new_key_of(&change, &entity, source, mappings) {
                keys.insert((entity.clone(), new_key));
            }
        }
        keys.insert((entity, r.get(1)));
    }
    Ok(keys)
}

/// What parked changes wait for: entity → legacy keys or SUPRA ids (as text).
pub type Awaited = std::collections::HashMap<String, HashSet<String>>;

/// The references parked changes of `source` wait for.
pub async fn load_awaited<C: GenericClient>(
    client: &C,
    source: Side,
) -> Result<Awaited, EngineError> {
    let rows = client
        .query(
            "SELECT DISTINCT waiting_for_entity::text, waiting_for_id::text
               FROM supra_sync.parked_changes WHERE direction = $1",
            &[&source.direction()],
        )
        .await
        .map_err(|e| EngineError::sql("reading what parked changes wait for", e))?;
    let mut awaited = Awaited::new();
    for r in &rows {
        awaited
            .entry(r.get::<_, String>(0))
            .or_default()
            .insert(r.get(1));
    }
    Ok(awaited)
}

/// The new key of `change` when it re-keys a row of `entity` (an update of the entity's
/// own table whose key changed).
pub fn new_key_of(
    change: &Change,
    entity: &str,
    source: Side,
    mappings: &MappingSet,
) -> Option<String> {
    if change.op != ChangeOp::Update || !change.changes_key() {
        return None;
    }
    let table = primary_table(entity, source, mappings)?;
    (change.table == table).then(|| change.new.as_ref().map(Row::key_text))?
}

fn primary_table(entity: &str, source: Side, mappings: &MappingSet) -> Option<TableName> {
    let entity = mappings.entity(entity)?;
    match source {
        Side::Legacy => Some(entity.legacy_table().clone()),
        Side::Supra => entity.supra_tables().first().cloned(),
    }
}

/// Decodes a stored raw change.
pub fn decode(text: &str) -> Result<Change, EngineError> {
    let value: serde_json::Value = serde_json::from_str(text)
        .map_err(|e| EngineError::Definite(format!("parked change is not JSON: {e}")))?;
    raw::decode(&value).map_err(|e| EngineError::Definite(e.to_string()))
}

/// Splits retried changes into those to apply (in order) and those erased by a later delete
/// of the same row in the same retry.
pub fn coalesce(
    retries: Vec<Retry>,
    source: Side,
    mappings: &MappingSet,
) -> (Vec<Retry>, Vec<Retry>) {
    let mut last_delete: std::collections::HashMap<(String, String), usize> =
        std::collections::HashMap::new();
    for (i, r) in retries.iter().enumerate() {
        let deletes_row = r.change.op == ChangeOp::Delete
            && primary_table(&r.entity, source, mappings).as_ref() == Some(&r.change.table);
        if deletes_row {
            last_delete.insert((r.entity.clone(), r.entity_id.clone()), i);
        }
    }
    let (mut keep, mut dropped) = (Vec::new(), Vec::new());
    for (i, r) in retries.into_iter().enumerate() {
        let erased = last_delete
            .get(&(r.entity.clone(), r.entity_id.clone()))
            .is_some_and(|&d| i < d)
            && new_key_of(&r.change, &r.entity, source, mappings).is_none();
        if erased {
            dropped.push(r);
        } else {
            keep.push(r);
        }
    }
    (keep, dropped)
}

/// The parked delete that ends the parked history of a row which changed key before it ever
/// reached the target: `change` is that key change, `old_key` the key it leaves.
pub fn delete_of_old_key(
    change: &Change,
    entity: &str,
    old_key: &str,
    tx: &Transaction,
) -> Option<ParkedRow> {
    let old = change.old.clone()?;
    let delete = Change {
        op: ChangeOp::Delete,
        table: change.table.clone(),
        old: Some(old),
        new: None,
    };
    Some(ParkedRow {
        entity: entity.to_string(),
        entity_id: old_key.to_string(),
        source: tx.side,
        operation: ChangeOp::Delete.as_str(),
        waiting_for_entity: entity.to_string(),
        waiting_for_id: old_key.to_string(),
        raw: raw::encode(&delete),
        source_lsn: tx.commit_lsn,
        commit_ts: tx.commit_ts,
    })
}
