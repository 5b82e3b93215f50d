//! The logical replication source: pgoutput bytes from a slot become ordered
//! [`SourceEvent`]s.
//!
//! ```text
//!  slot ──pgwire-replication──► Begin / XLogData / Commit / Message / KeepAlive
//!                                   │
//!                     supra_sync_pgoutput::decode (R, Y, O, I, U, D, T)
//!                                   ▼
//!                      TransactionAssembler (relation cache, typed values)
//!                                   ▼
//!       SourceEvent::{Transaction, Skipped (echo), Watermark, Idle}
//! ```
//!
//! Delivery contract: events come in commit order; nothing is acknowledged to the server
//! until the caller calls [`ReplicationSource::acknowledge`] with a position whose changes are
//! durable on the target. On restart the caller passes the target's stored position as the
//! start point, and transactions that committed before it are skipped (at-least-once from
//! the server, exactly-once into the target).

mod assembler;
mod stream;

pub use assembler::{SourceEvent, TransactionAssembler};
pub use stream::{ReplicationSource, SourceOptions};

/// Prefix of the non-transactional logical messages supra-sync emits as snapshot watermarks.
pub const WATERMARK_PREFIX: &str = "supra_sync.watermark";

/// Prefix of the heartbeat messages supra-sync emits on an idle source so that its slot keeps
/// advancing even when no published table changes.
pub const HEARTBEAT_PREFIX: &str = "supra_sync.heartbeat";

/// Prefix of the transactional message in which a SUPRA → legacy batch carries its own
/// bookkeeping into its legacy transaction (see `sql/sync/1007_reverse_bookings.sql`).
pub const BOOKING_PREFIX: &str = "supra_sync.booking";

/// Emits one heartbeat on the source (non-transactional logical message).
pub async fn emit_heartbeat(client: &tokio_postgres::Client) -> Result<(), crate::PgError> {
    client
        .execute(
            "SELECT pg_logical_emit_message(false, $1, '')",
            &[&HEARTBEAT_PREFIX],
        )
        .await
        .map_err(crate::PgError::sql("emitting a heartbeat"))?;
    Ok(())
}
