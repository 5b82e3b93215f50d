//! Real PostgreSQL 15 clusters for tests and for `supra-sync demo`.
//!
//! ```text
//!  test binary ──start──► initdb + pg_ctl (temp dir, free port, wal_level=logical)
//!       │                        ▲
//!       └─ stdin pipe ──► reaper ┘  (stops the cluster and removes its directory when the
//!                                    pipe closes: normal exit, panic, or kill -9)
//! ```
//!
//! Two clusters are shared per process — [`legacy`] and [`supra`] — and every test takes a
//! fresh database on them ([`Cluster::fresh_database`]), optionally cloned from a template
//! built once ([`Cluster::fresh_database_from`]). Tests that stop or crash a server start a
//! private cluster with [`Cluster::start`]. Waiting is done with [`wait_until`], which polls a
//! condition against a deadline.
#![deny(missing_docs)]

mod cluster;
mod database;
mod wait;

pub use cluster::{Cluster, ClusterOptions};
pub use database::TestDatabase;
pub use wait::{WaitError, wait_until};

use std::sync::OnceLock;

/// Errors from starting or driving a cluster.
#[derive(Debug, thiserror::Error)]
pub enum TestkitError {
    /// A PostgreSQL program failed.
    #[error("{program} failed: {detail}\nhint: is PostgreSQL 15 installed? run scripts/setup")]
    Command {
        /// Program name.
        program: String,
        /// Its output or the OS error.
        detail: String,
    },
    /// A SQL statement failed.
    #[error("database error: {0}")]
    Sql(#[from] tokio_postgres::Error),
    /// File system error.
    #[error("i/o error: {0}")]
    Io(#[from] std::io::Error),
}

static LEGACY: OnceLock<Cluster> = OnceLock::new();
static SUPRA: OnceLock<Cluster> = OnceLock::new();

/// The process-wide "legacy" cluster, started on first use.
pub fn legacy() -> &'static Cluster {
    LEGACY.get_or_init(|| {
        Cluster::start(ClusterOptions::named("legacy")).expect("start the legacy test cluster")
    })
}

/// The process-wide "SUPRA" cluster, started on first use.
pub fn supra() -> &'static Cluster {
    SUPRA.get_or_init(|| {
        Cluster::start(ClusterOptions::named("supra")).expect("start the SUPRA test cluster")
    })
}
