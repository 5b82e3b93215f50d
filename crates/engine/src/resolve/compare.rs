//! Side-by-side comparison of an entity's legacy and SUPRA rows, in both schemas' column
//! names, with the mapping's column relations.
//!
//! ```text
//!  legacy row L ──forward──► F (SUPRA terms)     SUPRA line:  column · fed by · F · R · differs
//!  SUPRA row  R ──reverse──► V (legacy terms)    legacy line: column · fed by · L · V · differs
//! ```
//!
//! Which legacy column feeds which SUPRA column is found by evaluation, not by reading the
//! expressions: a legacy column feeds a SUPRA column when changing its value (to the other
//! side's value, or to NULL) changes what the mapping produces there; likewise backwards.
//! Columns whose value cannot be varied that way show no relation ("where possible").

use serde::Serialize;
use supra_sync_core::{PgType, Row, Value};
use supra_sync_mapping::{EntityMapping, ResolvedContext, TargetOp};

use super::image::value_text;

/// Values by column name.
pub type Values = Vec<(String, Value)>;

/// One SUPRA column of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct SupraLine {
    /// SUPRA column.
    pub column: String,
    /// Legacy columns it is computed from.
    pub fed_by: Vec<String>,
    /// The legacy version, mapped forward.
    pub legacy: Option<String>,
    /// The SUPRA version.
    pub supra: Option<String>,
    /// The last synced version, when known.
    pub last_synced: Option<Option<String>>,
    /// The mapping fills it with the time of the write (`now()`): never a difference.
    pub volatile: bool,
    /// Whether the two versions differ.
    pub differs: bool,
}

/// One legacy column of the comparison.
#[derive(Debug, Clone, Serialize)]
pub struct LegacyLine {
    /// Legacy column.
    pub column: String,
    /// SUPRA columns it is computed from (reverse mapping).
    pub fed_by: Vec<String>,
    /// The legacy version.
    pub legacy: Option<String>,
    /// The SUPRA version, mapped back.
    pub supra: Option<String>,
    /// The last synced version, when known.
    pub last_synced: Option<Option<String>>,
    /// The mapping fills it with the time of the write (`now()`): never a difference.
    pub volatile: bool,
    /// Whether the two versions differ.
    pub differs: bool,
}

/// Both views of one entity.
#[derive(Debug, Clone, Default, Serialize)]
pub struct Comparison {
    /// By SUPRA column (the image the conflict check compares).
    pub supra: Vec<SupraLine>,
    /// By legacy column (what `[reverse]` writes).
    pub legacy: Vec<LegacyLine>,
}

/// A row, its mapping context and the values the mapping produces from it.
pub struct Side<'a> {
    /// The row.
    pub row: &'a Row,
    /// Its context.
    pub ctx: &'a ResolvedContext,
}

fn primary_values(ops: &[TargetOp]) -> Vec<(String, Value)> {
    match ops.first() {
        Some(TargetOp::Upsert {
            columns, values, ..
        }) => columns
            .iter()
            .cloned()
            .zip(values.iter().cloned())
            .collect(),
        _ => Vec::new(),
    }
}

fn text_in(row: Option<&Row>, column: &str, v: &Value) -> Option<String> {
    let ty = row
        .and_then(|r| r.schema.columns.iter().find(|c| c.name == column))
        .map(|c| c.pg_type);
    match ty {
        Some(ty) => value_text(ty, v),
        None => v.to_text(),
    }
}

fn get(values: &[(String, Value)], column: &str) -> Option<Value> {
    values
        .iter()
        .find(|(c, _)| c == column)
        .map(|(_, v)| v.clone())
}

/// The SUPRA values `forward` gives for a legacy row (primary table, by column).
pub fn forward_values(entity: &EntityMapping, l: &Side<'_>) -> Option<Vec<(String, Value)>> {
    entity
        .forward(l.row, l.ctx)
        .ok()
        .map(|ops| primary_values(&ops))
}

/// The legacy values `reverse` gives for a SUPRA row (by column).
pub fn reverse_values(entity: &EntityMapping, r: &Side<'_>) -> Option<Vec<(String, Value)>> {
    entity
        .reverse(r.row, r.ctx)
        .ok()
        .map(|ops| primary_values(&ops))
}

/// The outputs that depend on the time of the write: evaluated at two instants, they differ.
fn volatile(
    ctx: &ResolvedContext,
    eval: impl Fn(&ResolvedContext) -> Option<Values>,
) -> Vec<String> {
    let mut later = ctx.clone();
    later.now += chrono::Duration::days(1);
    let (Some(a), Some(b)) = (eval(ctx), eval(&later)) else {
        return Vec::new();
    };
    a.into_iter()
        .filter(|(c, v)| get(&b, c).map(|x| x.to_text()) != Some(v.to_text()))
        .map(|(c, _)| c)
        .collect()
}

/// A non-NULL value of the column's type, to vary a NULL input.
fn sample(row: &Row, column: &str) -> Option<Value> {
    let ty = row
        .schema
        .columns
        .iter()
        .find(|c| c.name == column)?
        .pg_type;
    let text = match ty {
        PgType::Bool => "t",
        PgType::Date => "2001-02-03",
        PgType::Timestamp => "2001-02-03 04:05:06",
        PgType::Timestamptz => "2001-02-03 04:05:06+00",
        PgType::Uuid => "00000000-0000-0000-0000-000000000001",
        PgType::Json | PgType::Jsonb => "{}",
        PgType::TextArray => "{x}",
        _ if ty.is_numeric() => "1",
        _ if ty.is_textual() => "X",
        _ => return None,
    };
    Value::parse_text(ty, text).ok()
}

fn with_value(row: &Row, column: &str, v: Value) -> Row {
    let mut copy = row.clone();
    if let Some(i) = copy.schema.index_of(column) {
        copy.values[i] = v;
    }
    copy
}

/// Varies each `columns` of `row` and reports which outputs change: `(input, outputs)`.
fn dependencies(
    row: &Row,
    columns: &[String],
    alternative: impl Fn(&str) -> Option<Value>,
    eval: impl Fn(&Row) -> Option<Vec<(String, Value)>>,
) -> Vec<(String, Vec<String>)> {
    let Some(base) = eval(row) else {
        return Vec::new();
    };
    let mut out = Vec::new();
    for col in columns {
        let current = row.get(col).cloned().unwrap_or(Value::Null);
        let alt = match alternative(col) {
            Some(v) if v.to_text() != current.to_text() => v,
            _ if current != Value::Null => Value::Null,
            _ => match sample(row, col) {
                Some(v) => v,
                None => continue,
            },
        };
        let Some(varied) = eval(&with_value(row, col, alt)) else {
            continue;
        };
        let changed: Vec<String> = base
            .iter()
            .filter(|(c, v)| get(&varied, c).map(|x| x.to_text()) != Some(v.to_text()))
            .map(|(c, _)| c.clone())
            .collect();
        out.push((col.clone(), changed));
    }
    out
}

/// Compares a legacy row and a SUPRA row (either may be missing). `last` holds the last
/// synced version as (SUPRA values, legacy values) when known.
pub fn compare(
    entity: &EntityMapping,
    supra_columns: &[String],
    legacy: Option<Side<'_>>,
    supra: Option<Side<'_>>,
    last: Option<&(Values, Values)>,
) -> Comparison {
    let f = legacy.as_ref().and_then(|l| forward_values(entity, l));
    let v = supra.as_ref().and_then(|r| reverse_values(entity, r));
    let legacy_row = legacy.as_ref().map(|l| l.row);
    let supra_row = supra.as_ref().map(|r| r.row);
    // Legacy column → SUPRA columns it feeds.
    let feeds: Vec<(String, Vec<String>)> = match &legacy {
        Some(l) => {
            let cols: Vec<String> = l
                .row
                .schema
                .columns
                .iter()
                .filter(|c| !c.key)
                .map(|c| c.name.clone())
                .collect();
            dependencies(
                l.row,
                &cols,
                |c| v.as_ref().and_then(|v| get(v, c)),
                |row| forward_values(entity, &Side { row, ctx: l.ctx }),
            )
        }
        None => Vec::new(),
    };
    // SUPRA column → legacy columns it feeds.
    let back: Vec<(String, Vec<String>)> = match &supra {
        Some(r) => dependencies(
            r.row,
            supra_columns,
            |c| f.as_ref().and_then(|f| get(f, c)),
            |row| reverse_values(entity, &Side { row, ctx: r.ctx }),
        ),
        None => Vec::new(),
    };
    let volatile_supra: Vec<String> = legacy
        .as_ref()
        .map(|l| {
            volatile(l.ctx, |ctx| {
                forward_values(entity, &Side { row: l.row, ctx })
            })
        })
        .unwrap_or_default();
    let volatile_legacy: Vec<String> = supra
        .as_ref()
        .map(|r| {
            volatile(r.ctx, |ctx| {
                reverse_values(entity, &Side { row: r.row, ctx })
            })
        })
        .unwrap_or_default();
    let mut out = Comparison::default();
    for column in supra_columns {
        let is_volatile = volatile_supra.contains(column);
        let lv = f
            .as_ref()
            .and_then(|f| get(f, column))
            .and_then(|x| text_in(supra_row, column, &x));
        let sv = supra_row
            .and_then(|r| r.get(column))
            .and_then(|x| text_in(supra_row, column, x));
        out.supra.push(SupraLine {
            column: column.clone(),
            fed_by: feeds
                .iter()
                .filter(|(_, outs)| outs.contains(column))
                .map(|(l, _)| l.clone())
                .collect(),
            differs: !is_volatile && (f.is_some() || supra_row.is_some()) && lv != sv,
            volatile: is_volatile,
            legacy: lv,
            supra: sv,
            last_synced: last
                .map(|(s, _)| get(s, column).and_then(|x| text_in(supra_row, column, &x))),
        });
    }
    for column in entity.reverse_columns() {
        let is_volatile = volatile_legacy.contains(column);
        let lv = legacy_row
            .and_then(|r| r.get(column))
            .and_then(|x| text_in(legacy_row, column, x));
        let sv = v
            .as_ref()
            .and_then(|v| get(v, column))
            .and_then(|x| text_in(legacy_row, column, &x));
        out.legacy.push(LegacyLine {
            column: column.clone(),
            fed_by: back
                .iter()
                .filter(|(_, outs)| outs.contains(column))
                .map(|(s, _)| s.clone())
                .collect(),
            differs: !is_volatile && (legacy_row.is_some() || v.is_some()) && lv != sv,
            volatile: is_volatile,
            legacy: lv,
            supra: sv,
            last_synced: last
                .map(|(_, l)| get(l, column).and_then(|x| text_in(legacy_row, column, &x))),
        });
    }
    out
}

impl Comparison {
    /// The SUPRA columns a name stands for: itself when it is a SUPRA column, else the SUPRA
    /// columns the legacy column feeds.
    pub fn supra_columns_for(&self, name: &str) -> Vec<String> {
        if self.supra.iter().any(|l| l.column == name) {
            return vec![name.to_string()];
        }
        self.supra
            .iter()
            .filter(|l| l.fed_by.iter().any(|c| c == name))
            .map(|l| l.column.clone())
            .collect()
    }

    /// True when the name is a legacy column of the comparison.
    pub fn is_legacy_column(&self, name: &str) -> bool {
        self.legacy.iter().any(|l| l.column == name)
            || self
                .supra
                .iter()
                .any(|l| l.fed_by.iter().any(|c| c == name))
    }
}
