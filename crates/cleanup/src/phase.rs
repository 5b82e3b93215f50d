//! The cleanup phases.

use std::fmt;
use std::str::FromStr;

use crate::error::CleanupError;

/// A cleanup phase, as named on the command line.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Phase {
    /// Seed 000: emergency cleanup (table-per-process families, Spain, staging).
    One,
    /// Seeds 001/002: history into `audit_log`, lookups into `domain_value`.
    Two,
    /// Seed 004: final cleanup (reports, archive-then-remove, constraints, dictionary).
    Final,
}

impl Phase {
    /// The name used in the state table and on the command line.
    pub fn as_str(self) -> &'static str {
        match self {
            Phase::One => "1",
            Phase::Two => "2",
            Phase::Final => "final",
        }
    }
}

impl fmt::Display for Phase {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Phase {
    type Err = CleanupError;

    fn from_str(s: &str) -> Result<Phase, CleanupError> {
        match s.trim().to_ascii_lowercase().as_str() {
            "1" | "one" | "phase1" => Ok(Phase::One),
            "2" | "two" | "phase2" => Ok(Phase::Two),
            "final" | "13" | "phase13" => Ok(Phase::Final),
            other => Err(CleanupError::Invalid {
                primary: format!("unknown cleanup phase \"{other}\""),
                detail: None,
                hint: Some("phases are 1, 2 and final".into()),
            }),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Phase;

    #[test]
    fn phases_parse_from_the_command_line() {
        assert_eq!("1".parse::<Phase>().unwrap(), Phase::One);
        assert_eq!("2".parse::<Phase>().unwrap(), Phase::Two);
        assert_eq!("final".parse::<Phase>().unwrap(), Phase::Final);
        assert_eq!("13".parse::<Phase>().unwrap(), Phase::Final);
        let e = "3".parse::<Phase>().unwrap_err().to_string();
        assert_eq!(
            e,
            "unknown cleanup phase \"3\"\nHINT:  phases are 1, 2 and final"
        );
    }
}
