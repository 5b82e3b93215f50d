//! PostgreSQL plumbing for supra-sync: connections with retry, SUPRA migrations, catalog
//! reads, publications / slots / replication origins, and the logical replication source.
//!
//! ```text
//!  DbConfig ──connect (retry, backoff)──► tokio_postgres::Client
//!     │
//!     ├─ migrate::migrate_supra      sql/supra + sql/sync (sqlx migrator)
//!     ├─ catalog::load_table         RowSchema from pg_catalog
//!     ├─ setup::{preflight, setup_side, teardown_side}
//!     └─ source::ReplicationSource   pgoutput bytes ─► supra_sync_core::Transaction
//! ```
#![deny(missing_docs)]

pub mod catalog;
pub mod connect;
pub mod error;
pub mod migrate;
pub mod names;
pub mod setup;
pub mod source;
pub mod tls;

pub use connect::DbConfig;
pub use error::PgError;
