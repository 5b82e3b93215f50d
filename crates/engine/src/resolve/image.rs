//! Row images as recorded in `sync_conflicts` (JSON objects) and as read now (typed rows),
//! compared in one canonical text form: the column type's text as supra-sync writes it.
//!
//! Recorded images come in two flavours — a source change's `Row::to_json` (typed JSON:
//! numbers, booleans, objects) and a target row read for conflict detection (every value as
//! PostgreSQL text) — so values are compared after [`canonical`], never as raw JSON.

use std::sync::Arc;

use serde_json::Value as Json;
use supra_sync_core::{PgType, Row, RowSchema, Value};

/// The text of a JSON value as PostgreSQL would print it (`None` for null).
pub fn json_text(v: &Json) -> Option<String> {
    match v {
        Json::Null => None,
        Json::String(s) => Some(s.clone()),
        Json::Bool(b) => Some(if *b { "t" } else { "f" }.to_string()),
        Json::Number(n) => Some(n.to_string()),
        other => Some(other.to_string()),
    }
}

/// The canonical text of `text` in a column of type `ty` (what `Value::parse_text` and
/// `Value::to_text` agree on); text that does not parse stays as it is.
pub fn canonical(ty: PgType, text: Option<&str>) -> Option<String> {
    Some(Value::canonical_text(ty, text?.to_string()))
}

/// The canonical text of a value in a column of type `ty`.
pub fn value_text(ty: PgType, v: &Value) -> Option<String> {
    match v {
        Value::Unchanged => None,
        other => canonical(ty, other.to_text().as_deref()),
    }
}

/// A typed row from a recorded image; columns missing from the image are NULL unless
/// `fill` gives them.
pub fn row_from_image(schema: &Arc<RowSchema>, image: &Json, fill: &[(&str, Value)]) -> Row {
    let values = schema
        .columns
        .iter()
        .map(|c| {
            if let Some((_, v)) = fill.iter().find(|(n, _)| *n == c.name) {
                return v.clone();
            }
            match image.get(&c.name) {
                None | Some(Json::Null) => Value::Null,
                Some(Json::Bool(b)) => Value::Bool(*b),
                Some(j @ (Json::Object(_) | Json::Array(_)))
                    if matches!(c.pg_type, PgType::Json | PgType::Jsonb) =>
                {
                    Value::Json(j.clone())
                }
                Some(j) => {
                    let text = json_text(j).unwrap_or_default();
                    Value::parse_text(c.pg_type, &text).unwrap_or(Value::Text(text))
                }
            }
        })
        .collect();
    Row::new(schema.clone(), values)
}

/// How a side's current row differs from the recorded image: the changed columns (only
/// `columns` when given, else every recorded column), or a note that the row appeared or
/// disappeared. Empty: unchanged.
pub fn changed_since(
    recorded: Option<&Json>,
    current: Option<&Row>,
    columns: Option<&[String]>,
) -> Vec<String> {
    match (recorded, current) {
        (None, None) => Vec::new(),
        (None, Some(_)) => vec!["the row was created".into()],
        (Some(_), None) => vec!["the row was deleted".into()],
        (Some(image), Some(row)) => {
            let Some(obj) = image.as_object() else {
                return vec!["the recorded image is not an object".into()];
            };
            row.schema
                .columns
                .iter()
                .zip(&row.values)
                .filter(|(c, _)| columns.is_none_or(|cols| cols.contains(&c.name)))
                .filter_map(|(c, v)| {
                    let recorded = obj.get(&c.name)?;
                    let before = canonical(c.pg_type, json_text(recorded).as_deref());
                    (before != value_text(c.pg_type, v)).then(|| c.name.clone())
                })
                .collect()
        }
    }
}

/// The columns of `row` as a JSON object of canonical texts (for display and `--json`).
pub fn row_texts(row: &Row) -> Json {
    Json::Object(
        row.schema
            .columns
            .iter()
            .zip(&row.values)
            .map(|(c, v)| {
                (
                    c.name.clone(),
                    value_text(c.pg_type, v).map_or(Json::Null, Json::String),
                )
            })
            .collect(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;
    use supra_sync_core::{ColumnDef, TableName};

    fn schema() -> Arc<RowSchema> {
        let col = |name: &str, pg_type, key| ColumnDef {
            name: name.into(),
            pg_type,
            key,
        };
        Arc::new(RowSchema {
            table: TableName::new("cf_quere_pro", "persona"),
            columns: vec![
                col("prsid", PgType::Numeric, true),
                col("prstelef", PgType::Varchar, false),
                col("vulnerable", PgType::Bool, false),
                col("prsfecreg", PgType::Timestamp, false),
            ],
        })
    }

    #[test]
    fn typed_and_text_images_compare_equal() {
        let typed = json!({"prsid": 7, "prstelef": "442", "vulnerable": true, "prsfecreg": "2024-01-02 03:04:05"});
        let text = json!({"prsid": "7", "prstelef": "442", "vulnerable": "t", "prsfecreg": "2024-01-02 03:04:05"});
        let row = row_from_image(&schema(), &typed, &[]);
        assert!(changed_since(Some(&text), Some(&row), None).is_empty());
        assert_eq!(row_texts(&row), text);
    }

    #[test]
    fn changes_are_named() {
        let recorded = json!({"prsid": "7", "prstelef": "442"});
        let row = row_from_image(&schema(), &json!({"prsid": 7, "prstelef": "443"}), &[]);
        assert_eq!(
            changed_since(Some(&recorded), Some(&row), None),
            vec!["prstelef"]
        );
        assert_eq!(
            changed_since(Some(&recorded), Some(&row), Some(&["prsid".to_string()])),
            Vec::<String>::new()
        );
        assert_eq!(
            changed_since(Some(&recorded), None, None),
            vec!["the row was deleted"]
        );
        assert_eq!(
            changed_since(None, Some(&row), None),
            vec!["the row was created"]
        );
    }
}
