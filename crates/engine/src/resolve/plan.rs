//! Turning a choice into writes on each side, through the mappings.
//!
//! | choice        | legacy                         | SUPRA                                   |
//! |---------------|--------------------------------|-----------------------------------------|
//! | legacy wins   | kept                           | `forward(legacy row)` (or its delete)   |
//! | SUPRA wins    | `reverse(SUPRA row)` (or delete) | kept                                  |
//! | merge         | `reverse(merged SUPRA row)`    | merged row: each column from its side   |
//!
//! A write that would not change the row (it already holds that version) is dropped, so the
//! side that wins is not touched at all.

use std::collections::BTreeMap;

use serde::Serialize;
use serde_json::Value as Json;
use supra_sync_core::{Row, Side, Value, quote_ident, quote_literal};
use supra_sync_mapping::{EntityMapping, ResolvedContext, TargetOp};

use super::ResolveError;
use super::compare::{self, Comparison};
use super::image::{row_texts, value_text};
use super::merge::{Choice, MergeSpec};
use super::rows::Identity;

/// The writes of a resolution.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Plan {
    /// Writes on legacy (under the SUPRA pipeline's origin).
    #[serde(skip)]
    pub legacy_ops: Vec<TargetOp>,
    /// Writes on SUPRA (under the legacy pipeline's origin).
    #[serde(skip)]
    pub supra_ops: Vec<TargetOp>,
    /// The writes as SQL text (values inlined for reading; executed with parameters).
    pub statements: Vec<String>,
    /// The legacy row now (`None`: no row).
    pub legacy_before: Option<Json>,
    /// The SUPRA row now (`None`: no row).
    pub supra_before: Option<Json>,
    /// The legacy row after the resolution (`None`: no row).
    pub legacy_after: Option<Json>,
    /// The SUPRA row after the resolution (`None`: no row).
    pub supra_after: Option<Json>,
}

/// The current rows with their mapping contexts.
pub struct Current<'a> {
    /// Legacy row and its forward context.
    pub legacy: Option<compare::Side<'a>>,
    /// SUPRA row and its reverse context.
    pub supra: Option<compare::Side<'a>>,
    /// A missing winning row may be propagated as a delete: the conflict recorded that side
    /// as having no row (not merely as not recorded, like a unique violation does).
    pub deletes_allowed: bool,
}

fn no_delete(gone: &str, other: &str) -> ResolveError {
    ResolveError::Refused(format!(
        "the {gone} row does not exist, and this conflict did not record its deletion: choosing {gone} would delete the {other} row\nhint: fix the data and choose the side that has the row"
    ))
}

fn eval_err(side: &str) -> impl Fn(supra_sync_mapping::EvalError) -> ResolveError + '_ {
    move |e| {
        ResolveError::Refused(format!(
            "the {side} row cannot be mapped with the current mapping files: {e}\nhint: fix the mapping (supra-sync mappings check) or choose the other side"
        ))
    }
}

/// Builds the writes for `choice` from the current rows.
pub fn build(
    entity: &EntityMapping,
    choice: &Choice,
    id: &Identity,
    rows: &Current<'_>,
    comparison: &Comparison,
) -> Result<Plan, ResolveError> {
    let (legacy_ops, supra_ops) = match choice {
        Choice::LegacyWins => (Vec::new(), legacy_version(entity, id, rows)?),
        Choice::SupraWins => (supra_version(entity, id, rows)?, Vec::new()),
        Choice::Merge(spec) => merged(entity, spec, rows, comparison)?,
    };
    let legacy_ops = drop_noops(legacy_ops, rows.legacy.as_ref().map(|s| s.row));
    let supra_ops = drop_noops(supra_ops, rows.supra.as_ref().map(|s| s.row));
    let mut statements: Vec<String> = legacy_ops
        .iter()
        .map(|op| format!("-- legacy\n{}", render(op)))
        .collect();
    statements.extend(
        supra_ops
            .iter()
            .map(|op| format!("-- SUPRA\n{}", render(op))),
    );
    Ok(Plan {
        legacy_before: rows.legacy.as_ref().map(|s| row_texts(s.row)),
        supra_before: rows.supra.as_ref().map(|s| row_texts(s.row)),
        legacy_after: after(rows.legacy.as_ref().map(|s| s.row), &legacy_ops),
        supra_after: after(rows.supra.as_ref().map(|s| s.row), &supra_ops),
        legacy_ops,
        supra_ops,
        statements,
    })
}

fn legacy_version(
    entity: &EntityMapping,
    id: &Identity,
    rows: &Current<'_>,
) -> Result<Vec<TargetOp>, ResolveError> {
    match (&rows.legacy, &rows.supra) {
        (Some(l), _) => entity.forward(l.row, l.ctx).map_err(eval_err("legacy")),
        (None, Some(_)) if !rows.deletes_allowed => Err(no_delete("legacy", "SUPRA")),
        (None, Some(_)) => {
            let mut ctx = ResolvedContext::new(uuid::Uuid::nil(), chrono::Utc::now());
            ctx.supra_id = Some(id.supra_id);
            ctx.add_mapping(&id.entity, &id.legacy_key, id.supra_id);
            entity
                .forward_delete(&id.legacy_key, &ctx)
                .map_err(eval_err("legacy"))
        }
        (None, None) => Ok(Vec::new()),
    }
}

fn supra_version(
    entity: &EntityMapping,
    id: &Identity,
    rows: &Current<'_>,
) -> Result<Vec<TargetOp>, ResolveError> {
    match (&rows.supra, &rows.legacy) {
        (Some(r), _) => {
            let ops = entity.reverse(r.row, r.ctx).map_err(eval_err("SUPRA"))?;
            if ops.is_empty() {
                return Err(ResolveError::Refused(
                    "the SUPRA row belongs to another tenant; it is not written to legacy".into(),
                ));
            }
            Ok(ops)
        }
        (None, Some(_)) if !rows.deletes_allowed => Err(no_delete("SUPRA", "legacy")),
        (None, Some(_)) => Ok(vec![TargetOp::Delete {
            table: entity.legacy_table().clone(),
            key_columns: entity.legacy_key().to_vec(),
            key_values: crate::apply::parse_key_text(&id.legacy_key),
        }]),
        (None, None) => Ok(Vec::new()),
    }
}

/// The side of every SUPRA image column under `spec`, or a clear refusal.
fn sides(
    spec: &MergeSpec,
    entity: &EntityMapping,
    comparison: &Comparison,
) -> Result<BTreeMap<String, Side>, ResolveError> {
    let mut chosen: BTreeMap<String, Side> = BTreeMap::new();
    for (name, side) in &spec.columns {
        let targets = comparison.supra_columns_for(name);
        if targets.is_empty() {
            let known: Vec<&str> = comparison.supra.iter().map(|l| l.column.as_str()).collect();
            return Err(ResolveError::BadMerge(format!(
                "{name} is not a SUPRA column of {} nor a legacy column feeding one\nhint: SUPRA columns: {}",
                entity.name(),
                known.join(", ")
            )));
        }
        for t in targets {
            if chosen.insert(t.clone(), *side).is_some_and(|s| s != *side) {
                return Err(ResolveError::BadMerge(format!(
                    "column {t} is given both sides (through {name})"
                )));
            }
        }
    }
    let mut missing = Vec::new();
    for line in &comparison.supra {
        if chosen.contains_key(&line.column) {
            continue;
        }
        match spec.default {
            // Filled with the time of the write: the existing value is kept.
            _ if line.volatile => {
                chosen.insert(line.column.clone(), Side::Supra);
            }
            Some(d) => {
                chosen.insert(line.column.clone(), d);
            }
            None if line.differs => missing.push(line.column.clone()),
            None => {
                chosen.insert(line.column.clone(), Side::Supra);
            }
        }
    }
    if !missing.is_empty() {
        return Err(ResolveError::BadMerge(format!(
            "no side chosen for the differing column(s) {}\nhint: add {}=legacy|supra, or *=legacy / *=supra for every column not named",
            missing.join(", "),
            missing[0]
        )));
    }
    Ok(chosen)
}

fn merged(
    entity: &EntityMapping,
    spec: &MergeSpec,
    rows: &Current<'_>,
    comparison: &Comparison,
) -> Result<(Vec<TargetOp>, Vec<TargetOp>), ResolveError> {
    let (Some(l), Some(r)) = (&rows.legacy, &rows.supra) else {
        let gone = if rows.legacy.is_none() {
            "legacy"
        } else {
            "SUPRA"
        };
        return Err(ResolveError::BadMerge(format!(
            "a merge needs both rows, and the {gone} row does not exist\nhint: choose --legacy-wins or --supra-wins"
        )));
    };
    let chosen = sides(spec, entity, comparison)?;
    let mut supra_ops = entity.forward(l.row, l.ctx).map_err(eval_err("legacy"))?;
    let mut merged_row: Row = r.row.clone();
    if let Some(TargetOp::Upsert {
        columns, values, ..
    }) = supra_ops.first_mut()
    {
        for (c, v) in columns.iter().zip(values.iter_mut()) {
            match chosen.get(c) {
                Some(Side::Supra) => {
                    *v = r.row.get(c).cloned().unwrap_or(Value::Null);
                }
                Some(Side::Legacy) => {
                    if let Some(i) = merged_row.schema.index_of(c) {
                        merged_row.values[i] = v.clone();
                    }
                }
                None => {}
            }
        }
    }
    let legacy_ops = entity
        .reverse(&merged_row, r.ctx)
        .map_err(eval_err("merged"))?;
    Ok((legacy_ops, supra_ops))
}

/// Drops the upsert of `row` when it already holds every value written.
fn drop_noops(ops: Vec<TargetOp>, row: Option<&Row>) -> Vec<TargetOp> {
    let Some(row) = row else { return ops };
    ops.into_iter()
        .filter(|op| match op {
            TargetOp::Upsert {
                table,
                columns,
                values,
                ..
            } if *table == row.schema.table => columns.iter().zip(values).any(|(c, v)| {
                let Some(i) = row.schema.index_of(c) else {
                    return true;
                };
                let ty = row.schema.columns[i].pg_type;
                value_text(ty, v) != value_text(ty, &row.values[i])
            }),
            _ => true,
        })
        .collect()
}

/// The row after `ops` (only the ops on the row's own table are known).
fn after(row: Option<&Row>, ops: &[TargetOp]) -> Option<Json> {
    let mut current: Option<Json> = row.map(row_texts);
    for op in ops {
        match op {
            TargetOp::Delete { table, .. } if row.is_none_or(|r| r.schema.table == *table) => {
                current = None
            }
            TargetOp::Upsert {
                table,
                columns,
                values,
                ..
            }
            | TargetOp::Update {
                table,
                columns,
                values,
                ..
            } if row.is_none_or(|r| r.schema.table == *table) => {
                let obj = current.get_or_insert_with(|| Json::Object(Default::default()));
                if let Some(map) = obj.as_object_mut() {
                    for (c, v) in columns.iter().zip(values) {
                        let ty = row.and_then(|r| {
                            r.schema.index_of(c).map(|i| r.schema.columns[i].pg_type)
                        });
                        let text = match ty {
                            Some(ty) => value_text(ty, v),
                            None => v.to_text(),
                        };
                        map.insert(c.clone(), text.map_or(Json::Null, Json::String));
                    }
                }
            }
            _ => {}
        }
    }
    current
}

fn literal(v: &Value) -> String {
    v.to_text()
        .map_or("NULL".to_string(), |t| quote_literal(&t))
}

fn idents(cols: &[String]) -> String {
    cols.iter()
        .map(|c| quote_ident(c))
        .collect::<Vec<_>>()
        .join(", ")
}

fn pairs(cols: &[String], vals: &[Value], separator: &str) -> String {
    cols.iter()
        .zip(vals)
        .map(|(c, v)| format!("{} = {}", quote_ident(c), literal(v)))
        .collect::<Vec<_>>()
        .join(separator)
}

/// The SQL an operation amounts to, values inlined (for reading only).
pub fn render(op: &TargetOp) -> String {
    match op {
        TargetOp::Upsert {
            table,
            conflict_columns,
            columns,
            values,
        } => {
            let sets: Vec<String> = columns
                .iter()
                .filter(|c| !conflict_columns.contains(c))
                .map(|c| format!("{0} = EXCLUDED.{0}", quote_ident(c)))
                .collect();
            format!(
                "INSERT INTO {} ({})\n  VALUES ({})\n  ON CONFLICT ({}) DO UPDATE SET {};",
                table.quoted(),
                idents(columns),
                values.iter().map(literal).collect::<Vec<_>>().join(", "),
                idents(conflict_columns),
                sets.join(", ")
            )
        }
        TargetOp::Update {
            table,
            key_columns,
            key_values,
            columns,
            values,
        } => format!(
            "UPDATE {} SET {} WHERE {};",
            table.quoted(),
            pairs(columns, values, ", "),
            pairs(key_columns, key_values, " AND ")
        ),
        TargetOp::Delete {
            table,
            key_columns,
            key_values,
        } => format!(
            "DELETE FROM {} WHERE {};",
            table.quoted(),
            pairs(key_columns, key_values, " AND ")
        ),
    }
}
