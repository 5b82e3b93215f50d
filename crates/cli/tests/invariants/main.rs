//! The invariants of DESIGN.md proven against the built `supra-sync` binary and real
//! PostgreSQL clusters (testkit): the service runs as a child process that the tests kill,
//! restart and starve of its databases, while workloads change both sides; a verifier that
//! recomputes SUPRA from the final legacy state (`supra_sync_engine::verify`) then checks that
//! nothing is missing or doubled.
//!
//! ```text
//!  workload.rs  snapshot + random workload both ways      → SUPRA agrees with legacy
//!  crash.rs     kill -9 × 22 (snapshot and streaming)     → + slots never ahead, nothing doubled
//!  restart.rs   SUPRA then legacy crash-restart mid-stream → same, service reconnects by itself
//! ```
//!
//! Helpers: `support` (databases, `supra-sync` child process), `changes` / `supra_changes`
//! (the workload writers), `checks` (caught up, in step), `positions` (slot vs origin
//! sampling, audit slots). The three tests run in parallel in about three minutes on a
//! 2-core machine.
//! `SUPRA_SYNC_TEST_WORKLOAD_SECS` lengthens the workload test.

mod changes;
mod checks;
mod crash;
mod positions;
mod restart;
mod support;
mod supra_changes;
mod workload;
