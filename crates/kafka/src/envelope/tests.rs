use std::sync::Arc;

use chrono::{NaiveDate, TimeZone, Utc};
use serde_json::json;
use supra_sync_core::{ColumnDef, Lsn, PgType, RowSchema, Value};

use super::*;

fn persona() -> Arc<RowSchema> {
    let col = |name: &str, pg_type, key| ColumnDef {
        name: name.into(),
        pg_type,
        key,
    };
    Arc::new(RowSchema {
        table: TableName::new("cf_quere_pro", "persona"),
        columns: vec![
            col("prsid", PgType::Numeric, true),
            col("prsnif", PgType::Varchar, false),
            col("prsfecnac", PgType::Date, false),
            col("prsfecreg", PgType::Timestamp, false),
            col("prssaldo", PgType::Numeric, false),
            col("prsnotas", PgType::Text, false),
        ],
    })
}

fn row(id: i64, nif: &str, notes: Value) -> Row {
    let date = NaiveDate::from_ymd_opt(1980, 5, 17).unwrap();
    Row::new(
        persona(),
        vec![
            Value::Numeric(id.into()),
            Value::Text(nif.into()),
            Value::Date(date),
            Value::Timestamp(date.and_hms_micro_opt(8, 30, 0, 250_000).unwrap()),
            Value::Numeric("1234.50".parse().unwrap()),
            notes,
        ],
    )
}

fn key_only(id: i64) -> Row {
    let mut values = vec![Value::Null; 6];
    values[0] = Value::Numeric(id.into());
    Row::new(persona(), values)
}

fn settings() -> EnvelopeSettings {
    EnvelopeSettings {
        topic_prefix: "aquacis".into(),
        legacy_db: "aquacis".into(),
        supra_db: "supra".into(),
    }
}

fn tx(changes: Vec<Change>) -> Transaction {
    Transaction {
        side: Side::Legacy,
        xid: 771,
        commit_lsn: Lsn(0x16_B374_D848),
        end_lsn: Lsn(0x16_B374_D878),
        commit_ts: Utc.with_ymd_and_hms(2024, 3, 1, 16, 0, 0).unwrap()
            + chrono::Duration::microseconds(123_456),
        origin: None,
        changes,
    }
}

fn table() -> TableName {
    TableName::new("cf_quere_pro", "persona")
}

fn workload() -> Vec<Change> {
    vec![
        Change {
            op: ChangeOp::Insert,
            table: table(),
            old: None,
            new: Some(row(42, "XAXX010101000", Value::Text("alta".into()))),
        },
        Change {
            op: ChangeOp::Update,
            table: table(),
            old: None,
            new: Some(row(42, "XAXX010101001", Value::Unchanged)),
        },
        Change {
            op: ChangeOp::Update,
            table: table(),
            old: Some(key_only(42)),
            new: Some(row(43, "XAXX010101001", Value::Null)),
        },
        Change {
            op: ChangeOp::Delete,
            table: table(),
            old: Some(key_only(43)),
            new: None,
        },
        Change {
            op: ChangeOp::Truncate,
            table: table(),
            old: None,
            new: None,
        },
    ]
}

fn value_of(record: &Record) -> Json {
    serde_json::from_slice(record.value.as_ref().unwrap()).unwrap()
}

fn header<'a>(record: &'a Record, name: &str) -> Option<&'a str> {
    record
        .headers
        .iter()
        .find(|(k, _)| k == name)
        .map(|(_, v)| std::str::from_utf8(v).unwrap())
}

#[test]
fn insert_is_a_debezium_create() {
    let processed = Utc.with_ymd_and_hms(2024, 3, 1, 16, 0, 1).unwrap();
    let records = encode_transaction(&settings(), &tx(workload()[..1].to_vec()), false, processed);
    assert_eq!(records.len(), 1);
    let r = &records[0];
    assert_eq!(r.topic, "aquacis.cf_quere_pro.persona");
    assert_eq!(r.key.as_deref(), Some(br#"{"prsid":"42"}"#.as_slice()));
    assert_eq!(
        value_of(r),
        json!({
            "before": null,
            "after": {
                "prsid": "42", "prsnif": "XAXX010101000", "prsfecnac": 3789,
                "prsfecreg": 327_400_200_250_000_i64, "prssaldo": "1234.50", "prsnotas": "alta"
            },
            "op": "c",
            "ts_ms": 1_709_308_801_000_i64,
            "ts_us": 1_709_308_801_000_000_i64,
            "source": {
                "version": concat!("supra-sync-", env!("CARGO_PKG_VERSION")),
                "connector": "postgresql", "name": "aquacis", "db": "aquacis",
                "schema": "cf_quere_pro", "table": "persona", "txId": 771,
                "lsn": 0x16_B374_D848_u64, "ts_ms": 1_709_308_800_123_i64,
                "ts_us": 1_709_308_800_123_456_i64, "snapshot": "false", "origin": null
            },
            "transaction": { "id": "771:97500059720", "total_order": 1, "data_collection_order": 1 }
        })
    );
    assert_eq!(header(r, LSN_HEADER), Some("16/B374D848"));
    assert_eq!(header(r, SIDE_HEADER), Some("legacy"));
    assert_eq!(header(r, ORIGIN_HEADER), None);
    assert!(
        header(r, columns::TYPES_HEADER)
            .unwrap()
            .starts_with(r#"[["prsid","numeric","key"]"#)
    );
}

#[test]
fn snapshot_rows_are_reads_and_origin_is_carried() {
    let mut t = tx(workload()[..1].to_vec());
    t.origin = Some("supra_sync_supra".into());
    let records = encode_transaction(&settings(), &t, true, Utc::now());
    let v = value_of(&records[0]);
    assert_eq!(v["op"], "r");
    assert_eq!(v["source"]["snapshot"], "true");
    assert_eq!(v["source"]["origin"], "supra_sync_supra");
    assert_eq!(header(&records[0], ORIGIN_HEADER), Some("supra_sync_supra"));
}

#[test]
fn delete_tombstone_key_change_and_truncate_sequence() {
    let records = encode_transaction(&settings(), &tx(workload()), false, Utc::now());
    let ops: Vec<(Option<String>, Option<String>)> = records
        .iter()
        .map(|r| {
            let op = r
                .value
                .as_ref()
                .map(|_| value_of(r)["op"].as_str().unwrap().to_string());
            (
                op,
                r.key
                    .as_ref()
                    .map(|k| String::from_utf8(k.clone()).unwrap()),
            )
        })
        .collect();
    let k = |id: &str| Some(format!(r#"{{"prsid":"{id}"}}"#));
    let op = |o: &str| Some(o.to_string());
    assert_eq!(
        ops,
        vec![
            (op("c"), k("42")),
            (op("u"), k("42")),
            (op("d"), k("42")), // key change: delete old key
            (None, k("42")),    //   tombstone
            (op("c"), k("43")), //   create new key
            (op("d"), k("43")),
            (None, k("43")),
            (op("t"), None),
        ]
    );
    assert_eq!(
        value_of(&records[1])["after"]["prsnotas"],
        value::UNAVAILABLE_VALUE
    );
    assert_eq!(
        header(&records[2], NEW_KEY_HEADER),
        Some(r#"{"prsid":"43"}"#)
    );
    assert_eq!(
        header(&records[4], OLD_KEY_HEADER),
        Some(r#"{"prsid":"42"}"#)
    );
    assert_eq!(value_of(&records[5])["before"]["prsid"], "43");
    assert_eq!(value_of(&records[5])["after"], Json::Null);
    assert_eq!(value_of(&records[7])["before"], Json::Null);
    // Tombstones carry the commit position too, but no value and no types.
    assert_eq!(header(&records[3], LSN_HEADER), Some("16/B374D848"));
    assert_eq!(header(&records[3], columns::TYPES_HEADER), None);
    let orders: Vec<u64> = records
        .iter()
        .filter(|r| r.value.is_some())
        .map(|r| value_of(r)["transaction"]["total_order"].as_u64().unwrap())
        .collect();
    assert_eq!(orders, vec![1, 2, 3, 4, 5, 6]);
}

#[test]
fn records_decode_back_to_the_same_changes() {
    let t = tx(workload());
    let records = encode_transaction(&settings(), &t, false, Utc::now());
    let mut decoder = Decoder::new();
    let mut changes = Vec::new();
    let mut key_change_deletes = Vec::new();
    for r in &records {
        let headers: Vec<(&str, &[u8])> = r
            .headers
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_slice()))
            .collect();
        match decoder
            .decode(r.key.as_deref(), r.value.as_deref(), &headers)
            .unwrap()
        {
            Decoded::Change(event) => {
                assert_eq!(
                    (event.xid, event.commit_lsn, event.commit_ts),
                    (t.xid, t.commit_lsn, t.commit_ts)
                );
                assert_eq!(
                    (event.side, event.origin.as_deref(), event.snapshot),
                    (Side::Legacy, None, false)
                );
                changes.push(event.change);
            }
            Decoded::KeyChangeDelete(event) => key_change_deletes.push(event.change),
            Decoded::Tombstone => {}
        }
    }
    assert_eq!(changes, t.changes);
    // The delete half of the key change 42 → 43 decodes as the delete of key 42.
    assert_eq!(key_change_deletes.len(), 1);
    let delete = &key_change_deletes[0];
    assert_eq!(delete.op, ChangeOp::Delete);
    assert_eq!(
        delete.old.as_ref().map(Row::key_text).as_deref(),
        Some("42")
    );
    assert!(delete.new.is_none());
}

#[test]
fn foreign_or_broken_records_are_errors() {
    let mut decoder = Decoder::new();
    assert!(decoder.decode(None, Some(b"not json"), &[]).is_err());
    let records = encode_transaction(
        &settings(),
        &tx(workload()[..1].to_vec()),
        false,
        Utc::now(),
    );
    // Without the types header (a record written by Debezium itself) the types are unknown.
    let err = decoder
        .decode(None, records[0].value.as_deref(), &[])
        .unwrap_err();
    assert!(err.message.contains("supra.types"), "{err}");
    assert_eq!(
        decoder.decode(Some(b"{}"), None, &[]).unwrap(),
        Decoded::Tombstone
    );
}
