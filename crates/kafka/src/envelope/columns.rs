//! The `supra.types` header: the column list of a row image, so a record decodes without a
//! catalog.
//!
//! Format: a compact JSON array with one entry per column in table order,
//! `[["prsid","numeric","key"],["prsnif","varchar"],["prsfecreg","timestamp"]]`.
//! Types are PostgreSQL's short names (`int4`, `numeric`, `timestamptz`, `text[]`, ...);
//! a type supra-sync carries as text is written `oid:<n>`.

use std::sync::Arc;

use supra_sync_core::{ColumnDef, PgType, RowSchema, TableName};

use crate::EnvelopeError;

/// The header name.
pub const TYPES_HEADER: &str = "supra.types";

/// The short type name written in the header.
pub fn type_name(ty: PgType) -> String {
    match ty {
        PgType::Bool => "bool".into(),
        PgType::Int2 => "int2".into(),
        PgType::Int4 => "int4".into(),
        PgType::Int8 => "int8".into(),
        PgType::Float4 => "float4".into(),
        PgType::Float8 => "float8".into(),
        PgType::Numeric => "numeric".into(),
        PgType::Text => "text".into(),
        PgType::Varchar => "varchar".into(),
        PgType::Bpchar => "bpchar".into(),
        PgType::Date => "date".into(),
        PgType::Timestamp => "timestamp".into(),
        PgType::Timestamptz => "timestamptz".into(),
        PgType::Uuid => "uuid".into(),
        PgType::Json => "json".into(),
        PgType::Jsonb => "jsonb".into(),
        PgType::TextArray => "text[]".into(),
        PgType::Geography => "geography".into(),
        PgType::Other(oid) => format!("oid:{oid}"),
    }
}

/// Reads a short type name back.
pub fn parse_type_name(name: &str) -> Result<PgType, EnvelopeError> {
    if let Some(oid) = name.strip_prefix("oid:") {
        return oid
            .parse()
            .map(PgType::Other)
            .map_err(|_| EnvelopeError::new(format!("{TYPES_HEADER}: bad type {name:?}")));
    }
    match PgType::from_name(name) {
        PgType::Other(_) => Err(EnvelopeError::new(format!(
            "{TYPES_HEADER}: unknown type {name:?}"
        ))),
        ty => Ok(ty),
    }
}

/// Renders the header value for a table shape.
pub fn encode(schema: &RowSchema) -> String {
    let cols: Vec<serde_json::Value> = schema
        .columns
        .iter()
        .map(|c| {
            let mut entry = vec![c.name.clone().into(), type_name(c.pg_type).into()];
            if c.key {
                entry.push("key".into());
            }
            serde_json::Value::Array(entry)
        })
        .collect();
    serde_json::Value::Array(cols).to_string()
}

/// Parses the header value into the shape of `table`.
pub fn decode(table: TableName, header: &[u8]) -> Result<Arc<RowSchema>, EnvelopeError> {
    let bad = |why: &str| EnvelopeError::new(format!("{TYPES_HEADER}: {why}"));
    let parsed: serde_json::Value =
        serde_json::from_slice(header).map_err(|e| bad(&format!("not JSON: {e}")))?;
    let entries = parsed.as_array().ok_or_else(|| bad("expected an array"))?;
    let mut columns = Vec::with_capacity(entries.len());
    for entry in entries {
        let parts = entry
            .as_array()
            .ok_or_else(|| bad("expected [name, type(, \"key\")]"))?;
        let text = |i: usize| parts.get(i).and_then(|v| v.as_str());
        let (Some(name), Some(ty)) = (text(0), text(1)) else {
            return Err(bad("expected [name, type(, \"key\")]"));
        };
        columns.push(ColumnDef {
            name: name.to_string(),
            pg_type: parse_type_name(ty)?,
            key: text(2) == Some("key"),
        });
    }
    Ok(Arc::new(RowSchema { table, columns }))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_type_name_round_trips() {
        let all = [
            PgType::Bool,
            PgType::Int2,
            PgType::Int4,
            PgType::Int8,
            PgType::Float4,
            PgType::Float8,
            PgType::Numeric,
            PgType::Text,
            PgType::Varchar,
            PgType::Bpchar,
            PgType::Date,
            PgType::Timestamp,
            PgType::Timestamptz,
            PgType::Uuid,
            PgType::Json,
            PgType::Jsonb,
            PgType::TextArray,
            PgType::Geography,
            PgType::Other(600),
        ];
        for ty in all {
            assert_eq!(parse_type_name(&type_name(ty)).unwrap(), ty, "{ty:?}");
        }
        assert!(parse_type_name("oid:x").is_err());
        assert!(parse_type_name("nonsense").is_err());
    }

    #[test]
    fn header_round_trips() {
        let schema = RowSchema {
            table: TableName::new("cf_quere_pro", "persona"),
            columns: vec![
                ColumnDef {
                    name: "prsid".into(),
                    pg_type: PgType::Numeric,
                    key: true,
                },
                ColumnDef {
                    name: "a,\"b\"".into(),
                    pg_type: PgType::Varchar,
                    key: false,
                },
            ],
        };
        let text = encode(&schema);
        assert_eq!(text, r#"[["prsid","numeric","key"],["a,\"b\"","varchar"]]"#);
        let back = decode(schema.table.clone(), text.as_bytes()).unwrap();
        assert_eq!(*back, schema);
        assert!(decode(schema.table.clone(), b"{}").is_err());
        assert!(decode(schema.table.clone(), b"[[1]]").is_err());
    }
}
