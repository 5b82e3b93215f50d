//! Integration tests of the sync pipelines against real PostgreSQL clusters.

mod conflicts;
mod snapshot;
mod streaming;
mod support;
mod verify;
