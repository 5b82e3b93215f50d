//! A pure decoder for PostgreSQL's `pgoutput` logical replication protocol, versions 1 and 2
//! (as PostgreSQL 15 sends them).
//!
//! ```text
//!  replication connection (I/O lives elsewhere)
//!        │  CopyData ─► XLogData{wal_start, wal_end, ts, payload: Bytes}
//!        ▼
//!  StreamDecoder::decode(payload)   tracks Stream Start/Stop ─► DecodeOptions{streaming}
//!        │     └─ decode_bytes_with ─► Reader (bounds-checked, big-endian)
//!        ▼                                 ├─ message fields (lsn, xid, names)
//!  LogicalMessage                          └─ TupleData ─► ColumnValue::{Null, Unchanged,
//!    Begin · Commit · Origin · Relation · Type              Text(Bytes), Binary(Bytes)}
//!    Insert · Update · Delete · Truncate · Message          (zero-copy slices of payload)
//!    StreamStart · StreamStop · StreamCommit · StreamAbort
//! ```
//!
//! The crate does no I/O and keeps no state beyond [`StreamDecoder`]'s "inside a stream block"
//! flag. It never panics on input: every read is bounds-checked, lengths and counts are checked
//! against the bytes left before anything is allocated, and anything malformed — truncated,
//! unknown tags or markers, negative lengths, invalid UTF-8 in identifiers, trailing bytes — is a
//! [`DecodeError`].
//!
//! What it leaves to the caller:
//! * Relation messages describe the tuples that follow; keep them by [`Oid`] to interpret
//!   tuples (a relation is re-sent after DDL and at the start of each session).
//! * [`ColumnValue::Unchanged`] means "this TOASTed column did not change and was not sent": it
//!   is neither NULL nor a value and must be merged with the previous row image.
//! * Inside a stream block, changes carry the xid of the *subtransaction* that made them
//!   (see [`StreamAbortBody`]); group them by the xid of the Stream Start.
//!
//! ```
//! use supra_sync_pgoutput::{decode, ColumnValue, LogicalMessage};
//!
//! // Insert into relation 16391: (1, NULL, unchanged TOAST)
//! let msg = decode(b"I\x00\x00\x40\x07N\x00\x03t\x00\x00\x00\x011nu").unwrap();
//! let LogicalMessage::Insert(insert) = msg else { panic!("not an insert") };
//! assert_eq!(insert.relation_id, 16391);
//! assert_eq!(insert.new.get(0).and_then(ColumnValue::as_str), Some(Ok("1")));
//! assert!(insert.new.get(1).is_some_and(ColumnValue::is_null));
//! assert!(insert.new.get(2).is_some_and(ColumnValue::is_unchanged));
//! ```
#![deny(missing_docs)]

mod decode;
#[cfg(any(test, feature = "test-util"))]
pub mod encode;
mod error;
mod lsn;
mod message;
mod reader;
mod time;
mod tuple;

pub use decode::{
    DecodeOptions, StreamDecoder, decode, decode_bytes, decode_bytes_with, decode_with,
};
pub use error::DecodeError;
pub use lsn::{Lsn, ParseLsnError};
pub use message::{
    BeginBody, CommitBody, DeleteBody, InsertBody, LogicalMessage, MessageBody, Oid, OldTuple,
    OriginBody, RelationBody, RelationColumn, ReplicaIdentity, StreamAbortBody, StreamCommitBody,
    StreamStartBody, TruncateBody, TypeBody, UpdateBody, Xid,
};
pub use time::{PG_EPOCH_UNIX_MICROS, PgTimestamp};
pub use tuple::{ColumnValue, TupleData};
