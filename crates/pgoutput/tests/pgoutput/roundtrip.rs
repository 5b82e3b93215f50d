//! Encoding then decoding gives back the message; real captured bytes re-encode identically.

use bytes::Bytes;
use proptest::prelude::*;
use supra_sync_pgoutput::encode::encode;
use supra_sync_pgoutput::{
    BeginBody, ColumnValue, CommitBody, DecodeOptions, DeleteBody, InsertBody, LogicalMessage, Lsn,
    MessageBody, OldTuple, OriginBody, PgTimestamp, RelationBody, RelationColumn, ReplicaIdentity,
    StreamAbortBody, StreamCommitBody, StreamDecoder, StreamStartBody, TruncateBody, TupleData,
    TypeBody, UpdateBody, decode_with,
};

use crate::captured::load;

fn name() -> impl Strategy<Value = String> {
    "[^\0]{0,12}"
}

fn bytes() -> impl Strategy<Value = Bytes> {
    prop::collection::vec(any::<u8>(), 0..24).prop_map(Bytes::from)
}

fn tuple() -> impl Strategy<Value = TupleData> {
    let value = prop_oneof![
        Just(ColumnValue::Null),
        Just(ColumnValue::Unchanged),
        bytes().prop_map(ColumnValue::Text),
        bytes().prop_map(ColumnValue::Binary),
    ];
    prop::collection::vec(value, 0..6).prop_map(TupleData)
}

fn old_tuple() -> impl Strategy<Value = OldTuple> {
    prop_oneof![
        tuple().prop_map(OldTuple::Key),
        tuple().prop_map(OldTuple::Full)
    ]
}

fn identity() -> impl Strategy<Value = ReplicaIdentity> {
    prop::sample::select(vec![
        ReplicaIdentity::Default,
        ReplicaIdentity::Nothing,
        ReplicaIdentity::Full,
        ReplicaIdentity::Index,
    ])
}

fn column() -> impl Strategy<Value = RelationColumn> {
    (any::<u8>(), name(), any::<u32>(), any::<i32>()).prop_map(
        |(flags, name, type_oid, type_modifier)| RelationColumn {
            flags,
            name,
            type_oid,
            type_modifier,
        },
    )
}

/// Messages whose xid prefix depends on the stream block, given that prefix.
fn change(xid: Option<u32>) -> impl Strategy<Value = LogicalMessage> {
    prop_oneof![
        (
            any::<u32>(),
            name(),
            name(),
            identity(),
            prop::collection::vec(column(), 0..4)
        )
            .prop_map(move |(id, namespace, name, replica_identity, columns)| {
                LogicalMessage::Relation(RelationBody {
                    xid,
                    id,
                    namespace,
                    name,
                    replica_identity,
                    columns,
                })
            }),
        (any::<u32>(), name(), name()).prop_map(move |(id, namespace, name)| {
            LogicalMessage::Type(TypeBody {
                xid,
                id,
                namespace,
                name,
            })
        }),
        (any::<u32>(), tuple()).prop_map(move |(relation_id, new)| {
            LogicalMessage::Insert(InsertBody {
                xid,
                relation_id,
                new,
            })
        }),
        (any::<u32>(), prop::option::of(old_tuple()), tuple()).prop_map(
            move |(relation_id, old, new)| {
                LogicalMessage::Update(UpdateBody {
                    xid,
                    relation_id,
                    old,
                    new,
                })
            }
        ),
        (any::<u32>(), old_tuple()).prop_map(move |(relation_id, old)| {
            LogicalMessage::Delete(DeleteBody {
                xid,
                relation_id,
                old,
            })
        }),
        (any::<u8>(), prop::collection::vec(any::<u32>(), 0..4)).prop_map(
            move |(options, relation_ids)| {
                LogicalMessage::Truncate(TruncateBody {
                    xid,
                    options,
                    relation_ids,
                })
            }
        ),
        (any::<bool>(), any::<u64>(), name(), bytes()).prop_map(
            move |(transactional, lsn, prefix, content)| {
                LogicalMessage::Message(MessageBody {
                    xid,
                    transactional,
                    lsn: Lsn(lsn),
                    prefix,
                    content,
                })
            }
        ),
    ]
}

/// Messages that look the same inside and outside a stream block.
fn control() -> impl Strategy<Value = LogicalMessage> {
    let lsn = any::<u64>().prop_map(Lsn);
    let ts = any::<i64>().prop_map(PgTimestamp);
    prop_oneof![
        (lsn.clone(), ts.clone(), any::<u32>()).prop_map(|(final_lsn, commit_ts, xid)| {
            LogicalMessage::Begin(BeginBody {
                final_lsn,
                commit_ts,
                xid,
            })
        }),
        (any::<u8>(), lsn.clone(), lsn.clone(), ts.clone()).prop_map(
            |(flags, commit_lsn, end_lsn, commit_ts)| {
                LogicalMessage::Commit(CommitBody {
                    flags,
                    commit_lsn,
                    end_lsn,
                    commit_ts,
                })
            }
        ),
        (lsn.clone(), name())
            .prop_map(|(commit_lsn, name)| LogicalMessage::Origin(OriginBody { commit_lsn, name })),
        (any::<u32>(), any::<bool>()).prop_map(|(xid, first_segment)| {
            LogicalMessage::StreamStart(StreamStartBody { xid, first_segment })
        }),
        Just(LogicalMessage::StreamStop),
        (any::<u32>(), any::<u8>(), lsn.clone(), lsn, ts).prop_map(
            |(xid, flags, commit_lsn, end_lsn, commit_ts)| {
                LogicalMessage::StreamCommit(StreamCommitBody {
                    xid,
                    flags,
                    commit_lsn,
                    end_lsn,
                    commit_ts,
                })
            }
        ),
        (any::<u32>(), any::<u32>())
            .prop_map(|(xid, subxid)| LogicalMessage::StreamAbort(StreamAbortBody { xid, subxid })),
    ]
}

/// A message and whether it is decoded inside a stream block.
fn message() -> impl Strategy<Value = (LogicalMessage, bool)> {
    prop_oneof![
        change(None).prop_map(|m| (m, false)),
        any::<u32>()
            .prop_flat_map(|xid| change(Some(xid)))
            .prop_map(|m| (m, true)),
        (control(), any::<bool>()),
    ]
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(2048))]

    #[test]
    fn encode_then_decode_is_identity((message, streaming) in message()) {
        let bytes = encode(&message);
        prop_assert_eq!(decode_with(&bytes, DecodeOptions { streaming }), Ok(message));
    }
}

#[test]
fn captured_messages_re_encode_to_the_same_bytes() {
    for name in [
        "pgoutput_v1.txt",
        "pgoutput_v1_binary.txt",
        "pgoutput_v2_stream.txt",
    ] {
        let mut decoder = StreamDecoder::new();
        for c in load(name) {
            let message = decoder.decode(c.bytes.clone()).unwrap();
            assert_eq!(encode(&message), c.bytes, "{name}: {message:?}");
        }
    }
}
