//! A pgoutput encoder, for tests only (feature `test-util`).
//!
//! It writes the bytes PostgreSQL would send for a [`LogicalMessage`], so that tests of this and
//! other crates can build replication streams without a server. The xid prefix of streamed
//! messages is written when their `xid` is `Some`. Strings must not contain NUL bytes.

use crate::message::{LogicalMessage, OldTuple};
use crate::tuple::{ColumnValue, TupleData};

/// Encodes `message` as pgoutput bytes.
pub fn encode(message: &LogicalMessage) -> Vec<u8> {
    let mut w = Writer(Vec::with_capacity(64));
    w.u8(message.tag());
    match message {
        LogicalMessage::Begin(b) => {
            w.u64(b.final_lsn.0);
            w.i64(b.commit_ts.0);
            w.u32(b.xid);
        }
        LogicalMessage::Commit(b) => {
            w.u8(b.flags);
            w.u64(b.commit_lsn.0);
            w.u64(b.end_lsn.0);
            w.i64(b.commit_ts.0);
        }
        LogicalMessage::Origin(b) => {
            w.u64(b.commit_lsn.0);
            w.cstr(&b.name);
        }
        LogicalMessage::Relation(b) => {
            w.xid(b.xid);
            w.u32(b.id);
            w.cstr(&b.namespace);
            w.cstr(&b.name);
            w.u8(b.replica_identity.to_byte());
            w.len16(b.columns.len());
            for c in &b.columns {
                w.u8(c.flags);
                w.cstr(&c.name);
                w.u32(c.type_oid);
                w.0.extend_from_slice(&c.type_modifier.to_be_bytes());
            }
        }
        LogicalMessage::Type(b) => {
            w.xid(b.xid);
            w.u32(b.id);
            w.cstr(&b.namespace);
            w.cstr(&b.name);
        }
        LogicalMessage::Insert(b) => {
            w.xid(b.xid);
            w.u32(b.relation_id);
            w.u8(b'N');
            w.tuple(&b.new);
        }
        LogicalMessage::Update(b) => {
            w.xid(b.xid);
            w.u32(b.relation_id);
            if let Some(old) = &b.old {
                w.old(old);
            }
            w.u8(b'N');
            w.tuple(&b.new);
        }
        LogicalMessage::Delete(b) => {
            w.xid(b.xid);
            w.u32(b.relation_id);
            w.old(&b.old);
        }
        LogicalMessage::Truncate(b) => {
            w.xid(b.xid);
            w.len32(b.relation_ids.len());
            w.u8(b.options);
            for id in &b.relation_ids {
                w.u32(*id);
            }
        }
        LogicalMessage::Message(b) => {
            w.xid(b.xid);
            w.u8(u8::from(b.transactional));
            w.u64(b.lsn.0);
            w.cstr(&b.prefix);
            w.len32(b.content.len());
            w.0.extend_from_slice(&b.content);
        }
        LogicalMessage::StreamStart(b) => {
            w.u32(b.xid);
            w.u8(u8::from(b.first_segment));
        }
        LogicalMessage::StreamStop => {}
        LogicalMessage::StreamCommit(b) => {
            w.u32(b.xid);
            w.u8(b.flags);
            w.u64(b.commit_lsn.0);
            w.u64(b.end_lsn.0);
            w.i64(b.commit_ts.0);
        }
        LogicalMessage::StreamAbort(b) => {
            w.u32(b.xid);
            w.u32(b.subxid);
        }
    }
    w.0
}

struct Writer(Vec<u8>);

impl Writer {
    fn u8(&mut self, v: u8) {
        self.0.push(v);
    }

    fn u32(&mut self, v: u32) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn i64(&mut self, v: i64) {
        self.0.extend_from_slice(&v.to_be_bytes());
    }

    fn len16(&mut self, len: usize) {
        let len = i16::try_from(len).expect("pgoutput counts fit in Int16");
        self.0.extend_from_slice(&len.to_be_bytes());
    }

    fn len32(&mut self, len: usize) {
        let len = i32::try_from(len).expect("pgoutput lengths fit in Int32");
        self.0.extend_from_slice(&len.to_be_bytes());
    }

    fn cstr(&mut self, s: &str) {
        assert!(!s.contains('\0'), "pgoutput strings cannot contain NUL");
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
    }

    fn xid(&mut self, xid: Option<u32>) {
        if let Some(xid) = xid {
            self.u32(xid);
        }
    }

    fn old(&mut self, old: &OldTuple) {
        match old {
            OldTuple::Key(_) => self.u8(b'K'),
            OldTuple::Full(_) => self.u8(b'O'),
        }
        self.tuple(old.tuple());
    }

    fn value(&mut self, kind: u8, bytes: &[u8]) {
        self.u8(kind);
        self.len32(bytes.len());
        self.0.extend_from_slice(bytes);
    }

    fn tuple(&mut self, tuple: &TupleData) {
        self.len16(tuple.len());
        for value in tuple {
            match value {
                ColumnValue::Null => self.u8(b'n'),
                ColumnValue::Unchanged => self.u8(b'u'),
                ColumnValue::Text(b) => self.value(b't', b),
                ColumnValue::Binary(b) => self.value(b'b', b),
            }
        }
    }
}
