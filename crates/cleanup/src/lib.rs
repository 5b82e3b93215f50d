//! supra-sync cleanup crate.
