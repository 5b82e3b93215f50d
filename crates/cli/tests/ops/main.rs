//! Operations tests of the `supra-sync` binary: metrics and health endpoints under a
//! workload, readiness while a database is down, secrets kept out of the logs, leader
//! failover between two instances, least-privilege roles, and the deployment files.
//!
//! ```text
//!  test ──setup/run (child processes, JSON logs in files)──► legacy db · SUPRA db
//!    │                      └─ 127.0.0.1:<free port> /metrics /healthz /readyz ◄── http_get
//!    └─ workload on legacy (tokio-postgres), checks on SUPRA
//! ```

mod failover;
mod metrics;
mod reference;
mod roles;
mod secrets;
mod support;
