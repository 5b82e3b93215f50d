//! PostgreSQL timestamps as they travel in pgoutput.

/// Microseconds between the Unix epoch (1970-01-01) and PostgreSQL's epoch (2000-01-01 UTC).
pub const PG_EPOCH_UNIX_MICROS: i64 = 946_684_800_000_000;

/// A commit timestamp as pgoutput sends it: microseconds since 2000-01-01 00:00:00 UTC.
///
/// The raw value is kept as sent; [`PgTimestamp::unix_micros`] converts it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct PgTimestamp(pub i64);

impl PgTimestamp {
    /// The same instant as microseconds since 1970-01-01 00:00:00 UTC, saturating at the
    /// bounds of `i64` (only reachable with values no real server sends).
    pub fn unix_micros(self) -> i64 {
        self.0.saturating_add(PG_EPOCH_UNIX_MICROS)
    }

    /// The timestamp for an instant given as microseconds since the Unix epoch, saturating.
    pub fn from_unix_micros(unix_micros: i64) -> Self {
        PgTimestamp(unix_micros.saturating_sub(PG_EPOCH_UNIX_MICROS))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn converts_between_epochs() {
        assert_eq!(PgTimestamp(0).unix_micros(), 946_684_800_000_000);
        // 2024-01-02 03:04:05.678901 UTC, as captured from PostgreSQL 15.
        let ts = PgTimestamp(0x0002_b0ec_8520_4f35);
        assert_eq!(ts.unix_micros(), 1_704_164_645_678_901);
        assert_eq!(PgTimestamp::from_unix_micros(1_704_164_645_678_901), ts);
        assert_eq!(PgTimestamp(i64::MAX).unix_micros(), i64::MAX);
        assert_eq!(
            PgTimestamp::from_unix_micros(i64::MIN),
            PgTimestamp(i64::MIN)
        );
    }
}
