//! The decoded pgoutput messages.
//!
//! Field names follow PostgreSQL's "Logical Replication Message Formats" chapter. Fields named
//! `xid: Option<Xid>` are present only on messages sent inside a stream block (between Stream
//! Start and Stream Stop, protocol version 2): there they carry the xid of the (sub)transaction
//! that made the change, which may be a subtransaction of the streamed transaction.

use bytes::Bytes;

use crate::lsn::Lsn;
use crate::time::PgTimestamp;
use crate::tuple::TupleData;

/// A PostgreSQL object identifier (relation or type OID).
pub type Oid = u32;

/// A PostgreSQL transaction id (32 bits, as sent on the wire).
pub type Xid = u32;

/// One decoded pgoutput message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum LogicalMessage {
    /// `'B'`: a transaction begins.
    Begin(BeginBody),
    /// `'C'`: the transaction commits.
    Commit(CommitBody),
    /// `'O'`: the transaction was replicated from another node (it carries a replication origin).
    Origin(OriginBody),
    /// `'R'`: the schema of a relation, sent before its first change in a session and after DDL.
    Relation(RelationBody),
    /// `'Y'`: a non-built-in type used by a relation's columns.
    Type(TypeBody),
    /// `'I'`: a row was inserted.
    Insert(InsertBody),
    /// `'U'`: a row was updated.
    Update(UpdateBody),
    /// `'D'`: a row was deleted.
    Delete(DeleteBody),
    /// `'T'`: relations were truncated.
    Truncate(TruncateBody),
    /// `'M'`: a message from `pg_logical_emit_message` (sent with the `messages` option).
    Message(MessageBody),
    /// `'S'`: a block of a streamed, still in-progress transaction starts (protocol 2).
    StreamStart(StreamStartBody),
    /// `'E'`: the current stream block ends (protocol 2).
    StreamStop,
    /// `'c'`: a streamed transaction commits (protocol 2).
    StreamCommit(StreamCommitBody),
    /// `'A'`: a streamed transaction or one of its subtransactions aborts (protocol 2).
    StreamAbort(StreamAbortBody),
}

impl LogicalMessage {
    /// The message's tag byte, e.g. `b'I'`.
    pub fn tag(&self) -> u8 {
        match self {
            LogicalMessage::Begin(_) => b'B',
            LogicalMessage::Commit(_) => b'C',
            LogicalMessage::Origin(_) => b'O',
            LogicalMessage::Relation(_) => b'R',
            LogicalMessage::Type(_) => b'Y',
            LogicalMessage::Insert(_) => b'I',
            LogicalMessage::Update(_) => b'U',
            LogicalMessage::Delete(_) => b'D',
            LogicalMessage::Truncate(_) => b'T',
            LogicalMessage::Message(_) => b'M',
            LogicalMessage::StreamStart(_) => b'S',
            LogicalMessage::StreamStop => b'E',
            LogicalMessage::StreamCommit(_) => b'c',
            LogicalMessage::StreamAbort(_) => b'A',
        }
    }

    /// The message kind as a name, e.g. `"Insert"` (for logs and errors).
    pub fn name(&self) -> &'static str {
        tag_name(self.tag()).unwrap_or("Unknown")
    }

    /// The xid the message carries: the transaction's for Begin and the stream messages, the
    /// (sub)transaction's for changes inside a stream block, `None` otherwise.
    pub fn xid(&self) -> Option<Xid> {
        match self {
            LogicalMessage::Begin(b) => Some(b.xid),
            LogicalMessage::Relation(b) => b.xid,
            LogicalMessage::Type(b) => b.xid,
            LogicalMessage::Insert(b) => b.xid,
            LogicalMessage::Update(b) => b.xid,
            LogicalMessage::Delete(b) => b.xid,
            LogicalMessage::Truncate(b) => b.xid,
            LogicalMessage::Message(b) => b.xid,
            LogicalMessage::StreamStart(b) => Some(b.xid),
            LogicalMessage::StreamCommit(b) => Some(b.xid),
            LogicalMessage::StreamAbort(b) => Some(b.xid),
            LogicalMessage::Commit(_) | LogicalMessage::Origin(_) | LogicalMessage::StreamStop => {
                None
            }
        }
    }

    /// The OID of the relation a Relation, Insert, Update or Delete message is about.
    pub fn relation_id(&self) -> Option<Oid> {
        match self {
            LogicalMessage::Relation(b) => Some(b.id),
            LogicalMessage::Insert(b) => Some(b.relation_id),
            LogicalMessage::Update(b) => Some(b.relation_id),
            LogicalMessage::Delete(b) => Some(b.relation_id),
            _ => None,
        }
    }
}

/// The name of the message kind with tag `tag`, if pgoutput v1/v2 defines it.
pub(crate) fn tag_name(tag: u8) -> Option<&'static str> {
    Some(match tag {
        b'B' => "Begin",
        b'C' => "Commit",
        b'O' => "Origin",
        b'R' => "Relation",
        b'Y' => "Type",
        b'I' => "Insert",
        b'U' => "Update",
        b'D' => "Delete",
        b'T' => "Truncate",
        b'M' => "Message",
        b'S' => "Stream Start",
        b'E' => "Stream Stop",
        b'c' => "Stream Commit",
        b'A' => "Stream Abort",
        _ => return None,
    })
}

/// Begin (`'B'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BeginBody {
    /// The LSN of the transaction's commit record.
    pub final_lsn: Lsn,
    /// The commit timestamp.
    pub commit_ts: PgTimestamp,
    /// The transaction's xid.
    pub xid: Xid,
}

/// Commit (`'C'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CommitBody {
    /// Flags; currently unused by PostgreSQL (always 0), kept as sent.
    pub flags: u8,
    /// The LSN of the commit record.
    pub commit_lsn: Lsn,
    /// The end LSN of the transaction: the position to confirm once it is applied.
    pub end_lsn: Lsn,
    /// The commit timestamp.
    pub commit_ts: PgTimestamp,
}

/// Origin (`'O'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OriginBody {
    /// The commit LSN on the origin server.
    pub commit_lsn: Lsn,
    /// The replication origin's name (e.g. `supra_sync_legacy`).
    pub name: String,
}

/// The replica identity setting of a relation (`pg_class.relreplident`): what an Update or
/// Delete sends of the old row.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReplicaIdentity {
    /// `'d'`: the primary key columns.
    Default,
    /// `'n'`: nothing.
    Nothing,
    /// `'f'`: all columns.
    Full,
    /// `'i'`: the columns of a chosen unique index.
    Index,
}

impl ReplicaIdentity {
    /// The setting for a `relreplident` byte.
    pub fn from_byte(byte: u8) -> Option<Self> {
        Some(match byte {
            b'd' => ReplicaIdentity::Default,
            b'n' => ReplicaIdentity::Nothing,
            b'f' => ReplicaIdentity::Full,
            b'i' => ReplicaIdentity::Index,
            _ => return None,
        })
    }

    /// The `relreplident` byte.
    pub fn to_byte(self) -> u8 {
        match self {
            ReplicaIdentity::Default => b'd',
            ReplicaIdentity::Nothing => b'n',
            ReplicaIdentity::Full => b'f',
            ReplicaIdentity::Index => b'i',
        }
    }
}

/// Relation (`'R'`): the schema that later tuples of relation `id` follow.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationBody {
    /// The (sub)transaction's xid, inside a stream block only.
    pub xid: Option<Xid>,
    /// The relation's OID.
    pub id: Oid,
    /// The schema name; empty for `pg_catalog`.
    pub namespace: String,
    /// The relation name.
    pub name: String,
    /// The replica identity setting.
    pub replica_identity: ReplicaIdentity,
    /// The published columns, in the order tuples carry them.
    pub columns: Vec<RelationColumn>,
}

/// One column of a [`RelationBody`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RelationColumn {
    /// Flags as sent: bit 1 marks a column that is part of the replica identity key.
    pub flags: u8,
    /// The column name.
    pub name: String,
    /// The OID of the column's type.
    pub type_oid: Oid,
    /// The type modifier (`atttypmod`), -1 when none.
    pub type_modifier: i32,
}

impl RelationColumn {
    /// The flag bit marking a key column.
    pub const FLAG_KEY: u8 = 1;

    /// Whether the column is part of the replica identity key.
    pub fn is_key(&self) -> bool {
        self.flags & Self::FLAG_KEY != 0
    }
}

/// Type (`'Y'`): names a non-built-in type that a relation's columns use.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TypeBody {
    /// The (sub)transaction's xid, inside a stream block only.
    pub xid: Option<Xid>,
    /// The type's OID.
    pub id: Oid,
    /// The schema name; empty for `pg_catalog`.
    pub namespace: String,
    /// The type name.
    pub name: String,
}

/// Insert (`'I'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct InsertBody {
    /// The (sub)transaction's xid, inside a stream block only.
    pub xid: Option<Xid>,
    /// The OID of the relation (see the preceding [`RelationBody`]).
    pub relation_id: Oid,
    /// The new row.
    pub new: TupleData,
}

/// The old row image an Update or Delete carries, depending on the replica identity.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum OldTuple {
    /// `'K'`: only the replica identity key columns are meaningful (others are NULL).
    Key(TupleData),
    /// `'O'`: the whole old row (REPLICA IDENTITY FULL).
    Full(TupleData),
}

impl OldTuple {
    /// The tuple, whichever kind it is.
    pub fn tuple(&self) -> &TupleData {
        match self {
            OldTuple::Key(t) | OldTuple::Full(t) => t,
        }
    }
}

/// Update (`'U'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UpdateBody {
    /// The (sub)transaction's xid, inside a stream block only.
    pub xid: Option<Xid>,
    /// The OID of the relation.
    pub relation_id: Oid,
    /// The old row: sent for REPLICA IDENTITY FULL, or when the key changed; otherwise `None`.
    pub old: Option<OldTuple>,
    /// The new row. Unchanged TOASTed columns are [`ColumnValue::Unchanged`](crate::ColumnValue).
    pub new: TupleData,
}

/// Delete (`'D'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeleteBody {
    /// The (sub)transaction's xid, inside a stream block only.
    pub xid: Option<Xid>,
    /// The OID of the relation.
    pub relation_id: Oid,
    /// The deleted row's key or full image.
    pub old: OldTuple,
}

/// Truncate (`'T'`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TruncateBody {
    /// The (sub)transaction's xid, inside a stream block only.
    pub xid: Option<Xid>,
    /// Option bits as sent: [`TruncateBody::CASCADE`], [`TruncateBody::RESTART_IDENTITY`].
    pub options: u8,
    /// The OIDs of the truncated relations.
    pub relation_ids: Vec<Oid>,
}

impl TruncateBody {
    /// Option bit: `TRUNCATE ... CASCADE`.
    pub const CASCADE: u8 = 1;
    /// Option bit: `TRUNCATE ... RESTART IDENTITY`.
    pub const RESTART_IDENTITY: u8 = 2;

    /// Whether the truncate was `CASCADE`.
    pub fn cascade(&self) -> bool {
        self.options & Self::CASCADE != 0
    }

    /// Whether the truncate was `RESTART IDENTITY`.
    pub fn restart_identity(&self) -> bool {
        self.options & Self::RESTART_IDENTITY != 0
    }
}

/// Message (`'M'`), from `pg_logical_emit_message`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct MessageBody {
    /// The (sub)transaction's xid, inside a stream block only.
    pub xid: Option<Xid>,
    /// Whether the message is part of a transaction (between Begin and Commit); a
    /// non-transactional message arrives on its own, outside any transaction.
    pub transactional: bool,
    /// The LSN of the message.
    pub lsn: Lsn,
    /// The prefix given to `pg_logical_emit_message`.
    pub prefix: String,
    /// The content, as bytes (a slice of the message buffer).
    pub content: Bytes,
}

/// Stream Start (`'S'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamStartBody {
    /// The xid of the streamed (top-level) transaction.
    pub xid: Xid,
    /// Whether this is the first stream block of that transaction.
    pub first_segment: bool,
}

/// Stream Commit (`'c'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamCommitBody {
    /// The xid of the streamed transaction.
    pub xid: Xid,
    /// Flags; currently unused by PostgreSQL (always 0), kept as sent.
    pub flags: u8,
    /// The LSN of the commit record.
    pub commit_lsn: Lsn,
    /// The end LSN of the transaction: the position to confirm once it is applied.
    pub end_lsn: Lsn,
    /// The commit timestamp.
    pub commit_ts: PgTimestamp,
}

/// Stream Abort (`'A'`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StreamAbortBody {
    /// The xid of the streamed transaction.
    pub xid: Xid,
    /// The xid of the aborted subtransaction; equal to `xid` when the whole transaction aborted.
    pub subxid: Xid,
}

impl StreamAbortBody {
    /// Whether the whole transaction aborted (not just a subtransaction).
    pub fn is_top_level(&self) -> bool {
        self.xid == self.subxid
    }
}
