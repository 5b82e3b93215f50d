//! CLI reports (stub).

/// Outcome.
#[derive(Debug)]
pub struct CheckOutcome;
/// check.
pub fn check_dir() {}
/// check.
pub fn check_dir_with_db() {}
/// explain.
pub fn explain_dir() {}
