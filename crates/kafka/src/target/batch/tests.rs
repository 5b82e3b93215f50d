use std::collections::HashMap;
use std::sync::Arc;

use chrono::{TimeZone, Utc};
use supra_sync_core::{Change, ChangeOp, ColumnDef, PgType, Row, RowSchema, TableName, Value};

use super::*;
use crate::EnvelopeError;
use crate::replay::UndecodableRecord;

fn table(name: &str) -> TableName {
    TableName::new("cf_quere_pro", name)
}

fn insert(t: &str, id: i64) -> Change {
    let schema = Arc::new(RowSchema {
        table: table(t),
        columns: vec![ColumnDef {
            name: "id".into(),
            pg_type: PgType::Int8,
            key: true,
        }],
    });
    Change {
        op: ChangeOp::Insert,
        table: table(t),
        old: None,
        new: Some(Row::new(schema, vec![Value::Int(id)])),
    }
}

fn event(t: &str, id: i64, xid: u32, lsn: u64, order: Option<u64>) -> Decoded {
    Decoded::Change(Box::new(ChangeEvent {
        change: insert(t, id),
        side: Side::Legacy,
        xid,
        commit_lsn: Lsn(lsn),
        commit_ts: Utc.with_ymd_and_hms(2024, 1, 1, 0, 0, 0).unwrap(),
        origin: None,
        snapshot: false,
        total_order: order,
    }))
}

fn record(topic: &str, partition: i32, offset: i64, decoded: Decoded) -> ReplayRecord {
    ReplayRecord {
        topic: topic.into(),
        partition,
        offset,
        timestamp: None,
        decoded: Ok(decoded),
    }
}

fn ids(p: &Prepared) -> Vec<Vec<(String, String)>> {
    p.transactions
        .iter()
        .map(|t| {
            t.changes
                .iter()
                .map(|c| (c.table.name.clone(), c.new.as_ref().unwrap().key_text()))
                .collect()
        })
        .collect()
}

#[test]
fn partitions_are_merged_in_commit_order_and_grouped_by_transaction() {
    // contrato's partition was read first, but its transaction committed after persona's.
    let batch = ReplayBatch {
        records: vec![
            record("x.contrato", 0, 0, event("contrato", 10, 8, 0x200, Some(2))),
            record("x.contrato", 0, 1, Decoded::Tombstone),
            record("x.persona", 0, 0, event("persona", 1, 7, 0x100, Some(1))),
            record("x.persona", 0, 1, event("persona", 2, 8, 0x200, Some(1))),
        ],
        next_offsets: HashMap::new(),
    };
    let p = prepare(batch);
    assert_eq!(p.tombstones, 1);
    assert_eq!(p.max_lsn, Some(Lsn(0x200)));
    assert_eq!(
        ids(&p),
        vec![
            vec![("persona".into(), "1".into())],
            vec![
                ("persona".into(), "2".into()),
                ("contrato".into(), "10".into())
            ],
        ]
    );
    assert_eq!(p.transactions[1].xid, 8);
    assert_eq!(p.changes(), 3);
}

#[test]
fn a_resent_suffix_still_ends_with_the_newest_image() {
    // Published T1 T2 T3, the attempt failed after T1 and T2..T3 were re-sent.
    let batch = ReplayBatch {
        records: vec![
            record("x.p", 0, 0, event("p", 1, 1, 0x10, Some(1))),
            record("x.p", 0, 1, event("p", 2, 2, 0x20, Some(1))),
            record("x.p", 0, 2, event("p", 3, 3, 0x30, Some(1))),
            record("x.p", 0, 3, event("p", 2, 2, 0x20, Some(1))),
            record("x.p", 0, 4, event("p", 3, 3, 0x30, Some(1))),
        ],
        next_offsets: HashMap::new(),
    };
    let p = prepare(batch);
    let lsns: Vec<u64> = p.transactions.iter().map(|t| t.commit_lsn.0).collect();
    assert_eq!(lsns, vec![0x10, 0x20, 0x30]);
    assert_eq!(p.transactions.last().unwrap().changes.len(), 2);
}

#[test]
fn foreign_side_undecodable_and_key_change_deletes_are_set_aside() {
    let mut supra_side = event("persons", 1, 1, 0x10, None);
    if let Decoded::Change(e) = &mut supra_side {
        e.side = Side::Supra;
    }
    let bad = ReplayRecord {
        topic: "x.p".into(),
        partition: 3,
        offset: 9,
        timestamp: None,
        decoded: Err(UndecodableRecord {
            error: EnvelopeError::new("value is not JSON"),
            key: None,
            value: Some(b"garbage".to_vec()),
        }),
    };
    let batch = ReplayBatch {
        records: vec![
            record("x.persons", 0, 0, supra_side),
            record("x.p", 0, 0, Decoded::Tombstone),
            bad,
        ],
        next_offsets: HashMap::new(),
    };
    let p = prepare(batch);
    assert!(p.transactions.is_empty());
    assert_eq!((p.foreign, p.tombstones, p.failed.len()), (1, 1, 1));
    assert_eq!((p.failed[0].partition, p.failed[0].offset), (3, 9));
    assert_eq!(p.max_lsn, None);
    assert!(empty_transaction(Lsn(5)).changes.is_empty());
}

#[test]
fn a_key_change_is_replayed_as_delete_then_insert_whatever_partition_comes_first() {
    let key_change = |new_first: bool| {
        let Decoded::Change(create) = event("p", 2, 9, 0x90, Some(2)) else {
            unreachable!()
        };
        let mut create = *create;
        let mut old = create.change.new.clone().unwrap();
        old.values[0] = Value::Int(1);
        create.change.op = ChangeOp::Update;
        create.change.old = Some(old.clone());
        let Decoded::Change(delete) = event("p", 1, 9, 0x90, Some(1)) else {
            unreachable!()
        };
        let mut delete = *delete;
        delete.change.op = ChangeOp::Delete;
        delete.change.old = Some(old);
        delete.change.new = None;
        let halves = [
            record("x.p", 0, 5, Decoded::KeyChangeDelete(Box::new(delete))),
            record("x.p", 1, 3, Decoded::Change(Box::new(create))),
        ];
        let records = if new_first {
            vec![halves[1].clone(), halves[0].clone()]
        } else {
            halves.to_vec()
        };
        prepare(ReplayBatch {
            records,
            next_offsets: HashMap::new(),
        })
    };
    for new_first in [false, true] {
        let p = key_change(new_first);
        let ops: Vec<(ChangeOp, String)> = p.transactions[0]
            .changes
            .iter()
            .map(|c| (c.op, c.identity().unwrap().key_text()))
            .collect();
        assert_eq!(
            ops,
            vec![
                (ChangeOp::Delete, "1".to_string()),
                (ChangeOp::Insert, "2".to_string())
            ]
        );
        assert!(p.transactions[0].changes[1].old.is_none());
    }
}
