//! supra-sync postgres crate.
