//! The sync pipelines: a logical replication source feeding an ordered, group-committing
//! applier through the declarative mappings, with crash-safe bookkeeping.
//!
//! ```text
//!  ReplicationSource ──(bounded channel, commit order)──► Applier
//!        ▲                                                 │ one target transaction per batch:
//!        │ acknowledge(end_lsn) after commit               │  data (TargetOps, grouped)
//!        └─────────────────────────────────────────────────┤  sync_mappings · sync_log
//!                                                          │  parked / held changes
//!                                                          └─ pg_replication_origin_xact_setup
//! ```
//!
//! Invariants kept here (see DESIGN.md): the resume point commits atomically with the data
//! (replication origin), the slot is acknowledged only after that commit, changes are applied
//! in source commit order, failures are logged and the stream goes on, echoes are dropped by
//! origin.
#![deny(missing_docs)]

pub mod apply;
pub mod book;
pub mod booking;
pub mod conflict;
pub mod events;
pub mod park;
pub mod pipeline;
pub mod publish;
pub mod raw;
pub mod reader;
pub mod reconcile;
pub mod resolve;
pub mod service;
pub mod snapshot;
pub mod stage;
pub mod verify;
pub mod write;

pub use apply::{Applier, ApplierOptions, BatchSummary};
pub use pipeline::{Pipeline, PipelineOptions, PipelineStats};

/// Errors of the engine, split by consequence.
#[derive(Debug, thiserror::Error)]
pub enum EngineError {
    /// Retrying later may succeed (connection loss, server restart, lock timeout).
    #[error("{0}")]
    Transient(String),
    /// Retrying will not help; an operator must act.
    #[error("{0}")]
    Definite(String),
    /// A database statement failed.
    #[error("{context}: {detail}")]
    Sql {
        /// What was being done.
        context: String,
        /// PostgreSQL's message, detail and hint.
        detail: String,
        /// SQLSTATE, when the server answered.
        code: Option<String>,
        /// Whether it is worth retrying.
        transient: bool,
    },
    /// From the PostgreSQL layer.
    #[error(transparent)]
    Pg(#[from] supra_sync_postgres::PgError),
}

impl EngineError {
    /// Wraps a driver error with context.
    pub fn sql(context: impl Into<String>, e: tokio_postgres::Error) -> EngineError {
        EngineError::Sql {
            context: context.into(),
            detail: supra_sync_postgres::error::describe(&e),
            code: e.code().map(|c| c.code().to_string()),
            transient: supra_sync_postgres::error::is_transient_sql(&e),
        }
    }

    /// True when the operation may succeed if retried.
    pub fn is_transient(&self) -> bool {
        match self {
            EngineError::Transient(_) => true,
            EngineError::Definite(_) => false,
            EngineError::Sql { transient, .. } => *transient,
            EngineError::Pg(e) => e.is_transient(),
        }
    }

    /// SQLSTATE of a failed statement.
    pub fn sqlstate(&self) -> Option<&str> {
        match self {
            EngineError::Sql { code, .. } => code.as_deref(),
            _ => None,
        }
    }
}
