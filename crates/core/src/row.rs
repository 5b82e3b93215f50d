//! Rows and the table shapes they belong to.

use std::sync::Arc;

use crate::{PgType, TableName, Value};

/// One column of a table as the source described it.
#[derive(Debug, Clone, PartialEq)]
pub struct ColumnDef {
    /// Column name.
    pub name: String,
    /// Column type.
    pub pg_type: PgType,
    /// Part of the replica identity (primary key).
    pub key: bool,
}

/// The shape of a table: its name and ordered columns.
#[derive(Debug, Clone, PartialEq)]
pub struct RowSchema {
    /// Qualified table name.
    pub table: TableName,
    /// Columns in source order.
    pub columns: Vec<ColumnDef>,
}

impl RowSchema {
    /// Position of a column by name.
    pub fn index_of(&self, name: &str) -> Option<usize> {
        self.columns.iter().position(|c| c.name == name)
    }

    /// Names of the key columns, in column order.
    pub fn key_columns(&self) -> impl Iterator<Item = &ColumnDef> {
        self.columns.iter().filter(|c| c.key)
    }

    /// The SQL type name of a column, for casts (`text` when there is no such column).
    pub fn sql_type_of(&self, name: &str) -> &'static str {
        self.columns
            .iter()
            .find(|c| c.name == name)
            .map_or("text", |c| c.pg_type.sql_name())
    }
}

/// A row image: values in the order of its schema's columns.
#[derive(Debug, Clone, PartialEq)]
pub struct Row {
    /// The table shape the values follow.
    pub schema: Arc<RowSchema>,
    /// One value per column.
    pub values: Vec<Value>,
}

impl Row {
    /// Builds a row; `values` must have one entry per schema column.
    pub fn new(schema: Arc<RowSchema>, values: Vec<Value>) -> Row {
        debug_assert_eq!(schema.columns.len(), values.len());
        Row { schema, values }
    }

    /// Value of a column by name.
    pub fn get(&self, name: &str) -> Option<&Value> {
        self.schema.index_of(name).map(|i| &self.values[i])
    }

    /// The key values, in key-column order.
    pub fn key_values(&self) -> Vec<&Value> {
        self.schema
            .columns
            .iter()
            .zip(&self.values)
            .filter(|(c, _)| c.key)
            .map(|(_, v)| v)
            .collect()
    }

    /// The canonical text of the key: the single key value, or a JSON array for composite
    /// keys. This is what `sync_mappings.legacy_id` stores.
    pub fn key_text(&self) -> String {
        let keys = self.key_values();
        match keys.as_slice() {
            [one] => one.to_text().unwrap_or_default(),
            many => {
                serde_json::Value::Array(many.iter().map(|v| v.to_json()).collect()).to_string()
            }
        }
    }

    /// A JSON object of the row (column → value), for logs, conflicts and envelopes.
    /// Unchanged TOAST columns are left out.
    pub fn to_json(&self) -> serde_json::Value {
        let mut map = serde_json::Map::with_capacity(self.values.len());
        for (col, value) in self.schema.columns.iter().zip(&self.values) {
            if *value != Value::Unchanged {
                map.insert(col.name.clone(), value.to_json());
            }
        }
        serde_json::Value::Object(map)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn schema() -> Arc<RowSchema> {
        Arc::new(RowSchema {
            table: TableName::new("cf_quere_pro", "persona"),
            columns: vec![
                ColumnDef {
                    name: "prsid".into(),
                    pg_type: PgType::Numeric,
                    key: true,
                },
                ColumnDef {
                    name: "prsnif".into(),
                    pg_type: PgType::Varchar,
                    key: false,
                },
                ColumnDef {
                    name: "notes".into(),
                    pg_type: PgType::Text,
                    key: false,
                },
            ],
        })
    }

    #[test]
    fn key_text_and_json_image() {
        let row = Row::new(
            schema(),
            vec![Value::Numeric(42.into()), Value::Null, Value::Unchanged],
        );
        assert_eq!(row.key_text(), "42");
        assert_eq!(
            row.to_json(),
            serde_json::json!({"prsid": "42", "prsnif": null})
        );
        assert_eq!(row.get("prsnif"), Some(&Value::Null));
        assert_eq!(row.get("nope"), None);
    }
}
