//! Integration tests of the cleanup sidecar against real PostgreSQL 15 (testkit): one test
//! binary, a fresh database per test, waits on state instead of sleeping.

mod audit_trigger;
mod bad;
mod final_cleanup;
mod fixture;
mod fixture2;
mod full_size;
mod kill;
mod phase1;
mod phase2;
