//! One module per command group. Each exposes a clap `Subcommand` enum and an async `run`
//! that returns the process exit code (runtime errors go up as `anyhow::Error`).

pub mod cleanup;
pub mod config;
pub mod conflicts;
pub mod demo;
pub mod dev;
pub mod kafka;
pub mod log;
pub mod mappings;
pub mod reconcile;
#[cfg(feature = "kafka")]
pub mod replay;
pub mod stage;
pub mod status;
pub mod sync;
pub mod table;
