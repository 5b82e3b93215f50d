//! Planning legacy → SUPRA changes: inserts, updates (including key changes), deletes and
//! truncates of a mapped legacy table.

use std::collections::HashMap;

use chrono::Utc;
use supra_sync_core::{Change, ChangeOp, Row, Side, Transaction, Value};
use supra_sync_mapping::{
    Direction, EntityMapping, ResolvedContext, Role, TruncatePolicy, mint_supra_id,
};
use uuid::Uuid;

use super::plan::{Incoming, Outcome};
use super::{Applier, Planned, parse_key_text};
use crate::book::{self, MappingRow};
use crate::conflict;
use crate::{EngineError, park};

impl Applier {
    /// Plans one legacy → SUPRA change of `entity`.
    pub(super) async fn plan_forward(
        &mut self,
        tx: &Transaction,
        change: &Change,
        entity: &EntityMapping,
        role: Role,
        known: &mut HashMap<(String, String), Uuid>,
        planned: &mut Planned,
    ) -> Result<(), Outcome> {
        let name = entity.name().to_string();
        // Secondary and child rows recompute their parent's primary row.
        let row = match role {
            Role::Primary => match change.op {
                ChangeOp::Truncate => return self.plan_truncate(entity, planned).await,
                ChangeOp::Delete => {
                    let key = planned.log.entity_id.clone();
                    if self.parked_keys.contains(&(name.clone(), key.clone())) {
                        return Err(Outcome::Park { entity: name, key });
                    }
                    let Some(id) = known.get(&(name.clone(), key.clone())).copied() else {
                        return Err(Outcome::Skip("no SUPRA row is mapped to this key".into()));
                    };
                    let mut ctx = ResolvedContext::new(self.tenant_id, Utc::now());
                    ctx.supra_id = Some(id);
                    ctx.add_mapping(&name, &key, id);
                    planned.log.supra_id = Some(id);
                    planned.ops = entity.forward_delete(&key, &ctx).map_err(Outcome::eval)?;
                    if entity.direction() == Direction::Bidirectional {
                        planned.check = Some(self.check_for(
                            entity,
                            Side::Legacy,
                            &key,
                            id,
                            Incoming::delete(change, tx.commit_ts),
                        ));
                    }
                    return Ok(());
                }
                _ => {
                    let new = change
                        .new
                        .clone()
                        .ok_or_else(|| Outcome::Fail("change without a new image".into()))?;
                    if change.changes_key() {
                        let old_key = change.old.as_ref().map(Row::key_text).unwrap_or_default();
                        let new_key = new.key_text();
                        let old = (name.clone(), old_key.clone());
                        if self.parked_keys.contains(&old) {
                            if known.contains_key(&old) {
                                // On the target under the old key: re-key behind its parked
                                // changes, and queue the new key's changes behind the re-key.
                                self.parked_keys.insert((name.clone(), new_key));
                                planned.log.entity_id = old_key.clone();
                                return Err(Outcome::Park {
                                    entity: name,
                                    key: old_key,
                                });
                            }
                            // Never reached the target: its parked history ends with a delete
                            // and the row starts afresh under its new key.
                            planned
                                .parked
                                .extend(park::delete_of_old_key(change, &name, &old_key, tx));
                        } else if let Some(id) = known.remove(&old) {
                            known.insert((name.clone(), new_key.clone()), id);
                            planned.rekey = Some((name.clone(), old_key, new_key));
                        }
                    }
                    if new.values.contains(&Value::Unchanged) {
                        self.full_row(&new).await?.ok_or_else(|| {
                            Outcome::Skip("row no longer exists at the source".into())
                        })?
                    } else {
                        new
                    }
                }
            },
            Role::Secondary | Role::Child => {
                let image = change
                    .new
                    .as_ref()
                    .or(change.old.as_ref())
                    .ok_or_else(|| Outcome::Skip("no row image".into()))?;
                let needs = entity.forward_needs(role, image);
                let Some((_, parent_key)) = needs.parent else {
                    return Err(Outcome::Skip(
                        "the parent row cannot be identified from this image".into(),
                    ));
                };
                planned.log.entity_id = parent_key.clone();
                let key_values = parse_key_text(&parent_key);
                let parent = self
                    .source
                    .fetch_by_key(entity.legacy_table(), &key_values)
                    .await
                    .map_err(Outcome::Engine)?;
                match parent {
                    Some(row) => row,
                    None => {
                        return Err(Outcome::Skip(
                            "the parent row does not exist at the source".into(),
                        ));
                    }
                }
            }
        };
        let key = row.key_text();
        planned.log.entity_id = key.clone();
        if self.parked_keys.contains(&(name.clone(), key.clone())) {
            return Err(Outcome::Park { entity: name, key });
        }
        let needs = entity.forward_needs(Role::Primary, &row);
        let mut ctx = ResolvedContext::new(self.tenant_id, tx.commit_ts);
        for r in &needs.refs {
            if let Some(id) = known.get(&(r.entity.clone(), r.legacy_key.clone())) {
                ctx.add_mapping(&r.entity, &r.legacy_key, *id);
            }
        }
        for f in &needs.secondary {
            let rows = self.rows_for(f).await.map_err(Outcome::Engine)?;
            ctx.secondary.insert(f.table.clone(), rows);
        }
        // References read from joined rows (e.g. factura's person via its contrato) are only
        // known once those rows are fetched.
        let joined: Vec<(String, String)> = entity
            .joined_refs(&row, &ctx)
            .into_iter()
            .map(|r| (r.entity, r.legacy_key))
            .filter(|k| !known.contains_key(k))
            .collect();
        if !joined.is_empty() {
            let found = book::supra_ids(self.bookkeeping(), &joined)
                .await
                .map_err(Outcome::Engine)?;
            known.extend(found);
        }
        for r in entity.joined_refs(&row, &ctx) {
            if let Some(id) = known.get(&(r.entity.clone(), r.legacy_key.clone())) {
                ctx.add_mapping(&r.entity, &r.legacy_key, *id);
            }
        }
        for f in &needs.children {
            let rows = self.rows_for(f).await.map_err(Outcome::Engine)?;
            ctx.children
                .entry(f.table.clone())
                .or_default()
                .extend(rows);
        }
        let existing = known.get(&(name.clone(), key.clone())).copied();
        let id = existing.unwrap_or_else(|| mint_supra_id(&name, &key));
        ctx.supra_id = Some(id);
        ctx.add_mapping(&name, &key, id);
        planned.ops = entity.forward(&row, &ctx).map_err(Outcome::eval)?;
        planned.log.supra_id = Some(id);
        known.insert((name.clone(), key.clone()), id);
        if entity.direction() == Direction::Bidirectional {
            let incoming = Incoming::row(&row, conflict::row_hash(&row, &[]), tx.commit_ts);
            planned.check = Some(self.check_for(entity, Side::Legacy, &key, id, incoming));
        }
        planned.mappings.push(MappingRow {
            entity: name,
            legacy_table: entity.legacy_table().to_string(),
            legacy_id: key,
            supra_id: id,
            source: Side::Legacy,
            lsn: tx.commit_lsn,
            commit_ts: tx.commit_ts,
        });
        Ok(())
    }

    /// A legacy TRUNCATE: `refuse` logs it as failed and leaves SUPRA alone; `propagate`
    /// deletes every SUPRA row mapped to the entity.
    async fn plan_truncate(
        &self,
        entity: &EntityMapping,
        planned: &mut Planned,
    ) -> Result<(), Outcome> {
        planned.log.entity_id = "*".into();
        if entity.truncate_policy() == TruncatePolicy::Refuse {
            return Err(Outcome::Fail(format!(
                "TRUNCATE of {} refused by the mapping (on_truncate = refuse); SUPRA was not changed",
                entity.legacy_table()
            )));
        }
        let rows = self
            .bookkeeping()
            .query(
                "SELECT legacy_id::text, supra_id FROM supra_sync.sync_mappings WHERE entity_type = $1",
                &[&entity.name()],
            )
            .await
            .map_err(|e| Outcome::Engine(EngineError::sql("reading the mapped rows to truncate", e)))?;
        for r in rows {
            let (key, id): (String, Uuid) = (r.get(0), r.get(1));
            let mut ctx = ResolvedContext::new(self.tenant_id, Utc::now());
            ctx.supra_id = Some(id);
            ctx.add_mapping(entity.name(), &key, id);
            planned
                .ops
                .extend(entity.forward_delete(&key, &ctx).map_err(Outcome::eval)?);
        }
        Ok(())
    }

    /// The current source row of a change image with unchanged TOAST values (`None`: gone).
    pub(super) async fn full_row(&mut self, image: &Row) -> Result<Option<Row>, Outcome> {
        let key: Vec<Value> = image.key_values().into_iter().cloned().collect();
        self.source
            .fetch_by_key(&image.schema.table, &key)
            .await
            .map_err(Outcome::Engine)
    }
}
