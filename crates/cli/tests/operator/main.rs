//! The operator commands of the `supra-sync` binary against real clusters: `conflicts
//! list/show/resolve` (single, dry run, bulk, refusals), `log` and `retry` (after a mapping
//! fix), and `status` with its exit codes.
//!
//! ```text
//!  test ──libraries──► legacy db · SUPRA db (schemas, slots, origins, pipelines as tasks)
//!    └──supra-sync --legacy … --supra … --mappings … <command>  (SUPRA_SYNC_PREFIX=<test's>)
//!         └─ stdout / stderr / exit code, then both databases are checked
//! ```

mod conflicts;
mod retry;
mod support;
