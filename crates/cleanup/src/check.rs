//! Results of `verify`.

use std::fmt;

/// One acceptance or Definition-of-Done check.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct CheckResult {
    /// Stable id (`p1.dod.zero_transient`), citing the seed item where there is one.
    pub id: String,
    /// What is checked.
    pub description: String,
    /// Pass or fail.
    pub passed: bool,
    /// What was measured.
    pub detail: String,
}

impl CheckResult {
    pub(crate) fn new(
        id: &str,
        description: &str,
        passed: bool,
        detail: impl Into<String>,
    ) -> Self {
        CheckResult {
            id: id.to_string(),
            description: description.to_string(),
            passed,
            detail: detail.into(),
        }
    }
}

impl fmt::Display for CheckResult {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "[{}] {:<34} {} — {}",
            if self.passed { "PASS" } else { "FAIL" },
            self.id,
            self.description,
            self.detail
        )
    }
}

/// Whether every check passed.
pub fn all_passed(checks: &[CheckResult]) -> bool {
    checks.iter().all(|c| c.passed)
}
