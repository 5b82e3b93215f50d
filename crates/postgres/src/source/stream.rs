//! The replication connection: START_REPLICATION on a slot, events out, acknowledgements in.
//!
//! The connection uses TLS as the connection string's `sslmode` / `sslrootcert` say, through
//! pgwire-replication's rustls support ([`crate::tls::TlsSettings::replication_tls`]).

use std::time::Duration;

use pgwire_replication::{PgWireError, ReplicationClient, ReplicationConfig, ReplicationEvent};
use supra_sync_core::{Lsn, Side};

use super::{
    BOOKING_PREFIX, HEARTBEAT_PREFIX, SourceEvent, TransactionAssembler, WATERMARK_PREFIX,
};
use crate::{DbConfig, PgError};

/// Where and how to stream.
#[derive(Debug, Clone)]
pub struct SourceOptions {
    /// Which database this is.
    pub side: Side,
    /// Logical slot name.
    pub slot: String,
    /// Publication name.
    pub publication: String,
    /// Resume point: the position stored on the target with the last applied transaction.
    pub start_lsn: Lsn,
    /// Origins whose transactions are echoes of our own apply and must be dropped.
    pub drop_origins: Vec<String>,
    /// How often standby status is sent even without progress (keeps the walsender alive).
    pub status_interval: Duration,
}

/// A running logical replication stream.
pub struct ReplicationSource {
    client: ReplicationClient,
    assembler: TransactionAssembler,
    start_lsn: Lsn,
}

fn to_wire(lsn: Lsn) -> pgwire_replication::Lsn {
    pgwire_replication::Lsn::from_u64(lsn.0)
}

fn from_wire(lsn: pgwire_replication::Lsn) -> Lsn {
    Lsn(lsn.as_u64())
}

/// The stream's error with the database it came from; a TLS failure says what to check.
fn stream_error(what: &str, e: &PgWireError) -> PgError {
    let hint = if e.is_tls() {
        "\nhint: check sslmode and sslrootcert (the CA that signed the server certificate) in \
         the connection string, and that the certificate names the host connected to"
    } else {
        ""
    };
    PgError::Replication(format!("{what}: {e}{hint}"))
}

impl ReplicationSource {
    /// Connects with TLS as the connection string says (`sslmode`, `sslrootcert`) and starts
    /// streaming from `options.start_lsn` (the server starts at the later of that and the
    /// slot's confirmed position). Returns once the server has accepted START_REPLICATION, so
    /// a connection, TLS, authentication or slot error is returned here.
    pub async fn start(
        db: &DbConfig,
        options: SourceOptions,
    ) -> Result<ReplicationSource, PgError> {
        let tls = db.tls().replication_tls(&db.host())?;
        let config = ReplicationConfig::new(
            db.host(),
            db.user(),
            db.password().unwrap_or_default(),
            db.dbname(),
            options.slot.clone(),
            options.publication.clone(),
        )
        .with_port(db.port())
        .with_start_lsn(to_wire(options.start_lsn))
        .with_ack_lsn(to_wire(options.start_lsn))
        .with_status_interval(options.status_interval)
        .with_buffer_size(1024)
        .with_application_name(format!("supra-sync {}", options.slot))
        .with_options(
            "-c TimeZone=UTC -c DateStyle=ISO -c IntervalStyle=postgres -c extra_float_digits=3",
        )
        .with_tls(tls);
        let what = db.describe();
        let mut client = ReplicationClient::connect(config)
            .await
            .map_err(|e| stream_error(&what, &e))?;
        client
            .wait_started()
            .await
            .map_err(|e| stream_error(&what, &e))?;
        Ok(ReplicationSource {
            client,
            assembler: TransactionAssembler::new(options.side, options.drop_origins),
            start_lsn: options.start_lsn,
        })
    }

    /// The next event. Transactions that committed before the start position are skipped
    /// (the server may resend them after a crash). Returns `Ok(None)` when the stream ended.
    pub async fn next(&mut self) -> Result<Option<SourceEvent>, PgError> {
        loop {
            let event = self
                .client
                .recv()
                .await
                .map_err(|e| PgError::Replication(e.to_string()))?;
            let Some(event) = event else { return Ok(None) };
            match event {
                ReplicationEvent::Begin {
                    xid,
                    commit_time_micros,
                    ..
                } => {
                    self.assembler.begin(xid, commit_time_micros);
                }
                ReplicationEvent::XLogData { data, .. } => {
                    let message = supra_sync_pgoutput::decode_bytes(data)
                        .map_err(|e| PgError::Decode(e.to_string()))?;
                    self.assembler.data(message)?;
                }
                ReplicationEvent::Commit { lsn, end_lsn, .. } => {
                    let event = self.assembler.commit(from_wire(lsn), from_wire(end_lsn))?;
                    if let SourceEvent::Transaction(tx) = &event {
                        if tx.commit_lsn < self.start_lsn {
                            tracing::trace!(xid = tx.xid, commit_lsn = %tx.commit_lsn, start_lsn = %self.start_lsn, "skipping a transaction committed before the start position");
                            continue;
                        }
                        tracing::trace!(xid = tx.xid, commit_lsn = %tx.commit_lsn, changes = tx.changes.len(), "transaction received");
                    }
                    return Ok(Some(event));
                }
                ReplicationEvent::Message {
                    transactional: false,
                    lsn,
                    prefix,
                    content,
                } if prefix == WATERMARK_PREFIX => {
                    let lsn = from_wire(lsn);
                    if lsn < self.start_lsn {
                        continue;
                    }
                    return Ok(Some(SourceEvent::Watermark {
                        lsn,
                        content: String::from_utf8_lossy(&content).into_owned(),
                    }));
                }
                ReplicationEvent::Message {
                    transactional: false,
                    lsn,
                    prefix,
                    ..
                } if prefix == HEARTBEAT_PREFIX && !self.assembler.in_transaction() => {
                    return Ok(Some(SourceEvent::Idle {
                        wal_end: from_wire(lsn),
                    }));
                }
                ReplicationEvent::Message {
                    transactional: true,
                    prefix,
                    content,
                    ..
                } if prefix == BOOKING_PREFIX => self.assembler.booking(&content),
                ReplicationEvent::Message { .. } => {}
                ReplicationEvent::KeepAlive { wal_end, .. } => {
                    if !self.assembler.in_transaction() {
                        return Ok(Some(SourceEvent::Idle {
                            wal_end: from_wire(wal_end),
                        }));
                    }
                }
                ReplicationEvent::StoppedAt { .. } => return Ok(None),
            }
        }
    }

    /// Tells the server that everything up to `lsn` is durable on the target, so the slot may
    /// release that WAL. Call only after the target transaction holding those changes
    /// committed.
    pub fn acknowledge(&self, lsn: Lsn) {
        self.client.update_applied_lsn(to_wire(lsn));
    }

    /// Stops the stream, sending a final acknowledgement.
    pub async fn shutdown(mut self) -> Result<(), PgError> {
        self.client
            .shutdown()
            .await
            .map_err(|e| PgError::Replication(e.to_string()))
    }
}
