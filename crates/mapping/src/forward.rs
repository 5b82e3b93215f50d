//! Legacy → SUPRA evaluation: needs, target operations, deletes and the conflict image.

use std::cmp::Ordering;

use supra_sync_core::{Row, TableName, Value};
use uuid::Uuid;

use crate::compile::MISSING;
use crate::context::{EvalError, FetchNeed, Needs, RefNeed, ResolvedContext, Role, TargetOp};
use crate::entity::{ColumnProg, EntityMapping};
use crate::expr::eval::{Bound, Env, Fault, eval, key_text};
use crate::ids::{derive_supra_id, mint_supra_id};
use crate::spec::DeletePolicy;

/// A joined row found for one join, and its binding.
type JoinedRow<'a> = (&'a Row, std::sync::Arc<[usize]>);

/// The evaluated SUPRA rows of one legacy row.
pub(crate) struct Evaluated {
    pub(crate) primary: Vec<Value>,
    pub(crate) also: Vec<Vec<Value>>,
}

pub(crate) fn fault(column: &str, table: &TableName, f: Fault) -> EvalError {
    match f {
        Fault::MissingRef { entity, legacy_key } => {
            EvalError::MissingReference { entity, legacy_key }
        }
        Fault::MissingLegacyId { entity, supra_id } => {
            EvalError::MissingLegacyId { entity, supra_id }
        }
        Fault::Unchanged(column) => EvalError::Unchanged { column },
        Fault::MissingColumn(column) => EvalError::MissingColumn {
            table: table.clone(),
            column,
        },
        Fault::Invalid(message) => EvalError::Invalid {
            column: column.to_string(),
            message,
        },
    }
}

fn value_at<'a>(row: &'a Row, map: &[usize], slot: usize) -> Option<&'a Value> {
    map.get(slot)
        .filter(|p| **p != MISSING)
        .map(|p| &row.values[*p])
}

/// Loose equality used to match joined and child rows to their parent.
fn same(a: &Value, b: &Value) -> bool {
    a == b || (!a.is_null() && a.to_text() == b.to_text())
}

/// Orders values for `order_by`: NULLs last, numbers numerically, the rest by type then text.
pub(crate) fn compare(a: &Value, b: &Value) -> Ordering {
    use crate::builtins::cast::to_decimal;
    match (a, b) {
        (Value::Null, Value::Null) => Ordering::Equal,
        (Value::Null, _) => Ordering::Greater,
        (_, Value::Null) => Ordering::Less,
        (
            Value::Int(_) | Value::Numeric(_) | Value::Float(_),
            Value::Int(_) | Value::Numeric(_) | Value::Float(_),
        ) => match (to_decimal(a), to_decimal(b)) {
            (Ok(Some(x)), Ok(Some(y))) => x.cmp(&y),
            _ => Ordering::Equal,
        },
        (Value::Date(x), Value::Date(y)) => x.cmp(y),
        (Value::Timestamp(x), Value::Timestamp(y)) => x.cmp(y),
        (Value::Timestamptz(x), Value::Timestamptz(y)) => x.cmp(y),
        _ => a.to_text().cmp(&b.to_text()),
    }
}

impl EntityMapping {
    fn bind_primary(&self, row: &Row) -> std::sync::Arc<[usize]> {
        self.binder.bind(&self.slots.names[0], &row.schema)
    }

    fn own_key(&self, row: &Row, map: &[usize]) -> Option<String> {
        let vals: Option<Vec<&Value>> = self
            .key_slots
            .iter()
            .map(|s| value_at(row, map, *s))
            .collect();
        key_text(&vals?)
    }

    /// The SUPRA id of the legacy row `legacy_key`: the context's, else its mapping, else minted.
    pub(crate) fn own_supra_id(&self, legacy_key: &str, ctx: &ResolvedContext) -> Uuid {
        ctx.supra_id
            .or_else(|| ctx.supra_id_of(&self.name, legacy_key))
            .unwrap_or_else(|| mint_supra_id(&self.name, legacy_key))
    }

    /// What must be fetched/resolved before [`EntityMapping::forward`] can run for this legacy
    /// row image, arriving in `role`. For Secondary and Child rows only `parent` is set: the
    /// engine recomputes that primary row (fetch it, then call `forward_needs(Primary, ..)`).
    pub fn forward_needs(&self, role: Role, row: &Row) -> Needs {
        let mut needs = Needs::default();
        match role {
            Role::Primary => {
                let map = self.bind_primary(row);
                let rows = [Some(Bound {
                    row,
                    map: &map,
                    names: &self.slots.names[0],
                })];
                let env = Env {
                    rows: &rows,
                    ctx: &EMPTY_CTX,
                    supra_id: Uuid::nil(),
                    legacy_key: None,
                };
                for (entity, args) in &self.refs {
                    let vals: Result<Vec<_>, _> = args.iter().map(|a| eval(a, &env)).collect();
                    let Ok(vals) = vals else { continue };
                    let refs: Vec<&Value> = vals.iter().map(|v| v.as_ref()).collect();
                    if let Some(legacy_key) = key_text(&refs) {
                        let need = RefNeed {
                            entity: entity.clone(),
                            legacy_key,
                        };
                        if !needs.refs.contains(&need) {
                            needs.refs.push(need);
                        }
                    }
                }
                let fetch = |table: &TableName, on: &[(String, usize)]| -> Option<FetchNeed> {
                    let key: Option<Vec<(String, Value)>> = on
                        .iter()
                        .map(|(c, slot)| {
                            value_at(row, &map, *slot)
                                .filter(|v| !v.is_null())
                                .map(|v| (c.clone(), v.clone()))
                        })
                        .collect();
                    Some(FetchNeed {
                        table: table.clone(),
                        key: key?,
                    })
                };
                needs.secondary = self
                    .joins
                    .iter()
                    .filter_map(|j| fetch(&j.table, &j.on))
                    .collect();
                needs.children = self
                    .children
                    .iter()
                    .filter_map(|c| fetch(&c.table, &c.on))
                    .collect();
            }
            Role::Secondary | Role::Child => {
                let links: Vec<&[(String, String)]> = match role {
                    Role::Secondary => self
                        .joins
                        .iter()
                        .filter(|j| j.table == row.schema.table)
                        .map(|j| j.on_names.as_slice())
                        .collect(),
                    _ => self
                        .children
                        .iter()
                        .filter(|c| c.table == row.schema.table)
                        .map(|c| c.on_names.as_slice())
                        .collect(),
                };
                for on in links {
                    let vals: Option<Vec<&Value>> = self
                        .legacy_key
                        .iter()
                        .map(|k| {
                            on.iter()
                                .find(|(_, ec)| ec == k)
                                .and_then(|(jc, _)| row.get(jc))
                        })
                        .collect();
                    if let Some(key) = vals.and_then(|v| key_text(&v)) {
                        needs.parent = Some((self.name.clone(), key));
                        break;
                    }
                }
            }
        }
        needs
    }

    /// For each join, the fetched row matching the join condition (and its binding).
    fn joined_rows<'r>(
        &self,
        row: &Row,
        map: &[usize],
        ctx: &'r ResolvedContext,
    ) -> Vec<Option<JoinedRow<'r>>> {
        self.joins
            .iter()
            .enumerate()
            .map(|(i, j)| {
                let candidates = ctx.secondary.get(&j.table)?;
                let found = candidates.iter().find(|r| {
                    j.on.iter()
                        .all(|(jc, slot)| match (r.get(jc), value_at(row, map, *slot)) {
                            (Some(a), Some(b)) => same(a, b),
                            _ => false,
                        })
                })?;
                Some((
                    found,
                    j.binder.bind(&self.slots.names[i + 1], &found.schema),
                ))
            })
            .collect()
    }

    /// The references whose keys come from joined rows (e.g. `ref('persona', c.cnttprsid)`
    /// in factura.toml), evaluated with the joined rows already fetched into `ctx.secondary`.
    /// `forward_needs` cannot know them before the fetch: call this after fetching the
    /// secondary needs, resolve them, then call `forward`. (Skipping it is safe: `forward`
    /// then reports `MissingReference` for exactly the key it lacks.)
    pub fn joined_refs(&self, row: &Row, ctx: &ResolvedContext) -> Vec<RefNeed> {
        let map = self.bind_primary(row);
        let join_maps = self.joined_rows(row, &map, ctx);
        let mut rows = vec![Some(Bound {
            row,
            map: &map,
            names: &self.slots.names[0],
        })];
        for (i, jm) in join_maps.iter().enumerate() {
            rows.push(jm.as_ref().map(|(r, m)| Bound {
                row: r,
                map: m,
                names: &self.slots.names[i + 1],
            }));
        }
        let env = Env {
            rows: &rows,
            ctx,
            supra_id: Uuid::nil(),
            legacy_key: None,
        };
        let mut out = Vec::new();
        for (entity, args) in &self.refs {
            if !args.iter().any(crate::compile::reads_joined) {
                continue;
            }
            let Ok(vals) = args
                .iter()
                .map(|a| eval(a, &env))
                .collect::<Result<Vec<_>, _>>()
            else {
                continue;
            };
            let refs: Vec<&Value> = vals.iter().map(|v| v.as_ref()).collect();
            if let Some(legacy_key) = key_text(&refs) {
                let need = RefNeed {
                    entity: entity.clone(),
                    legacy_key,
                };
                if !out.contains(&need) {
                    out.push(need);
                }
            }
        }
        out
    }

    pub(crate) fn evaluate(
        &self,
        row: &Row,
        ctx: &ResolvedContext,
    ) -> Result<Evaluated, EvalError> {
        let map = self.bind_primary(row);
        let key = self.own_key(row, &map).ok_or_else(|| EvalError::Invalid {
            column: self.legacy_key.join(","),
            message: format!("the legacy key of {} is NULL or missing", self.legacy_table),
        })?;
        let supra_id = self.own_supra_id(&key, ctx);
        let join_maps = self.joined_rows(row, &map, ctx);
        let mut rows: Vec<Option<Bound<'_>>> = Vec::with_capacity(1 + self.joins.len());
        rows.push(Some(Bound {
            row,
            map: &map,
            names: &self.slots.names[0],
        }));
        for (i, jm) in join_maps.iter().enumerate() {
            rows.push(jm.as_ref().map(|(r, m)| Bound {
                row: r,
                map: m,
                names: &self.slots.names[i + 1],
            }));
        }
        let env = Env {
            rows: &rows,
            ctx,
            supra_id,
            legacy_key: None,
        };
        let mut primary = Vec::with_capacity(self.primary_columns.len());
        primary.push(Value::Uuid(supra_id));
        if self.tenant_column.is_some() {
            primary.push(Value::Uuid(ctx.tenant_id));
        }
        eval_columns(&self.forward, &env, "", &mut primary)
            .map_err(|(c, f)| fault(c, &self.legacy_table, f))?;
        for child in &self.children {
            primary.push(self.aggregate(child, row, &map, ctx, supra_id)?);
        }
        let mut also = Vec::with_capacity(self.also.len());
        for a in &self.also {
            let mut vals = Vec::with_capacity(a.column_names.len());
            if a.id_column.is_some() {
                vals.push(Value::Uuid(derive_supra_id(supra_id, &a.table.name)));
            }
            if self.tenant_column.is_some() {
                vals.push(Value::Uuid(ctx.tenant_id));
            }
            let prefix = format!("{}.", a.table.name);
            eval_columns(&a.columns, &env, &prefix, &mut vals)
                .map_err(|(c, f)| fault(&format!("{prefix}{c}"), &self.legacy_table, f))?;
            also.push(vals);
        }
        Ok(Evaluated { primary, also })
    }

    fn aggregate(
        &self,
        child: &crate::entity::ChildProg,
        row: &Row,
        map: &[usize],
        ctx: &ResolvedContext,
        supra_id: Uuid,
    ) -> Result<Value, EvalError> {
        let empty = Vec::new();
        let candidates = ctx.children.get(&child.table).unwrap_or(&empty);
        let mut mine: Vec<&Row> = candidates
            .iter()
            .filter(|r| {
                child
                    .on
                    .iter()
                    .all(|(cc, slot)| match (r.get(cc), value_at(row, map, *slot)) {
                        (Some(a), Some(b)) => same(a, b),
                        _ => false,
                    })
            })
            .collect();
        mine.sort_by(|a, b| {
            for o in &child.order_by {
                let ord = compare(
                    a.get(o).unwrap_or(&Value::Null),
                    b.get(o).unwrap_or(&Value::Null),
                );
                if ord != Ordering::Equal {
                    return ord;
                }
            }
            Ordering::Equal
        });
        let mut items = Vec::with_capacity(mine.len());
        for r in mine {
            let cmap = child.binder.bind(&child.slots.names[0], &r.schema);
            let rows = [Some(Bound {
                row: r,
                map: &cmap,
                names: &child.slots.names[0],
            })];
            let env = Env {
                rows: &rows,
                ctx,
                supra_id,
                legacy_key: None,
            };
            let mut obj = serde_json::Map::new();
            for c in &child.element {
                let v = eval(&c.node, &env).map_err(|f| {
                    fault(&format!("{}[].{}", child.into, c.column), &child.table, f)
                })?;
                obj.insert(c.column.clone(), crate::builtins::json::to_json(&v));
            }
            items.push(serde_json::Value::Object(obj));
        }
        Ok(Value::Json(serde_json::Value::Array(items)))
    }

    /// Legacy → SUPRA: the target operations for one legacy row (an upsert of the primary SUPRA
    /// row, then one per `[[also]]` table). Pure: everything it reads is in `row` and `ctx`.
    pub fn forward(&self, row: &Row, ctx: &ResolvedContext) -> Result<Vec<TargetOp>, EvalError> {
        let ev = self.evaluate(row, ctx)?;
        let mut ops = Vec::with_capacity(1 + self.also.len());
        ops.push(TargetOp::Upsert {
            table: self.supra_tables[0].clone(),
            conflict_columns: self.supra_conflict.clone(),
            columns: self.primary_columns.clone(),
            values: ev.primary,
        });
        for (a, values) in self.also.iter().zip(ev.also) {
            ops.push(TargetOp::Upsert {
                table: a.table.clone(),
                conflict_columns: a.conflict.clone(),
                columns: a.column_names.clone(),
                values,
            });
        }
        Ok(ops)
    }

    /// The values of the primary SUPRA row only, in [`EntityMapping::supra_columns`] order —
    /// the fast path for bulk loads (COPY) that do not need per-row column names.
    pub fn forward_values(
        &self,
        row: &Row,
        ctx: &ResolvedContext,
    ) -> Result<Vec<Value>, EvalError> {
        Ok(self.evaluate(row, ctx)?.primary)
    }

    /// Legacy DELETE → SUPRA operations, per the entity's delete policy. With `Delete`, the
    /// `[[also]]` rows are deleted before the primary row (foreign keys point at it).
    pub fn forward_delete(
        &self,
        legacy_key: &str,
        ctx: &ResolvedContext,
    ) -> Result<Vec<TargetOp>, EvalError> {
        let supra_id = self.own_supra_id(legacy_key, ctx);
        let id = Value::Uuid(supra_id);
        Ok(match &self.delete {
            DeletePolicy::Ignore => Vec::new(),
            DeletePolicy::Delete => {
                let mut ops: Vec<TargetOp> = self
                    .also
                    .iter()
                    .filter_map(|a| {
                        let col = a.id_column.clone()?;
                        Some(TargetOp::Delete {
                            table: a.table.clone(),
                            key_columns: vec![col],
                            key_values: vec![Value::Uuid(derive_supra_id(supra_id, &a.table.name))],
                        })
                    })
                    .collect();
                ops.push(TargetOp::Delete {
                    table: self.supra_tables[0].clone(),
                    key_columns: vec![self.supra_id_column.clone()],
                    key_values: vec![id],
                });
                ops
            }
            DeletePolicy::SoftDelete { column, value } => vec![TargetOp::Update {
                table: self.supra_tables[0].clone(),
                key_columns: vec![self.supra_id_column.clone()],
                key_values: vec![id],
                columns: vec![column.clone()],
                values: vec![value.clone()],
            }],
        })
    }

    /// The SUPRA image the mapping produces for a legacy row, as a JSON object of the mapped
    /// columns only (no id, no tenant); `[[also]]` columns appear as `"table.column"`. Values
    /// use the same JSON form as `Row::to_json`, so it compares with the SUPRA row's image.
    pub fn forward_image(
        &self,
        row: &Row,
        ctx: &ResolvedContext,
    ) -> Result<serde_json::Value, EvalError> {
        let ev = self.evaluate(row, ctx)?;
        let skip = 1 + usize::from(self.tenant_column.is_some());
        let mut obj = serde_json::Map::new();
        for (c, v) in self.primary_columns.iter().zip(&ev.primary).skip(skip) {
            obj.insert(c.clone(), v.to_json());
        }
        for (a, vals) in self.also.iter().zip(&ev.also) {
            let skip =
                usize::from(a.id_column.is_some()) + usize::from(self.tenant_column.is_some());
            for (c, v) in a.column_names.iter().zip(vals).skip(skip) {
                obj.insert(format!("{}.{c}", a.table.name), v.to_json());
            }
        }
        Ok(serde_json::Value::Object(obj))
    }
}

/// Evaluates columns into `out`; on failure returns the failing column.
pub(crate) fn eval_columns<'c>(
    cols: &'c [ColumnProg],
    env: &Env<'_>,
    _prefix: &str,
    out: &mut Vec<Value>,
) -> Result<(), (&'c str, Fault)> {
    for c in cols {
        match eval(&c.node, env) {
            Ok(v) => out.push(v.into_owned()),
            Err(f) => return Err((&c.column, f)),
        }
    }
    Ok(())
}

static EMPTY_CTX: std::sync::LazyLock<ResolvedContext> =
    std::sync::LazyLock::new(|| ResolvedContext::new(Uuid::nil(), chrono::DateTime::UNIX_EPOCH));
