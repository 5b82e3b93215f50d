//! Decoding one message, and [`StreamDecoder`] that tracks stream blocks across messages.

use bytes::Bytes;

use crate::error::DecodeError;
use crate::message::{
    BeginBody, CommitBody, DeleteBody, InsertBody, LogicalMessage, MessageBody, OldTuple,
    OriginBody, RelationBody, RelationColumn, ReplicaIdentity, StreamAbortBody, StreamCommitBody,
    StreamStartBody, TruncateBody, TypeBody, UpdateBody, Xid, tag_name,
};
use crate::reader::Reader;
use crate::tuple::read_tuple;

/// How to decode a message.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct DecodeOptions {
    /// The message was received inside a stream block (after Stream Start, before Stream Stop;
    /// protocol version 2 with `streaming` on). There, Relation, Type, Insert, Update, Delete,
    /// Truncate and Message start with the xid of the (sub)transaction. [`StreamDecoder`] sets
    /// this for you.
    pub streaming: bool,
}

/// Decodes one pgoutput message (the payload of one XLogData message) received outside a
/// stream block. The input is copied once into a [`Bytes`]; values are slices of that copy.
/// Use [`decode_bytes`] to avoid the copy.
pub fn decode(buf: &[u8]) -> Result<LogicalMessage, DecodeError> {
    decode_bytes_with(Bytes::copy_from_slice(buf), DecodeOptions::default())
}

/// Decodes one pgoutput message received outside a stream block, without copying: text and
/// binary values and message contents are zero-copy slices of `buf`.
pub fn decode_bytes(buf: Bytes) -> Result<LogicalMessage, DecodeError> {
    decode_bytes_with(buf, DecodeOptions::default())
}

/// Decodes one pgoutput message with explicit options (see [`DecodeOptions::streaming`]).
/// Copies the input once, like [`decode`].
pub fn decode_with(buf: &[u8], options: DecodeOptions) -> Result<LogicalMessage, DecodeError> {
    decode_bytes_with(Bytes::copy_from_slice(buf), options)
}

/// Decodes one pgoutput message with explicit options, without copying value bytes.
pub fn decode_bytes_with(
    buf: Bytes,
    options: DecodeOptions,
) -> Result<LogicalMessage, DecodeError> {
    let mut r = Reader::new(&buf);
    let tag = r.u8("message tag").map_err(|_| DecodeError::Empty)?;
    let name = tag_name(tag).ok_or(DecodeError::UnknownTag(tag))?;
    let streaming = options.streaming;
    let message = match tag {
        b'B' => LogicalMessage::Begin(BeginBody {
            final_lsn: r.lsn("final lsn")?,
            commit_ts: r.timestamp("commit timestamp")?,
            xid: r.u32("xid")?,
        }),
        b'C' => LogicalMessage::Commit(CommitBody {
            flags: r.u8("commit flags")?,
            commit_lsn: r.lsn("commit lsn")?,
            end_lsn: r.lsn("end lsn")?,
            commit_ts: r.timestamp("commit timestamp")?,
        }),
        b'O' => LogicalMessage::Origin(OriginBody {
            commit_lsn: r.lsn("origin commit lsn")?,
            name: r.cstr("origin name")?,
        }),
        b'R' => LogicalMessage::Relation(relation(&mut r, streaming)?),
        b'Y' => LogicalMessage::Type(TypeBody {
            xid: stream_xid(&mut r, streaming)?,
            id: r.u32("type oid")?,
            namespace: r.cstr("type namespace")?,
            name: r.cstr("type name")?,
        }),
        b'I' => {
            let xid = stream_xid(&mut r, streaming)?;
            let relation_id = r.u32("relation id")?;
            expect_marker(&mut r, b'N', "insert tuple marker")?;
            LogicalMessage::Insert(InsertBody {
                xid,
                relation_id,
                new: read_tuple(&mut r)?,
            })
        }
        b'U' => LogicalMessage::Update(update(&mut r, streaming)?),
        b'D' => {
            let xid = stream_xid(&mut r, streaming)?;
            let relation_id = r.u32("relation id")?;
            let old = match old_tuple(&mut r, "delete tuple marker")? {
                Some(old) => old,
                None => return Err(bad_marker(&r, b'N', "delete tuple marker")),
            };
            LogicalMessage::Delete(DeleteBody {
                xid,
                relation_id,
                old,
            })
        }
        b'T' => LogicalMessage::Truncate(truncate(&mut r, streaming)?),
        b'M' => LogicalMessage::Message(message(&mut r, streaming)?),
        b'S' => LogicalMessage::StreamStart(StreamStartBody {
            xid: r.u32("xid")?,
            first_segment: r.bool("first segment flag")?,
        }),
        b'E' => LogicalMessage::StreamStop,
        b'c' => LogicalMessage::StreamCommit(StreamCommitBody {
            xid: r.u32("xid")?,
            flags: r.u8("commit flags")?,
            commit_lsn: r.lsn("commit lsn")?,
            end_lsn: r.lsn("end lsn")?,
            commit_ts: r.timestamp("commit timestamp")?,
        }),
        b'A' => LogicalMessage::StreamAbort(StreamAbortBody {
            xid: r.u32("xid")?,
            subxid: r.u32("subtransaction xid")?,
        }),
        _ => return Err(DecodeError::UnknownTag(tag)),
    };
    r.finish(name)?;
    Ok(message)
}

/// Reads the leading (sub)transaction xid of a message inside a stream block.
fn stream_xid(r: &mut Reader<'_>, streaming: bool) -> Result<Option<Xid>, DecodeError> {
    if streaming {
        r.u32("streamed xid").map(Some)
    } else {
        Ok(None)
    }
}

fn bad_marker(r: &Reader<'_>, found: u8, field: &'static str) -> DecodeError {
    DecodeError::UnexpectedByte {
        field,
        offset: r.offset() - 1,
        found,
    }
}

fn expect_marker(r: &mut Reader<'_>, want: u8, field: &'static str) -> Result<(), DecodeError> {
    match r.u8(field)? {
        found if found == want => Ok(()),
        found => Err(bad_marker(r, found, field)),
    }
}

/// Reads `'K'`/`'O'` and the old tuple after it, or consumes `'N'` and returns `None`.
fn old_tuple(r: &mut Reader<'_>, field: &'static str) -> Result<Option<OldTuple>, DecodeError> {
    match r.u8(field)? {
        b'K' => Ok(Some(OldTuple::Key(read_tuple(r)?))),
        b'O' => Ok(Some(OldTuple::Full(read_tuple(r)?))),
        b'N' => Ok(None),
        found => Err(bad_marker(r, found, field)),
    }
}

fn relation(r: &mut Reader<'_>, streaming: bool) -> Result<RelationBody, DecodeError> {
    let xid = stream_xid(r, streaming)?;
    let id = r.u32("relation id")?;
    let namespace = r.cstr("relation namespace")?;
    let name = r.cstr("relation name")?;
    let offset = r.offset();
    let byte = r.u8("replica identity")?;
    let replica_identity = ReplicaIdentity::from_byte(byte).ok_or(DecodeError::UnexpectedByte {
        field: "replica identity",
        offset,
        found: byte,
    })?;
    let count = r.len16("relation column count")?;
    // A column takes at least 10 bytes (flags, empty name, type oid, modifier).
    let mut columns = Vec::with_capacity(count.min(r.remaining() / 10));
    for _ in 0..count {
        columns.push(RelationColumn {
            flags: r.u8("column flags")?,
            name: r.cstr("column name")?,
            type_oid: r.u32("column type oid")?,
            type_modifier: r.i32("column type modifier")?,
        });
    }
    Ok(RelationBody {
        xid,
        id,
        namespace,
        name,
        replica_identity,
        columns,
    })
}

fn update(r: &mut Reader<'_>, streaming: bool) -> Result<UpdateBody, DecodeError> {
    let xid = stream_xid(r, streaming)?;
    let relation_id = r.u32("relation id")?;
    let old = old_tuple(r, "update tuple marker")?;
    if old.is_some() {
        expect_marker(r, b'N', "update new tuple marker")?;
    }
    Ok(UpdateBody {
        xid,
        relation_id,
        old,
        new: read_tuple(r)?,
    })
}

fn truncate(r: &mut Reader<'_>, streaming: bool) -> Result<TruncateBody, DecodeError> {
    let xid = stream_xid(r, streaming)?;
    let count = r.len32("truncate relation count")?;
    let options = r.u8("truncate options")?;
    let needed = count.saturating_mul(4);
    if needed > r.remaining() {
        return Err(DecodeError::UnexpectedEof {
            field: "truncate relation ids",
            offset: r.offset(),
            needed,
            available: r.remaining(),
        });
    }
    let relation_ids = (0..count)
        .map(|_| r.u32("truncate relation id"))
        .collect::<Result<_, _>>()?;
    Ok(TruncateBody {
        xid,
        options,
        relation_ids,
    })
}

fn message(r: &mut Reader<'_>, streaming: bool) -> Result<MessageBody, DecodeError> {
    let xid = stream_xid(r, streaming)?;
    let transactional = r.bool("message flags")?;
    let lsn = r.lsn("message lsn")?;
    let prefix = r.cstr("message prefix")?;
    let len = r.len32("message content length")?;
    Ok(MessageBody {
        xid,
        transactional,
        lsn,
        prefix,
        content: r.bytes(len, "message content")?,
    })
}

/// Decodes a sequence of messages from one replication connection, tracking whether each one
/// arrives inside a stream block so that the xid-prefixed forms are read correctly.
///
/// Pure state machine: Stream Start enters a block, Stream Stop leaves it. Feed it every
/// message of the connection, in order. A message that fails to decode leaves the state as is.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct StreamDecoder {
    stream_xid: Option<Xid>,
}

impl StreamDecoder {
    /// A decoder for a fresh connection (outside any stream block).
    pub fn new() -> Self {
        StreamDecoder::default()
    }

    /// The xid of the transaction whose stream block is open, if any.
    pub fn current_stream(&self) -> Option<Xid> {
        self.stream_xid
    }

    /// Decodes the next message without copying value bytes.
    pub fn decode(&mut self, buf: Bytes) -> Result<LogicalMessage, DecodeError> {
        let options = DecodeOptions {
            streaming: self.stream_xid.is_some(),
        };
        let message = decode_bytes_with(buf, options)?;
        match &message {
            LogicalMessage::StreamStart(start) => self.stream_xid = Some(start.xid),
            LogicalMessage::StreamStop => self.stream_xid = None,
            _ => {}
        }
        Ok(message)
    }
}
