//! Turning decoded pgoutput messages into whole transactions of typed rows (pure, no I/O).

use std::collections::{HashMap, HashSet};
use std::sync::Arc;

use chrono::{DateTime, Utc};
use supra_sync_core::{
    Change, ChangeOp, ColumnDef, Lsn, PgType, Row, RowSchema, Side, TableName, Transaction, Value,
};
use supra_sync_pgoutput::{ColumnValue, LogicalMessage, Oid, RelationBody, TupleData};

use crate::PgError;

/// What the source hands to the pipeline, in stream order.
#[derive(Debug, Clone, PartialEq)]
pub enum SourceEvent {
    /// A committed transaction with its row changes.
    Transaction(Transaction),
    /// A transaction that must not be applied (it carries a dropped origin: an echo of our
    /// own apply). Its end position may be acknowledged once everything before it is.
    Skipped {
        /// Position just past its commit.
        end_lsn: Lsn,
        /// Contents of its transactional [`crate::source::BOOKING_PREFIX`] messages: the
        /// bookkeeping a SUPRA → legacy batch carried into its legacy transaction.
        bookings: Vec<String>,
        /// Its row changes (our own writes): a snapshot chunk read while it was in flight
        /// must not overwrite those rows with what it read before.
        changes: Vec<Change>,
    },
    /// A non-transactional snapshot watermark (`pg_logical_emit_message(false, …)`).
    Watermark {
        /// Position of the message.
        lsn: Lsn,
        /// Message content (the watermark id).
        content: String,
    },
    /// No data; the server's WAL end moved (keepalive). Safe to acknowledge when the
    /// pipeline has nothing in flight.
    Idle {
        /// Server WAL end.
        wal_end: Lsn,
    },
}

struct Building {
    xid: u32,
    commit_ts: DateTime<Utc>,
    origin: Option<String>,
    changes: Vec<Change>,
    bookings: Vec<String>,
}

/// Assembles transactions from pgoutput messages and keeps the relation cache.
pub struct TransactionAssembler {
    side: Side,
    drop_origins: HashSet<String>,
    relations: HashMap<Oid, Arc<RowSchema>>,
    type_names: HashMap<Oid, String>,
    current: Option<Building>,
}

/// Microseconds between 1970-01-01 and 2000-01-01 (PostgreSQL's epoch).
const PG_EPOCH_OFFSET_MICROS: i64 = 946_684_800_000_000;

/// Converts a PostgreSQL timestamp (µs since 2000-01-01) to UTC.
pub fn pg_micros_to_utc(micros: i64) -> DateTime<Utc> {
    DateTime::from_timestamp_micros(micros + PG_EPOCH_OFFSET_MICROS).unwrap_or_default()
}

impl TransactionAssembler {
    /// An assembler for changes from `side`; transactions carrying any of `drop_origins`
    /// become [`SourceEvent::Skipped`].
    pub fn new(side: Side, drop_origins: impl IntoIterator<Item = String>) -> Self {
        TransactionAssembler {
            side,
            drop_origins: drop_origins.into_iter().collect(),
            relations: HashMap::new(),
            type_names: HashMap::new(),
            current: None,
        }
    }

    /// True between Begin and Commit.
    pub fn in_transaction(&self) -> bool {
        self.current.is_some()
    }

    /// A transaction starts.
    pub fn begin(&mut self, xid: u32, commit_time_micros: i64) {
        self.current = Some(Building {
            xid,
            commit_ts: pg_micros_to_utc(commit_time_micros),
            origin: None,
            changes: Vec::new(),
            bookings: Vec::new(),
        });
    }

    /// A transactional booking message inside the current transaction.
    pub fn booking(&mut self, content: &[u8]) {
        if let Some(b) = self.current.as_mut() {
            b.bookings
                .push(String::from_utf8_lossy(content).into_owned());
        }
    }

    /// A transaction commits: returns it, or `Skipped` when its origin is dropped.
    pub fn commit(&mut self, commit_lsn: Lsn, end_lsn: Lsn) -> Result<SourceEvent, PgError> {
        let b = self
            .current
            .take()
            .ok_or_else(|| PgError::Decode(format!("Commit at {commit_lsn} without Begin")))?;
        if b.origin
            .as_ref()
            .is_some_and(|o| self.drop_origins.contains(o))
        {
            return Ok(SourceEvent::Skipped {
                end_lsn,
                bookings: b.bookings,
                changes: b.changes,
            });
        }
        Ok(SourceEvent::Transaction(Transaction {
            side: self.side,
            xid: b.xid,
            commit_lsn,
            end_lsn,
            commit_ts: b.commit_ts,
            origin: b.origin,
            changes: b.changes,
        }))
    }

    /// Feeds one decoded message from an XLogData payload.
    pub fn data(&mut self, message: LogicalMessage) -> Result<(), PgError> {
        match message {
            LogicalMessage::Relation(rel) => {
                self.relations
                    .insert(rel.id, Arc::new(self.schema_of(&rel)));
            }
            LogicalMessage::Type(ty) => {
                self.type_names.insert(ty.id, ty.name);
            }
            LogicalMessage::Origin(origin) => {
                if let Some(b) = self.current.as_mut() {
                    b.origin = Some(origin.name);
                }
            }
            LogicalMessage::Insert(ins) => {
                let schema = self.relation(ins.relation_id)?;
                let new = to_row(&schema, &ins.new);
                self.push(Change {
                    op: ChangeOp::Insert,
                    table: schema.table.clone(),
                    old: None,
                    new: Some(new),
                })?;
            }
            LogicalMessage::Update(upd) => {
                let schema = self.relation(upd.relation_id)?;
                let old = upd.old.as_ref().map(|o| to_row(&schema, o.tuple()));
                let new = to_row(&schema, &upd.new);
                self.push(Change {
                    op: ChangeOp::Update,
                    table: schema.table.clone(),
                    old,
                    new: Some(new),
                })?;
            }
            LogicalMessage::Delete(del) => {
                let schema = self.relation(del.relation_id)?;
                let old = to_row(&schema, del.old.tuple());
                self.push(Change {
                    op: ChangeOp::Delete,
                    table: schema.table.clone(),
                    old: Some(old),
                    new: None,
                })?;
            }
            LogicalMessage::Truncate(tr) => {
                for id in tr.relation_ids {
                    let schema = self.relation(id)?;
                    self.push(Change {
                        op: ChangeOp::Truncate,
                        table: schema.table.clone(),
                        old: None,
                        new: None,
                    })?;
                }
            }
            // Begin/Commit/Message arrive as separate events; streaming of in-progress
            // transactions is not requested (protocol 1).
            _ => {}
        }
        Ok(())
    }

    fn push(&mut self, change: Change) -> Result<(), PgError> {
        self.current
            .as_mut()
            .ok_or_else(|| {
                PgError::Decode(format!(
                    "{:?} on {} outside a transaction",
                    change.op, change.table
                ))
            })?
            .changes
            .push(change);
        Ok(())
    }

    fn relation(&self, id: Oid) -> Result<Arc<RowSchema>, PgError> {
        self.relations.get(&id).cloned().ok_or_else(|| {
            PgError::Decode(format!(
                "change for relation {id} before its Relation message"
            ))
        })
    }

    fn schema_of(&self, rel: &RelationBody) -> RowSchema {
        RowSchema {
            table: TableName::new(rel.namespace.clone(), rel.name.clone()),
            columns: rel
                .columns
                .iter()
                .map(|c| ColumnDef {
                    name: c.name.clone(),
                    pg_type: match PgType::from_oid(c.type_oid) {
                        PgType::Other(oid) => self
                            .type_names
                            .get(&oid)
                            .map(|n| PgType::from_name(n))
                            .filter(|t| !matches!(t, PgType::Other(_)))
                            .unwrap_or(PgType::Other(oid)),
                        known => known,
                    },
                    key: c.is_key(),
                })
                .collect(),
        }
    }
}

/// Builds a typed row. A value whose text does not parse as its type (e.g. `NaN` numeric or
/// `infinity` timestamps) is kept as text rather than lost; the mapping decides what to do.
fn to_row(schema: &Arc<RowSchema>, tuple: &TupleData) -> Row {
    let values = schema
        .columns
        .iter()
        .enumerate()
        .map(|(i, col)| match tuple.get(i) {
            None | Some(ColumnValue::Null) => Value::Null,
            Some(ColumnValue::Unchanged) => Value::Unchanged,
            Some(ColumnValue::Text(bytes)) | Some(ColumnValue::Binary(bytes)) => {
                let text = String::from_utf8_lossy(bytes);
                Value::parse_text(col.pg_type, &text)
                    .unwrap_or_else(|_| Value::Text(text.into_owned()))
            }
        })
        .collect();
    Row::new(schema.clone(), values)
}

#[cfg(test)]
mod tests {
    use super::*;
    use supra_sync_pgoutput::decode;

    fn relation_bytes() -> Vec<u8> {
        // R, oid 16391, "cf_quere_pro"."persona", identity 'd', 2 columns:
        // prsid numeric key, prsnombre varchar
        let mut b = vec![b'R'];
        b.extend(16391u32.to_be_bytes());
        b.extend(b"cf_quere_pro\0persona\0d");
        b.extend(2u16.to_be_bytes());
        b.push(1);
        b.extend(b"prsid\0");
        b.extend(1700u32.to_be_bytes());
        b.extend((-1i32).to_be_bytes());
        b.push(0);
        b.extend(b"prsnombre\0");
        b.extend(1043u32.to_be_bytes());
        b.extend((-1i32).to_be_bytes());
        b
    }

    fn insert_bytes(id: &str, name: Option<&str>) -> Vec<u8> {
        let mut b = vec![b'I'];
        b.extend(16391u32.to_be_bytes());
        b.push(b'N');
        b.extend(2u16.to_be_bytes());
        b.push(b't');
        b.extend((id.len() as u32).to_be_bytes());
        b.extend(id.as_bytes());
        match name {
            Some(n) => {
                b.push(b't');
                b.extend((n.len() as u32).to_be_bytes());
                b.extend(n.as_bytes());
            }
            None => b.push(b'u'),
        }
        b
    }

    #[test]
    fn assembles_typed_transactions_and_drops_echoes() {
        let mut a = TransactionAssembler::new(Side::Legacy, ["supra_sync_supra".to_string()]);
        a.begin(7, 0);
        a.data(decode(&relation_bytes()).unwrap()).unwrap();
        a.data(decode(&insert_bytes("42", Some("Peña"))).unwrap())
            .unwrap();
        a.data(decode(&insert_bytes("43", None)).unwrap()).unwrap();
        let SourceEvent::Transaction(tx) = a.commit(Lsn(100), Lsn(120)).unwrap() else {
            panic!("expected a transaction")
        };
        assert_eq!(tx.xid, 7);
        assert_eq!(tx.end_lsn, Lsn(120));
        assert_eq!(tx.commit_ts.to_rfc3339(), "2000-01-01T00:00:00+00:00");
        assert_eq!(tx.changes.len(), 2);
        let first = tx.changes[0].new.as_ref().unwrap();
        assert_eq!(
            first.values,
            vec![Value::Numeric(42.into()), Value::Text("Peña".into())]
        );
        assert_eq!(first.key_text(), "42");
        assert_eq!(
            tx.changes[1].new.as_ref().unwrap().values[1],
            Value::Unchanged
        );

        // The same data under our own apply origin is an echo.
        a.begin(8, 0);
        let mut origin = vec![b'O'];
        origin.extend(5u64.to_be_bytes());
        origin.extend(b"supra_sync_supra\0");
        a.data(decode(&origin).unwrap()).unwrap();
        a.data(decode(&insert_bytes("44", Some("x"))).unwrap())
            .unwrap();
        let SourceEvent::Skipped {
            end_lsn,
            bookings,
            changes,
        } = a.commit(Lsn(200), Lsn(220)).unwrap()
        else {
            panic!("an echo is skipped");
        };
        assert_eq!((end_lsn, bookings), (Lsn(220), Vec::<String>::new()));
        assert_eq!(changes.len(), 1);
        assert_eq!(changes[0].table, TableName::new("cf_quere_pro", "persona"));
        assert_eq!(changes[0].new.as_ref().unwrap().key_text(), "44");
    }

    #[test]
    fn change_before_relation_is_an_error() {
        let mut a = TransactionAssembler::new(Side::Legacy, []);
        a.begin(1, 0);
        let err = a
            .data(decode(&insert_bytes("1", Some("a"))).unwrap())
            .unwrap_err();
        assert!(err.to_string().contains("before its Relation message"));
        assert!(a.commit(Lsn(1), Lsn(2)).is_ok());
        assert!(a.commit(Lsn(1), Lsn(2)).is_err(), "commit without begin");
    }
}
