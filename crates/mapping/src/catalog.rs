//! Live catalog check (stub).

/// Catalog.
#[derive(Debug, Default)]
pub struct Catalog;
