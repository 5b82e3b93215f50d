//! Planning SUPRA → legacy changes of bidirectional entities, and legacy ids for rows born
//! in SUPRA.

use std::collections::HashMap;

use supra_sync_core::{Change, ChangeOp, Side, Transaction, Value};
use supra_sync_mapping::{Direction, EntityMapping, IdStrategy, ResolvedContext, TargetOp};
use uuid::Uuid;

use super::plan::{Incoming, Outcome};
use super::{Applier, Planned, parse_key_text};
use crate::EngineError;
use crate::book::{self, MappingRow};
use crate::conflict;

impl Applier {
    /// `known` holds the identities planned earlier in the batch (legacy key → SUPRA id), not
    /// yet in `sync_mappings`: a row created and changed in one batch keeps one legacy id.
    pub(super) async fn plan_reverse(
        &mut self,
        tx: &Transaction,
        change: &Change,
        entity: &EntityMapping,
        known: &mut HashMap<(String, String), Uuid>,
        planned: &mut Planned,
    ) -> Result<(), Outcome> {
        if entity.direction() != Direction::Bidirectional {
            return Err(Outcome::Skip("entity is not bidirectional".into()));
        }
        let name = entity.name().to_string();
        let image = change
            .identity()
            .ok_or_else(|| Outcome::Skip("no row image".into()))?;
        let supra_id = match image.get(entity.supra_id_column()) {
            Some(Value::Uuid(u)) => *u,
            _ => {
                return Err(Outcome::Fail(format!(
                    "SUPRA row has no {} uuid",
                    entity.supra_id_column()
                )));
            }
        };
        planned.log.supra_id = Some(supra_id);
        let planned_before = known
            .iter()
            .find(|((e, _), id)| *e == name && **id == supra_id)
            .map(|((_, k), _)| k.clone());
        let existing = match planned_before {
            Some(k) => Some(k),
            None => book::legacy_ids(self.bookkeeping(), &[(name.clone(), supra_id)])
                .await
                .map_err(Outcome::Engine)?
                .remove(&(name.clone(), supra_id)),
        };
        if change.op == ChangeOp::Truncate {
            return Err(Outcome::Fail(
                "TRUNCATE on SUPRA is never propagated to legacy".into(),
            ));
        }
        if change.op == ChangeOp::Delete {
            let Some(legacy_key) = existing else {
                return Err(Outcome::Skip(
                    "no legacy row is mapped to this SUPRA row".into(),
                ));
            };
            planned.log.entity_id = legacy_key.clone();
            planned.ops = vec![TargetOp::Delete {
                table: entity.legacy_table().clone(),
                key_columns: entity.legacy_key().to_vec(),
                key_values: parse_key_text(&legacy_key),
            }];
            planned.check = Some(self.check_for(
                entity,
                Side::Supra,
                &legacy_key,
                supra_id,
                Incoming::delete(change, tx.commit_ts),
            ));
            return Ok(());
        }
        let mut row = change
            .new
            .clone()
            .ok_or_else(|| Outcome::Fail("change without a new image".into()))?;
        if row.values.contains(&Value::Unchanged) {
            row = self
                .full_row(&row)
                .await?
                .ok_or_else(|| Outcome::Skip("row no longer exists in SUPRA".into()))?;
        }
        let legacy_key = match existing {
            Some(k) => k,
            None => self.allocate_legacy_id(entity).await?,
        };
        known.insert((name.clone(), legacy_key.clone()), supra_id);
        planned.log.entity_id = legacy_key.clone();
        if self
            .parked_keys
            .contains(&(name.clone(), legacy_key.clone()))
        {
            return Err(Outcome::Park {
                entity: name,
                key: legacy_key,
            });
        }
        let needs = entity.reverse_needs(&row);
        let refs: Vec<(String, Uuid)> = needs
            .reverse_refs
            .iter()
            .map(|r| (r.entity.clone(), r.supra_id))
            .collect();
        let found = book::legacy_ids(self.bookkeeping(), &refs)
            .await
            .map_err(Outcome::Engine)?;
        let mut ctx = ResolvedContext::new(self.tenant_id, tx.commit_ts);
        for ((e, id), k) in &found {
            ctx.add_mapping(e, k, *id);
        }
        ctx.add_mapping(&name, &legacy_key, supra_id);
        ctx.supra_id = Some(supra_id);
        planned.ops = entity.reverse(&row, &ctx).map_err(Outcome::eval)?;
        let hash = conflict::row_hash(&row, &entity.compared_supra_columns());
        let incoming = Incoming::row(&row, hash, tx.commit_ts);
        planned.check = Some(self.check_for(entity, Side::Supra, &legacy_key, supra_id, incoming));
        planned.mappings.push(MappingRow {
            entity: name,
            legacy_table: entity.legacy_table().to_string(),
            legacy_id: legacy_key,
            supra_id,
            source: Side::Supra,
            lsn: tx.commit_lsn,
            commit_ts: tx.commit_ts,
        });
        Ok(())
    }

    /// A legacy id for a row born in SUPRA, by the entity's strategy (never `max()+1`).
    async fn allocate_legacy_id(&mut self, entity: &EntityMapping) -> Result<String, Outcome> {
        match entity.id_strategy() {
            Some(IdStrategy::Sequence(seq)) => {
                let row = self
                    .target
                    .query_one("SELECT nextval($1::text::regclass)::text", &[seq])
                    .await
                    .map_err(|e| Outcome::Engine(EngineError::sql(format!("nextval({seq})"), e)))?;
                Ok(row.get(0))
            }
            Some(IdStrategy::Range { start, end }) => {
                let next = match self.range_next.get(entity.name()) {
                    Some(n) => *n,
                    None => {
                        let key_col = entity.legacy_key().first().cloned().unwrap_or_default();
                        let sql = format!(
                            "SELECT COALESCE(max({k}) + 1, $1)::bigint FROM {t} WHERE {k} BETWEEN $1 AND $2",
                            k = supra_sync_core::quote_ident(&key_col),
                            t = entity.legacy_table().quoted()
                        );
                        let row =
                            self.target
                                .query_one(&sql, &[start, end])
                                .await
                                .map_err(|e| {
                                    Outcome::Engine(EngineError::sql(
                                        "reading the reserved id range",
                                        e,
                                    ))
                                })?;
                        row.get::<_, i64>(0)
                    }
                };
                if next > *end {
                    return Err(Outcome::Fail(format!(
                        "the reserved legacy id range {start}..={end} of {} is exhausted",
                        entity.name()
                    )));
                }
                self.range_next.insert(entity.name().to_string(), next + 1);
                Ok(next.to_string())
            }
            None => Err(Outcome::Fail(format!(
                "entity {} has no id strategy for rows born in SUPRA",
                entity.name()
            ))),
        }
    }
}
