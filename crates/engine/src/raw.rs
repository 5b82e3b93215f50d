//! The raw image of a source change, as stored in `sync_log.raw_change`,
//! `parked_changes` and `held_changes`, and read back for retries.
//!
//! ```json
//! {"op":"update","table":"cf_quere_pro.persona",
//!  "columns":[["prsid","numeric",true],["prsnombre","varchar",false]],
//!  "old":null,"new":["42","Peña"]}
//! ```
//! Values are PostgreSQL text (NULL as `null`, unchanged TOAST as `{"unchanged":true}`), so
//! nothing is lost and the change can be rebuilt exactly with its column types.

use std::sync::Arc;

use serde::ser::{Serialize, SerializeMap, SerializeSeq, Serializer};
use serde_json::{Value as Json, json};
use supra_sync_core::{Change, ChangeOp, ColumnDef, PgType, Row, RowSchema, TableName, Value};

/// Encodes a change (with its column types) as JSON text, written straight from the change
/// (no intermediate JSON tree: this runs for every row synced).
pub fn encode(change: &Change) -> String {
    let schema = change
        .new
        .as_ref()
        .or(change.old.as_ref())
        .map(|r| &r.schema);
    let raw = RawOut {
        op: change.op.as_str(),
        table: change.table.to_string(),
        columns: schema.map_or(&[][..], |s| &s.columns[..]),
        old: change.old.as_ref().map(ValuesOut),
        new: change.new.as_ref().map(ValuesOut),
    };
    serde_json::to_string(&raw).expect("a raw change always serializes")
}

/// The encoded form of a change, borrowed from it.
struct RawOut<'a> {
    op: &'a str,
    table: String,
    columns: &'a [ColumnDef],
    old: Option<ValuesOut<'a>>,
    new: Option<ValuesOut<'a>>,
}

impl Serialize for RawOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        struct Columns<'a>(&'a [ColumnDef]);
        impl Serialize for Columns<'_> {
            fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                let mut seq = s.serialize_seq(Some(self.0.len()))?;
                for c in self.0 {
                    seq.serialize_element(&(&c.name, type_name(c.pg_type), c.key))?;
                }
                seq.end()
            }
        }
        let mut map = s.serialize_map(Some(5))?;
        map.serialize_entry("op", self.op)?;
        map.serialize_entry("table", &self.table)?;
        map.serialize_entry("columns", &Columns(self.columns))?;
        map.serialize_entry("old", &self.old)?;
        map.serialize_entry("new", &self.new)?;
        map.end()
    }
}

/// A row's values as PostgreSQL text (NULL as `null`, unchanged TOAST as
/// `{"unchanged":true}`).
struct ValuesOut<'a>(&'a Row);

impl Serialize for ValuesOut<'_> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        let mut seq = s.serialize_seq(Some(self.0.values.len()))?;
        for v in &self.0.values {
            match v {
                Value::Unchanged => seq.serialize_element(&Unchanged { unchanged: true })?,
                Value::Text(text) => seq.serialize_element(text)?,
                other => seq.serialize_element(&other.to_text())?,
            }
        }
        seq.end()
    }
}

#[derive(serde::Serialize)]
struct Unchanged {
    unchanged: bool,
}

fn type_name(t: PgType) -> std::borrow::Cow<'static, str> {
    match t {
        PgType::Other(oid) => format!("oid:{oid}").into(),
        known => known.sql_name().into(),
    }
}

fn parse_type(name: &str) -> PgType {
    match name.strip_prefix("oid:") {
        Some(oid) => PgType::Other(oid.parse().unwrap_or(0)),
        None => PgType::from_name(name),
    }
}

/// A raw change that cannot be read back.
#[derive(Debug, thiserror::Error)]
#[error("raw change is malformed: {0}")]
pub struct RawError(String);

/// Rebuilds a change from [`encode`]'s JSON.
pub fn decode(raw: &Json) -> Result<Change, RawError> {
    let err = |m: &str| RawError(m.to_string());
    let op = match raw["op"].as_str().ok_or_else(|| err("op"))? {
        "insert" => ChangeOp::Insert,
        "update" => ChangeOp::Update,
        "delete" => ChangeOp::Delete,
        "truncate" => ChangeOp::Truncate,
        other => return Err(RawError(format!("unknown op {other}"))),
    };
    let table = TableName::parse(raw["table"].as_str().ok_or_else(|| err("table"))?);
    let columns = raw["columns"]
        .as_array()
        .ok_or_else(|| err("columns"))?
        .iter()
        .map(|c| {
            Ok(ColumnDef {
                name: c[0].as_str().ok_or_else(|| err("column name"))?.to_string(),
                pg_type: parse_type(c[1].as_str().ok_or_else(|| err("column type"))?),
                key: c[2].as_bool().unwrap_or(false),
            })
        })
        .collect::<Result<Vec<_>, RawError>>()?;
    let schema = Arc::new(RowSchema {
        table: table.clone(),
        columns,
    });
    let row = |v: &Json| -> Result<Option<Row>, RawError> {
        let Some(items) = v.as_array() else {
            return Ok(None);
        };
        if items.len() != schema.columns.len() {
            return Err(err("value count differs from column count"));
        }
        let values = items
            .iter()
            .zip(&schema.columns)
            .map(|(item, col)| match item {
                Json::Null => Value::Null,
                Json::String(text) => Value::parse_text(col.pg_type, text)
                    .unwrap_or_else(|_| Value::Text(text.clone())),
                _ => Value::Unchanged,
            })
            .collect();
        Ok(Some(Row::new(schema.clone(), values)))
    };
    Ok(Change {
        op,
        table,
        old: row(&raw["old"])?,
        new: row(&raw["new"])?,
    })
}

/// Column-level differences of an update (`{"col": {"old": …, "new": …}}`) when its old image
/// is complete. `None` otherwise — inserts, deletes and updates without an old image — since
/// the raw change ([`encode`]), stored next to it, already holds every value: writing the whole
/// image twice per row cost as much as the row itself.
pub fn diff(change: &Change) -> Option<Json> {
    match (&change.old, &change.new) {
        (Some(old), Some(new)) if old.schema == new.schema => {
            let mut map = serde_json::Map::new();
            for ((col, o), n) in new.schema.columns.iter().zip(&old.values).zip(&new.values) {
                if o != n && *n != Value::Unchanged && (!col.key || o != &Value::Null) {
                    map.insert(
                        col.name.clone(),
                        json!({"old": o.to_json(), "new": n.to_json()}),
                    );
                }
            }
            Some(Json::Object(map))
        }
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_every_value_kind() {
        let schema = Arc::new(RowSchema {
            table: TableName::new("cf_quere_pro", "persona"),
            columns: vec![
                ColumnDef {
                    name: "prsid".into(),
                    pg_type: PgType::Numeric,
                    key: true,
                },
                ColumnDef {
                    name: "prsnombre".into(),
                    pg_type: PgType::Varchar,
                    key: false,
                },
                ColumnDef {
                    name: "prsfecreg".into(),
                    pg_type: PgType::Timestamp,
                    key: false,
                },
                ColumnDef {
                    name: "notas".into(),
                    pg_type: PgType::Text,
                    key: false,
                },
            ],
        });
        let change = Change {
            op: ChangeOp::Update,
            table: schema.table.clone(),
            old: None,
            new: Some(Row::new(
                schema,
                vec![
                    Value::Numeric("9999999999".parse().unwrap()),
                    Value::Text("Peña \"Ñúñez\"".into()),
                    Value::Null,
                    Value::Unchanged,
                ],
            )),
        };
        let back = decode(&serde_json::from_str(&encode(&change)).unwrap()).unwrap();
        assert_eq!(back, change);
    }

    #[test]
    fn malformed_raw_is_an_error() {
        assert!(decode(&json!({"op": "upsert"})).is_err());
        assert!(decode(&json!({"op": "insert", "table": "a.b", "columns": [["x","text",true]], "new": ["1","2"]})).is_err());
    }
}
