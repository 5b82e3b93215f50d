//! Integration tests of the PostgreSQL layer against real clusters (one test binary).

mod schema;
mod setup;
mod support;
