//! SUPRA → legacy evaluation for bidirectional entities.
//!
//! The row's own legacy key comes from `sync_mappings` or, for a row born in SUPRA, from the
//! entity's id strategy (allocated by the engine, never `max()+1`); either way the engine puts
//! it in [`ResolvedContext::legacy_ids`] after [`EntityMapping::reverse_needs`] asked for it.
//! Rows of another tenant are not written back (the legacy database is CEA Querétaro's only).

use supra_sync_core::{Row, Value};
use uuid::Uuid;

use crate::compile::MISSING;
use crate::context::{EvalError, Needs, ResolvedContext, ReverseRefNeed, TargetOp};
use crate::entity::EntityMapping;
use crate::expr::eval::{Bound, Env, eval};
use crate::forward::{eval_columns, fault};
use crate::spec::Direction;

impl EntityMapping {
    fn reverse_id(&self, row: &Row, map: &[usize], slot: usize) -> Option<Uuid> {
        match map
            .get(slot)
            .filter(|p| **p != MISSING)
            .map(|p| &row.values[*p])?
        {
            Value::Uuid(u) => Some(*u),
            Value::Text(t) => Uuid::parse_str(t).ok(),
            _ => None,
        }
    }

    /// What must be resolved before [`EntityMapping::reverse`] can run for this SUPRA row:
    /// first the row's own legacy id (`reverse_refs[0]`, entity = this entity), then the legacy
    /// ids of the SUPRA rows its `legacy_ref()` calls point at.
    pub fn reverse_needs(&self, row: &Row) -> Needs {
        let mut needs = Needs::default();
        let Some(rev) = &self.reverse else {
            return needs;
        };
        let map = rev.binder.bind(&rev.slots.names[0], &row.schema);
        if let Some(id) = self.reverse_id(row, &map, rev.id_slot) {
            needs.reverse_refs.push(ReverseRefNeed {
                entity: self.name.clone(),
                supra_id: id,
            });
        }
        let ctx = ResolvedContext::new(Uuid::nil(), chrono::DateTime::UNIX_EPOCH);
        let rows = [Some(Bound {
            row,
            map: &map,
            names: &rev.slots.names[0],
        })];
        let env = Env {
            rows: &rows,
            ctx: &ctx,
            supra_id: Uuid::nil(),
            legacy_key: None,
        };
        for (entity, arg) in &rev.legacy_refs {
            if let Ok(v) = eval(arg, &env) {
                let id = match v.as_ref() {
                    Value::Uuid(u) => Some(*u),
                    Value::Text(t) => Uuid::parse_str(t.trim()).ok(),
                    _ => None,
                };
                if let Some(supra_id) = id {
                    let need = ReverseRefNeed {
                        entity: entity.clone(),
                        supra_id,
                    };
                    if !needs.reverse_refs.contains(&need) {
                        needs.reverse_refs.push(need);
                    }
                }
            }
        }
        needs
    }

    /// SUPRA → legacy: an upsert of the legacy row (conflict on the legacy key). Returns no
    /// operation for a row of another tenant.
    pub fn reverse(&self, row: &Row, ctx: &ResolvedContext) -> Result<Vec<TargetOp>, EvalError> {
        let rev = match (&self.reverse, self.direction) {
            (Some(rev), Direction::Bidirectional) => rev,
            _ => {
                return Err(EvalError::NotBidirectional {
                    entity: self.name.clone(),
                });
            }
        };
        let map = rev.binder.bind(&rev.slots.names[0], &row.schema);
        let tenant = rev.tenant_slot.and_then(|slot| {
            map.get(slot)
                .filter(|p| **p != MISSING)
                .map(|p| &row.values[*p])
        });
        if let Some(Value::Uuid(t)) = tenant
            && *t != ctx.tenant_id
        {
            return Ok(Vec::new());
        }
        let id = self
            .reverse_id(row, &map, rev.id_slot)
            .ok_or_else(|| EvalError::Invalid {
                column: self.supra_id_column.clone(),
                message: format!("the SUPRA row has no {} uuid", self.supra_id_column),
            })?;
        let legacy_key =
            ctx.legacy_id_of(&self.name, id)
                .ok_or_else(|| EvalError::MissingLegacyId {
                    entity: self.name.clone(),
                    supra_id: id,
                })?;
        let rows = [Some(Bound {
            row,
            map: &map,
            names: &rev.slots.names[0],
        })];
        let env = Env {
            rows: &rows,
            ctx,
            supra_id: id,
            legacy_key: Some(legacy_key),
        };
        let mut values = Vec::with_capacity(rev.columns.len());
        eval_columns(&rev.columns, &env, "", &mut values)
            .map_err(|(c, f)| fault(c, &self.supra_tables[0], f))?;
        Ok(vec![TargetOp::Upsert {
            table: self.legacy_table.clone(),
            conflict_columns: self.legacy_key.clone(),
            columns: rev.column_names.clone(),
            values,
        }])
    }
}
