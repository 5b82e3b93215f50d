//! Integration tests of the sync pipelines against real PostgreSQL clusters.

mod conflicts;
mod events;
mod reconcile;
mod resolve;
mod snapshot;
mod stages;
mod streaming;
mod support;
mod verify;
