//! Hand-written bytes for each message kind (independent of the test encoder) and error cases.

use bytes::Bytes;
use supra_sync_pgoutput::{
    BeginBody, ColumnValue, CommitBody, DecodeOptions, LogicalMessage, Lsn, OldTuple, PgTimestamp,
    ReplicaIdentity, StreamAbortBody, StreamCommitBody, StreamDecoder, StreamStartBody, decode,
    decode_bytes, decode_with,
};

use crate::{assert_truncations_fail, cat};

const LSN_A: &[u8] = &[0, 0, 0, 0, 0x01, 0x53, 0x3a, 0x48]; // 0/1533A48
const LSN_B: &[u8] = &[0, 0, 0, 0x01, 0, 0, 0, 0x10]; // 1/10
const TS: &[u8] = &[0x00, 0x02, 0xb0, 0xec, 0x85, 0x20, 0x4f, 0x35]; // 2024-01-02 03:04:05.678901Z
const TS_VALUE: PgTimestamp = PgTimestamp(0x0002_b0ec_8520_4f35);
const REL: &[u8] = &[0, 0, 0x40, 0x07]; // relation 16391
const XID: &[u8] = &[0, 0, 0x02, 0xda]; // 730

fn text(s: &str) -> ColumnValue {
    ColumnValue::Text(Bytes::copy_from_slice(s.as_bytes()))
}

/// Decodes `bytes` and checks that each of its truncations fails.
fn ok(bytes: &[u8]) -> LogicalMessage {
    assert_truncations_fail(bytes, false);
    decode(bytes).unwrap_or_else(|e| panic!("{e}: {bytes:02x?}"))
}

/// Like [`ok`], inside a stream block.
fn ok_streamed(bytes: &[u8]) -> LogicalMessage {
    assert_truncations_fail(bytes, true);
    decode_with(bytes, DecodeOptions { streaming: true }).unwrap()
}

#[test]
fn begin() {
    let msg = ok(&cat(&[b"B", LSN_A, TS, XID]));
    let expected = BeginBody {
        final_lsn: Lsn(0x1533a48),
        commit_ts: TS_VALUE,
        xid: 730,
    };
    assert_eq!(msg, LogicalMessage::Begin(expected));
    assert_eq!(msg.xid(), Some(730));
    assert_eq!(TS_VALUE.unix_micros(), 1_704_164_645_678_901);
}

#[test]
fn commit() {
    let msg = ok(&cat(&[b"C", &[0], LSN_A, LSN_B, TS]));
    let expected = CommitBody {
        flags: 0,
        commit_lsn: Lsn(0x1533a48),
        end_lsn: Lsn(0x1_0000_0010),
        commit_ts: TS_VALUE,
    };
    assert_eq!(msg, LogicalMessage::Commit(expected));
    assert_eq!(msg.name(), "Commit");
}

#[test]
fn origin() {
    let LogicalMessage::Origin(o) = ok(&cat(&[b"O", LSN_B, b"supra_sync_legacy\0"])) else {
        panic!("not an origin")
    };
    assert_eq!(
        (o.commit_lsn, o.name.as_str()),
        (Lsn(0x1_0000_0010), "supra_sync_legacy")
    );
}

#[test]
#[rustfmt::skip]
fn relation() {
    let bytes = cat(&[
        b"R",
        REL,
        b"public\0",
        "persona_ñ\0".as_bytes(),
        b"d",
        &[0, 3],
        &[1], b"prsid\0", &[0, 0, 0, 23], &[0xff, 0xff, 0xff, 0xff], // int4, key
        &[0], b"prsnif\0", &[0, 0, 4, 19], &[0, 0, 0, 17], // varchar(13)
        &[0], b"\0", &[0, 0, 0x40, 0x01], &[0xff, 0xff, 0xff, 0xff], // empty name, user type
    ]);
    let LogicalMessage::Relation(r) = ok(&bytes) else { panic!("not a relation") };
    assert_eq!((r.xid, r.id), (None, 16391));
    assert_eq!((r.namespace.as_str(), r.name.as_str()), ("public", "persona_ñ"));
    assert_eq!(r.replica_identity, ReplicaIdentity::Default);
    let cols: Vec<_> = r
        .columns
        .iter()
        .map(|c| (c.is_key(), c.name.as_str(), c.type_oid, c.type_modifier))
        .collect();
    assert_eq!(
        cols,
        [(true, "prsid", 23, -1), (false, "prsnif", 1043, 17), (false, "", 16385, -1)]
    );

    for (byte, identity) in [
        (b'n', ReplicaIdentity::Nothing),
        (b'f', ReplicaIdentity::Full),
        (b'i', ReplicaIdentity::Index),
    ] {
        let LogicalMessage::Relation(r) = ok(&cat(&[b"R", REL, b"\0t\0", &[byte], &[0, 0]]))
        else {
            panic!("not a relation")
        };
        assert_eq!((r.replica_identity, r.namespace.as_str()), (identity, ""));
        assert!(r.columns.is_empty());
    }
}

#[test]
fn type_message() {
    let LogicalMessage::Type(t) = ok(&cat(&[b"Y", &[0, 0, 0x40, 0x01], b"public\0mood\0"])) else {
        panic!("not a type")
    };
    assert_eq!(
        (t.xid, t.id, t.namespace.as_str(), t.name.as_str()),
        (None, 16385, "public", "mood")
    );
}

#[test]
#[rustfmt::skip]
fn insert_with_every_column_kind() {
    let bytes = cat(&[
        b"I",
        REL,
        b"N",
        &[0, 6],
        b"t", &[0, 0, 0, 1], b"1",
        b"n",
        b"t", &[0, 0, 0, 0], // empty string, not NULL
        b"t", &[0, 0, 0, 17], "José Núñez 水".as_bytes(),
        b"u",
        b"b", &[0, 0, 0, 4], &[0, 0, 0, 42],
    ]);
    let LogicalMessage::Insert(i) = ok(&bytes) else { panic!("not an insert") };
    assert_eq!((i.xid, i.relation_id), (None, 16391));
    assert_eq!(
        i.new.columns(),
        [
            text("1"),
            ColumnValue::Null,
            text(""),
            text("José Núñez 水"),
            ColumnValue::Unchanged,
            ColumnValue::Binary(Bytes::from_static(&[0, 0, 0, 42])),
        ]
    );
    assert_eq!(i.new.get(3).and_then(ColumnValue::as_str), Some(Ok("José Núñez 水")));
    assert!(i.new.get(2).is_some_and(|v| !v.is_null()));
}

#[test]
fn insert_of_zero_columns() {
    let LogicalMessage::Insert(i) = ok(&cat(&[b"I", REL, b"N", &[0, 0]])) else {
        panic!("not an insert")
    };
    assert!(i.new.is_empty());
}

#[test]
fn update_without_old_tuple_keeps_unchanged_toast() {
    let bytes = cat(&[b"U", REL, b"N", &[0, 2], b"t", &[0, 0, 0, 1], b"2", b"u"]);
    let LogicalMessage::Update(u) = ok(&bytes) else {
        panic!("not an update")
    };
    assert_eq!(u.old, None);
    assert_eq!(u.new.columns(), [text("2"), ColumnValue::Unchanged]);
    assert!(u.new.has_unchanged());
}

#[test]
#[rustfmt::skip]
fn update_with_old_key() {
    let bytes = cat(&[
        b"U", REL,
        b"K", &[0, 2], b"t", &[0, 0, 0, 1], b"1", b"n",
        b"N", &[0, 2], b"t", &[0, 0, 0, 2], b"10", b"t", &[0, 0, 0, 1], b"x",
    ]);
    let LogicalMessage::Update(u) = ok(&bytes) else { panic!("not an update") };
    assert_eq!(u.old, Some(OldTuple::Key(vec![text("1"), ColumnValue::Null].into())));
    assert_eq!(u.new.columns(), [text("10"), text("x")]);
}

#[test]
#[rustfmt::skip]
fn update_with_old_full_tuple() {
    let bytes = cat(&[
        b"U", REL,
        b"O", &[0, 1], b"t", &[0, 0, 0, 4], b"1.50",
        b"N", &[0, 1], b"t", &[0, 0, 0, 4], b"0.00",
    ]);
    let LogicalMessage::Update(u) = ok(&bytes) else { panic!("not an update") };
    assert_eq!(u.old, Some(OldTuple::Full(vec![text("1.50")].into())));
    assert_eq!(u.new.columns(), [text("0.00")]);
}

#[test]
fn delete_by_key_and_full() {
    let LogicalMessage::Delete(d) = ok(&cat(&[
        b"D",
        REL,
        b"K",
        &[0, 2],
        b"t",
        &[0, 0, 0, 2],
        b"10",
        b"n",
    ])) else {
        panic!("not a delete")
    };
    assert_eq!(
        d.old,
        OldTuple::Key(vec![text("10"), ColumnValue::Null].into())
    );
    let LogicalMessage::Delete(d) = ok(&cat(&[b"D", REL, b"O", &[0, 1], b"n"])) else {
        panic!("not a delete")
    };
    assert_eq!(d.old, OldTuple::Full(vec![ColumnValue::Null].into()));
    assert_eq!(d.old.tuple().len(), 1);
}

#[test]
fn truncate() {
    let bytes = cat(&[b"T", &[0, 0, 0, 2], &[3], &[0, 0, 0x40, 0x0e], REL]);
    let LogicalMessage::Truncate(t) = ok(&bytes) else {
        panic!("not a truncate")
    };
    assert!(t.cascade() && t.restart_identity());
    assert_eq!(t.relation_ids, [16398, 16391]);
    let LogicalMessage::Truncate(t) = ok(&cat(&[b"T", &[0, 0, 0, 1], &[0], REL])) else {
        panic!("not a truncate")
    };
    assert!(!t.cascade() && !t.restart_identity());
    assert_eq!(t.relation_ids, [16391]);
}

#[test]
fn logical_messages() {
    let bytes = cat(&[b"M", &[1], LSN_A, b"prefix\0", &[0, 0, 0, 7], b"content"]);
    let LogicalMessage::Message(m) = ok(&bytes) else {
        panic!("not a message")
    };
    assert!(m.transactional);
    assert_eq!(
        (m.lsn, m.prefix.as_str(), &m.content[..]),
        (Lsn(0x1533a48), "prefix", &b"content"[..])
    );

    let bytes = cat(&[b"M", &[0], LSN_B, b"\0", &[0, 0, 0, 0]]);
    let LogicalMessage::Message(m) = ok(&bytes) else {
        panic!("not a message")
    };
    assert!(!m.transactional);
    assert!(m.prefix.is_empty() && m.content.is_empty());

    // Content is arbitrary bytes, NUL and invalid UTF-8 included.
    let bytes = cat(&[b"M", &[1], LSN_B, b"p\0", &[0, 0, 0, 3], &[0, 0xff, 0]]);
    let LogicalMessage::Message(m) = ok(&bytes) else {
        panic!("not a message")
    };
    assert_eq!(&m.content[..], [0, 0xff, 0]);
}

#[test]
fn stream_control_messages() {
    assert_eq!(
        ok(&cat(&[b"S", XID, &[1]])),
        LogicalMessage::StreamStart(StreamStartBody {
            xid: 730,
            first_segment: true
        })
    );
    assert_eq!(
        ok(&cat(&[b"S", XID, &[0]])),
        LogicalMessage::StreamStart(StreamStartBody {
            xid: 730,
            first_segment: false
        })
    );
    assert_eq!(ok(b"E"), LogicalMessage::StreamStop);
    assert_eq!(
        ok(&cat(&[b"c", XID, &[0], LSN_A, LSN_B, TS])),
        LogicalMessage::StreamCommit(StreamCommitBody {
            xid: 730,
            flags: 0,
            commit_lsn: Lsn(0x1533a48),
            end_lsn: Lsn(0x1_0000_0010),
            commit_ts: TS_VALUE,
        })
    );
    let abort = ok(&cat(&[b"A", XID, &[0, 0, 0x02, 0xdb]]));
    let expected = StreamAbortBody {
        xid: 730,
        subxid: 731,
    };
    assert_eq!(abort, LogicalMessage::StreamAbort(expected));
    assert!(!expected.is_top_level());
}

#[test]
fn streamed_changes_carry_an_xid() {
    let sub = &[0, 0, 0x02, 0xdb]; // subtransaction 731
    let msg = ok_streamed(&cat(&[b"I", sub, REL, b"N", &[0, 1], b"n"]));
    assert_eq!((msg.xid(), msg.relation_id()), (Some(731), Some(16391)));
    let msg = ok_streamed(&cat(&[b"R", XID, REL, b"public\0t\0", b"f", &[0, 0]]));
    assert_eq!((msg.xid(), msg.relation_id()), (Some(730), Some(16391)));
    let msg = ok_streamed(&cat(&[b"Y", XID, REL, b"public\0mood\0"]));
    assert_eq!(msg.xid(), Some(730));
    let msg = ok_streamed(&cat(&[b"U", XID, REL, b"N", &[0, 1], b"u"]));
    assert_eq!(msg.xid(), Some(730));
    let msg = ok_streamed(&cat(&[b"D", XID, REL, b"K", &[0, 1], b"n"]));
    assert_eq!(msg.xid(), Some(730));
    let msg = ok_streamed(&cat(&[b"T", XID, &[0, 0, 0, 1], &[0], REL]));
    assert_eq!(msg.xid(), Some(730));
    let msg = ok_streamed(&cat(&[
        b"M",
        XID,
        &[1],
        LSN_A,
        b"stream\0",
        &[0, 0, 0, 1],
        b"x",
    ]));
    assert_eq!(msg.xid(), Some(730));
    // Without the streaming option the same bytes are misread, and the decoder notices.
    assert!(decode(&cat(&[b"I", sub, REL, b"N", &[0, 1], b"n"])).is_err());
}

#[test]
fn stream_decoder_tracks_stream_blocks() {
    let mut decoder = StreamDecoder::new();
    let feed = |d: &mut StreamDecoder, parts: &[&[u8]]| d.decode(Bytes::from(cat(parts))).unwrap();
    assert_eq!(feed(&mut decoder, &[b"S", XID, &[1]]).tag(), b'S');
    assert_eq!(decoder.current_stream(), Some(730));
    let msg = feed(&mut decoder, &[b"I", XID, REL, b"N", &[0, 0]]);
    assert_eq!(msg.xid(), Some(730));
    // A failed decode leaves the state unchanged.
    assert!(decoder.decode(Bytes::from_static(b"I")).is_err());
    assert_eq!(feed(&mut decoder, &[b"E"]), LogicalMessage::StreamStop);
    assert_eq!(decoder.current_stream(), None);
    assert_eq!(
        feed(&mut decoder, &[b"c", XID, &[0], LSN_A, LSN_B, TS]).xid(),
        Some(730)
    );
    let msg = feed(&mut decoder, &[b"I", REL, b"N", &[0, 0]]);
    assert_eq!(msg.xid(), None);
}

#[test]
fn decode_bytes_is_zero_copy() {
    let input = Bytes::from(cat(&[
        b"I",
        REL,
        b"N",
        &[0, 1],
        b"t",
        &[0, 0, 0, 3],
        b"abc",
    ]));
    let LogicalMessage::Insert(i) = decode_bytes(input.clone()).unwrap() else {
        panic!("not an insert")
    };
    let value = i.new.get(0).and_then(ColumnValue::as_bytes).unwrap();
    assert_eq!(value.as_ptr(), input[input.len() - 3..].as_ptr());
}
