//! Records → core changes, the inverse of [`encode_transaction`](super::encode_transaction).

use std::collections::HashMap;
use std::sync::Arc;

use chrono::{DateTime, Utc};
use serde_json::Value as Json;
use supra_sync_core::{Change, ChangeOp, Lsn, Row, RowSchema, Side, TableName, Value};

use super::{LSN_HEADER, OLD_KEY_HEADER, ORIGIN_HEADER, SIDE_HEADER, columns, value};
use crate::EnvelopeError;

/// A change read back from a record, with the source transaction facts it carried.
#[derive(Debug, Clone, PartialEq)]
pub struct ChangeEvent {
    /// The change, with row images typed by the record's `supra.types` header.
    pub change: Change,
    /// Which database it was captured from (`supra.side`; `legacy` when absent).
    pub side: Side,
    /// Source transaction id (`source.txId`).
    pub xid: u32,
    /// Commit LSN of the source transaction (`supra.lsn`, else `source.lsn`).
    pub commit_lsn: Lsn,
    /// Commit time of the source transaction (`source.ts_us`, else `source.ts_ms`).
    pub commit_ts: DateTime<Utc>,
    /// Replication origin of the source transaction (`source.origin`).
    pub origin: Option<String>,
    /// True for snapshot reads (`op` = `r`).
    pub snapshot: bool,
    /// Position of the change within its source transaction (`transaction.total_order`,
    /// 1-based), when the record carries Debezium's transaction block.
    pub total_order: Option<u64>,
}

/// What one record means.
#[derive(Debug, Clone, PartialEq)]
pub enum Decoded {
    /// A change to apply.
    Change(Box<ChangeEvent>),
    /// A tombstone (null value): only for log compaction, nothing to apply.
    Tombstone,
    /// The delete half of a primary-key change (it carries `__debezium.newkey`), decoded as
    /// the delete of the old key. The matching create decodes as [`ChangeOp::Update`] from the
    /// old key to the new row, so a consumer that keeps identities across key changes applies
    /// that one alone; one that rebuilds from scratch (replay) applies both halves as a delete
    /// and an insert, like Debezium's consumers do.
    KeyChangeDelete(Box<ChangeEvent>),
}

/// Decodes records, caching the row shapes it has seen (one per table and column list).
#[derive(Debug, Default)]
pub struct Decoder {
    shapes: HashMap<(TableName, Vec<u8>), Arc<RowSchema>>,
}

impl Decoder {
    /// A decoder with an empty shape cache.
    pub fn new() -> Decoder {
        Decoder::default()
    }

    /// Decodes one record from its key, value and headers. The key is only read for a delete
    /// whose `before` image is null.
    ///
    /// A key-changing update comes back as an update whose old image holds the old key columns
    /// (other columns NULL), exactly as pgoutput reports a key change under the default replica
    /// identity.
    pub fn decode(
        &mut self,
        key: Option<&[u8]>,
        value: Option<&[u8]>,
        headers: &[(&str, &[u8])],
    ) -> Result<Decoded, EnvelopeError> {
        let Some(value) = value else {
            return Ok(Decoded::Tombstone);
        };
        let header = |name: &str| {
            headers
                .iter()
                .rev()
                .find(|(k, _)| *k == name)
                .map(|(_, v)| *v)
        };
        let header_text = |name: &str| -> Result<Option<&str>, EnvelopeError> {
            header(name)
                .map(|v| {
                    std::str::from_utf8(v)
                        .map_err(|_| EnvelopeError::new(format!("header {name} is not UTF-8")))
                })
                .transpose()
        };
        let envelope: Json = serde_json::from_slice(value)
            .map_err(|e| EnvelopeError::new(format!("value is not JSON: {e}")))?;
        let source = envelope.get("source").ok_or_else(|| missing("source"))?;
        let text = |v: &Json, field: &str| -> Result<String, EnvelopeError> {
            v.get(field)
                .and_then(Json::as_str)
                .map(str::to_string)
                .ok_or_else(|| missing(field))
        };
        let op = text(&envelope, "op")?;
        let key_change_delete = op == "d" && header(super::NEW_KEY_HEADER).is_some();
        let table = TableName::new(text(source, "schema")?, text(source, "table")?);
        let xid = source
            .get("txId")
            .and_then(Json::as_u64)
            .and_then(|x| u32::try_from(x).ok())
            .ok_or_else(|| missing("source.txId"))?;
        let commit_lsn = match header_text(LSN_HEADER)? {
            Some(lsn) => lsn
                .parse()
                .map_err(|e| EnvelopeError::new(format!("header {LSN_HEADER}: {e}")))?,
            None => Lsn(source
                .get("lsn")
                .and_then(Json::as_u64)
                .ok_or_else(|| missing("source.lsn"))?),
        };
        let commit_ts = match source.get("ts_us").and_then(Json::as_i64) {
            Some(us) => DateTime::from_timestamp_micros(us),
            None => source
                .get("ts_ms")
                .and_then(Json::as_i64)
                .and_then(DateTime::from_timestamp_millis),
        }
        .ok_or_else(|| missing("source.ts_ms"))?;
        let side = match header_text(SIDE_HEADER)? {
            None | Some("legacy") => Side::Legacy,
            Some("supra") => Side::Supra,
            Some(other) => {
                return Err(EnvelopeError::new(format!(
                    "header {SIDE_HEADER}: unknown side {other:?}"
                )));
            }
        };
        let origin = match header_text(ORIGIN_HEADER)? {
            Some(o) => Some(o.to_string()),
            None => source
                .get("origin")
                .and_then(Json::as_str)
                .map(str::to_string),
        };
        let snapshot = op == "r";
        let total_order = envelope
            .get("transaction")
            .and_then(|t| t.get("total_order"))
            .and_then(Json::as_u64);

        let change = if op == "t" {
            Change {
                op: ChangeOp::Truncate,
                table,
                old: None,
                new: None,
            }
        } else {
            let types = header(columns::TYPES_HEADER).ok_or_else(|| {
                EnvelopeError::new(format!(
                    "header {} is missing: the record was not written by supra-sync, column types unknown",
                    columns::TYPES_HEADER
                ))
            })?;
            let shape = self.shape(table.clone(), types)?;
            let image = |field: &str| -> Result<Option<Row>, EnvelopeError> {
                match envelope.get(field) {
                    None | Some(Json::Null) => Ok(None),
                    Some(obj) => row(&shape, obj, field).map(Some),
                }
            };
            let (before, after) = (image("before")?, image("after")?);
            match op.as_str() {
                "c" | "r" => match header(OLD_KEY_HEADER) {
                    Some(old_key) => {
                        let old_key: Json = serde_json::from_slice(old_key).map_err(|e| {
                            EnvelopeError::new(format!("header {OLD_KEY_HEADER}: {e}"))
                        })?;
                        let old = row(&shape, &old_key, OLD_KEY_HEADER)?;
                        Change {
                            op: ChangeOp::Update,
                            table,
                            old: Some(old),
                            new: Some(after.ok_or_else(|| missing("after"))?),
                        }
                    }
                    None => Change {
                        op: ChangeOp::Insert,
                        table,
                        old: None,
                        new: Some(after.ok_or_else(|| missing("after"))?),
                    },
                },
                "u" => Change {
                    op: ChangeOp::Update,
                    table,
                    old: before,
                    new: Some(after.ok_or_else(|| missing("after"))?),
                },
                "d" => {
                    // Debezium writes before = null when the table has no replica identity
                    // image; the key still names the row.
                    let old = match (before, key) {
                        (Some(before), _) => before,
                        (None, Some(key)) => {
                            let key: Json = serde_json::from_slice(key)
                                .map_err(|e| EnvelopeError::new(format!("key: {e}")))?;
                            row(&shape, &key, "key")?
                        }
                        (None, None) => return Err(missing("before")),
                    };
                    Change {
                        op: ChangeOp::Delete,
                        table,
                        old: Some(old),
                        new: None,
                    }
                }
                other => return Err(EnvelopeError::new(format!("unknown op {other:?}"))),
            }
        };
        let event = Box::new(ChangeEvent {
            change,
            side,
            xid,
            commit_lsn,
            commit_ts,
            origin,
            snapshot,
            total_order,
        });
        Ok(if key_change_delete {
            Decoded::KeyChangeDelete(event)
        } else {
            Decoded::Change(event)
        })
    }

    fn shape(&mut self, table: TableName, types: &[u8]) -> Result<Arc<RowSchema>, EnvelopeError> {
        let cache_key = (table, types.to_vec());
        if let Some(shape) = self.shapes.get(&cache_key) {
            return Ok(shape.clone());
        }
        let shape = columns::decode(cache_key.0.clone(), types)?;
        self.shapes.insert(cache_key, shape.clone());
        Ok(shape)
    }
}

fn missing(field: &str) -> EnvelopeError {
    EnvelopeError::new(format!("field {field} is missing or has the wrong type"))
}

/// A row image from a JSON object; columns absent from the object are NULL.
fn row(shape: &Arc<RowSchema>, obj: &Json, field: &str) -> Result<Row, EnvelopeError> {
    let map = obj.as_object().ok_or_else(|| missing(field))?;
    let values = shape
        .columns
        .iter()
        .map(|col| match map.get(&col.name) {
            None => Ok(Value::Null),
            Some(v) => value::decode(col.pg_type, v)
                .map_err(|e| EnvelopeError::new(format!("{field}.{}: {}", col.name, e.message))),
        })
        .collect::<Result<Vec<_>, _>>()?;
    Ok(Row::new(shape.clone(), values))
}
