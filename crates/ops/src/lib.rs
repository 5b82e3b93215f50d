//! Operating supra-sync: metrics, health and readiness endpoints, the database collector, the
//! leader lease, and the configuration reference.
//!
//! ```text
//!  engine ── metrics::counter!/histogram!(names::…) ─┐
//!  collector (every N s: slots, origins, sync_log,   ├─► recorder ─► GET /metrics
//!             conflicts, parked, snapshot_progress) ─┘
//!  pipeline StateCells ───────────────────────────────────────────► GET /healthz
//!  pipeline StateCells + SELECT 1 on both databases ──────────────► GET /readyz
//!  Lease: session advisory lock on the applier's own connection ──► one leader per pipeline
//! ```
//!
//! Without the default `server` feature the crate is only [`names`], [`state`] and
//! [`lease`]: what the engine needs to record metrics, report its state and fence its commits.
#![deny(missing_docs)]

pub mod lease;
pub mod names;
pub mod record;
pub mod state;

#[cfg(feature = "server")]
pub mod collector;
#[cfg(feature = "server")]
pub mod health;
#[cfg(feature = "server")]
pub mod recorder;
#[cfg(feature = "server")]
pub mod reference;
#[cfg(feature = "server")]
pub mod runtime;
#[cfg(feature = "server")]
pub mod server;

pub use lease::{Acquired, Lease, LeaseError};
pub use state::{PipelineState, StateCell};

/// Errors of the operations layer.
#[derive(Debug, thiserror::Error)]
pub enum OpsError {
    /// The metrics/health address could not be bound.
    #[error(
        "cannot listen on {addr}: {source}\nhint: set metrics_addr (SUPRA_SYNC_METRICS_ADDR) to a free host:port"
    )]
    Bind {
        /// The address.
        addr: String,
        /// The OS error.
        #[source]
        source: std::io::Error,
    },
    /// The metrics recorder could not be installed.
    #[error("cannot install the metrics recorder: {0}")]
    Metrics(String),
    /// The configuration reference could not be rendered.
    #[error("cannot render the configuration reference: {0}")]
    Reference(String),
}
