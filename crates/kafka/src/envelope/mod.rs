//! The Debezium-compatible envelope: core [`Change`]s ↔ Kafka records. Pure: no I/O.
//!
//! ```text
//!  Transaction{xid, commit_lsn, commit_ts, origin}
//!    └─ Change ──encode──► Record{topic, key, value, headers} ──decode──► ChangeEvent
//!                           topic   <prefix>.<schema>.<table>              (Change + commit
//!                           key     {"prsid":"42"}                          lsn/ts, xid, origin)
//!                           value   {"before","after","op","ts_ms","source",…} | null (tombstone)
//!                           headers supra.lsn · supra.side · supra.origin · supra.types
//! ```
//!
//! # Format
//!
//! * **key**: the primary key as a JSON object of the key columns, values in the same form as in
//!   the row images (`{"prsid":"42"}` for a NUMERIC key). Tables without a key, and truncates,
//!   have a null key.
//! * **value**: `{"before", "after", "op", "ts_ms", "ts_us", "source", "transaction"}` as
//!   Debezium's PostgreSQL connector writes it with the JSON converter and `schemas.enable=false`.
//!   `op` is `c` (insert), `r` (snapshot read), `u`, `d` or `t` (truncate). `source` holds
//!   `version`, `connector` = `"postgresql"`, `name` (the topic prefix), `db`, `schema`, `table`,
//!   `txId`, `lsn` (the commit LSN as a number, as Debezium writes it), `ts_ms`/`ts_us` (commit
//!   time), `snapshot` (`"true"`/`"false"`) and `origin` (the replication origin, or null).
//!   `transaction` is Debezium's transaction metadata block (`id` = `"<xid>:<lsn>"`,
//!   `total_order`, `data_collection_order`). Top-level `ts_ms`/`ts_us` are when the record was built.
//! * **values**: see [`value`] (NUMERIC as exact strings, adaptive temporal types, ...).
//! * a **delete** is followed by a **tombstone** (same key, null value) so compaction can drop the key.
//! * an update that **changes the key** becomes delete(old key) + tombstone + create(new key), with
//!   Debezium's `__debezium.newkey` / `__debezium.oldkey` headers linking the two.
//!
//! # Why column types travel in a header
//!
//! Decoding needs each column's type (a date and an int are both JSON numbers). supra-sync puts the
//! column list with types in the `supra.types` header instead of Debezium's `schema` section
//! (which would triple every record) or a catalog lookup at replay time (which breaks as soon as
//! the legacy table is altered or decommissioned — the very cases replay exists for). Each record
//! is therefore self-describing for the shape it had when it was captured; Debezium tooling ignores
//! the header.

pub mod columns;
mod decode;
pub mod value;

use chrono::{DateTime, Utc};
use serde_json::{Map, Value as Json, json};
use supra_sync_core::{Change, ChangeOp, Row, Side, TableName, Transaction};

pub use decode::{ChangeEvent, Decoded, Decoder};

/// Header: the commit LSN of the source transaction, as PostgreSQL prints it (`16/B374D848`).
pub const LSN_HEADER: &str = "supra.lsn";
/// Header: the replication origin of the source transaction (absent when it had none).
pub const ORIGIN_HEADER: &str = "supra.origin";
/// Header: which database the change comes from (`legacy` or `supra`).
pub const SIDE_HEADER: &str = "supra.side";
/// Debezium's header on the delete half of a key change: the new key.
pub const NEW_KEY_HEADER: &str = "__debezium.newkey";
/// Debezium's header on the create half of a key change: the old key.
pub const OLD_KEY_HEADER: &str = "__debezium.oldkey";

/// What the envelope needs besides the transaction.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EnvelopeSettings {
    /// Topic prefix, also written as `source.name` (Debezium's `topic.prefix`).
    pub topic_prefix: String,
    /// `source.db` for changes from the legacy side.
    pub legacy_db: String,
    /// `source.db` for changes from the SUPRA side.
    pub supra_db: String,
}

/// One Kafka record, ready to produce.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Record {
    /// Topic: `<prefix>.<schema>.<table>`.
    pub topic: String,
    /// Key bytes (JSON), `None` for truncates and keyless tables.
    pub key: Option<Vec<u8>>,
    /// Value bytes (JSON envelope), `None` for a tombstone.
    pub value: Option<Vec<u8>>,
    /// Headers in order.
    pub headers: Vec<(String, Vec<u8>)>,
}

/// The topic of a table: `<prefix>.<schema>.<table>`.
pub fn topic_name(prefix: &str, table: &TableName) -> String {
    format!("{prefix}.{}.{}", table.schema, table.name)
}

/// The key of a row image: a JSON object of its key columns, `None` when the table has no key.
pub fn key_json(row: &Row) -> Option<Json> {
    let mut key = Map::new();
    for (col, v) in row.schema.columns.iter().zip(&row.values) {
        if col.key {
            key.insert(col.name.clone(), value::encode(col.pg_type, v));
        }
    }
    (!key.is_empty()).then_some(Json::Object(key))
}

/// A row image as a JSON object (every column, in the Debezium value forms).
pub fn row_json(row: &Row) -> Json {
    let mut map = Map::with_capacity(row.values.len());
    for (col, v) in row.schema.columns.iter().zip(&row.values) {
        map.insert(col.name.clone(), value::encode(col.pg_type, v));
    }
    Json::Object(map)
}

/// Encodes every change of `tx` into records, in source order (tombstones right after deletes).
///
/// `snapshot` marks rows read by an initial load / backfill (`op` = `r`, `source.snapshot` =
/// `"true"`). `processed_at` becomes the top-level `ts_ms` / `ts_us`.
pub fn encode_transaction(
    settings: &EnvelopeSettings,
    tx: &Transaction,
    snapshot: bool,
    processed_at: DateTime<Utc>,
) -> Vec<Record> {
    let mut encoder = TxEncoder {
        settings,
        tx,
        snapshot,
        processed_at,
        total: 0,
        per_table: Default::default(),
        out: Vec::new(),
    };
    for change in &tx.changes {
        encoder.change(change);
    }
    encoder.out
}

struct TxEncoder<'a> {
    settings: &'a EnvelopeSettings,
    tx: &'a Transaction,
    snapshot: bool,
    processed_at: DateTime<Utc>,
    total: u64,
    per_table: std::collections::HashMap<&'a TableName, u64>,
    out: Vec<Record>,
}

impl<'a> TxEncoder<'a> {
    fn change(&mut self, change: &'a Change) {
        let table = &change.table;
        match change.op {
            ChangeOp::Insert => {
                let op = if self.snapshot { "r" } else { "c" };
                self.event(table, op, None, change.new.as_ref(), None);
            }
            ChangeOp::Update if change.changes_key() => {
                let (old, new) = (change.old.as_ref(), change.new.as_ref());
                let old_key = old.and_then(key_json);
                let new_key = new.and_then(key_json);
                let link = |name: &str, key: &Option<Json>| {
                    key.as_ref()
                        .map(|k| (name.to_string(), k.to_string().into_bytes()))
                };
                self.event(table, "d", old, None, link(NEW_KEY_HEADER, &new_key));
                self.tombstone(table, old_key.as_ref());
                self.event(table, "c", None, new, link(OLD_KEY_HEADER, &old_key));
            }
            ChangeOp::Update => {
                self.event(table, "u", change.old.as_ref(), change.new.as_ref(), None)
            }
            ChangeOp::Delete => {
                let old = change.old.as_ref();
                self.event(table, "d", old, None, None);
                self.tombstone(table, old.and_then(key_json).as_ref());
            }
            ChangeOp::Truncate => self.event(table, "t", None, None, None),
        }
    }

    fn common_headers(&self) -> Vec<(String, Vec<u8>)> {
        let tx = self.tx;
        let mut headers = vec![
            (
                LSN_HEADER.to_string(),
                tx.commit_lsn.to_string().into_bytes(),
            ),
            (SIDE_HEADER.to_string(), tx.side.to_string().into_bytes()),
        ];
        if let Some(origin) = &tx.origin {
            headers.push((ORIGIN_HEADER.to_string(), origin.clone().into_bytes()));
        }
        headers
    }

    fn event(
        &mut self,
        table: &'a TableName,
        op: &str,
        before: Option<&Row>,
        after: Option<&Row>,
        link: Option<(String, Vec<u8>)>,
    ) {
        let tx = self.tx;
        self.total += 1;
        let per_table = self.per_table.entry(table).or_default();
        *per_table += 1;
        let db = match tx.side {
            Side::Legacy => &self.settings.legacy_db,
            Side::Supra => &self.settings.supra_db,
        };
        let value = json!({
            "before": before.map_or(Json::Null, row_json),
            "after": after.map_or(Json::Null, row_json),
            "op": op,
            "ts_ms": self.processed_at.timestamp_millis(),
            "ts_us": self.processed_at.timestamp_micros(),
            "source": {
                "version": concat!("supra-sync-", env!("CARGO_PKG_VERSION")),
                "connector": "postgresql",
                "name": self.settings.topic_prefix,
                "db": db,
                "schema": table.schema,
                "table": table.name,
                "txId": tx.xid,
                "lsn": tx.commit_lsn.0,
                "ts_ms": tx.commit_ts.timestamp_millis(),
                "ts_us": tx.commit_ts.timestamp_micros(),
                "snapshot": if self.snapshot { "true" } else { "false" },
                "origin": tx.origin,
            },
            "transaction": {
                "id": format!("{}:{}", tx.xid, tx.commit_lsn.0),
                "total_order": self.total,
                "data_collection_order": *per_table,
            },
        });
        let mut headers = self.common_headers();
        if let Some(shape) = after.or(before) {
            headers.push((
                columns::TYPES_HEADER.to_string(),
                columns::encode(&shape.schema).into_bytes(),
            ));
        }
        headers.extend(link);
        let key = after.or(before).and_then(key_json);
        self.out.push(Record {
            topic: topic_name(&self.settings.topic_prefix, table),
            key: key.map(|k| k.to_string().into_bytes()),
            value: Some(value.to_string().into_bytes()),
            headers,
        });
    }

    fn tombstone(&mut self, table: &TableName, key: Option<&Json>) {
        // A keyless row has nothing for compaction to remove: no tombstone.
        let Some(key) = key else { return };
        self.out.push(Record {
            topic: topic_name(&self.settings.topic_prefix, table),
            key: Some(key.to_string().into_bytes()),
            value: None,
            headers: self.common_headers(),
        });
    }
}

#[cfg(test)]
mod tests;
