//! Integration tests of the sync pipelines against real PostgreSQL clusters.

mod streaming;
mod support;
