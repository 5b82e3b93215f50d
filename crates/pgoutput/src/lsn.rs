//! PostgreSQL log sequence numbers.

use std::fmt;
use std::str::FromStr;

/// A WAL position (PostgreSQL's `pg_lsn`, `XLogRecPtr`).
///
/// `Display` prints it the way PostgreSQL 15 does, as two hexadecimal halves without padding
/// (`16/B374D848`, `0/1533A48`); the alternate form `{:#}` zero-pads the low half to eight digits
/// (`0/01533A48`), as PostgreSQL 18 does. [`FromStr`] accepts both.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Lsn(pub u64);

impl Lsn {
    /// `0/0`, PostgreSQL's `InvalidXLogRecPtr`: "no position".
    pub const INVALID: Lsn = Lsn(0);

    /// Whether this is a real position (not [`Lsn::INVALID`]).
    pub fn is_valid(self) -> bool {
        self.0 != 0
    }
}

impl From<u64> for Lsn {
    fn from(value: u64) -> Self {
        Lsn(value)
    }
}

impl From<Lsn> for u64 {
    fn from(lsn: Lsn) -> Self {
        lsn.0
    }
}

impl fmt::Display for Lsn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let (hi, lo) = (self.0 >> 32, self.0 & 0xFFFF_FFFF);
        if f.alternate() {
            write!(f, "{hi:X}/{lo:08X}")
        } else {
            write!(f, "{hi:X}/{lo:X}")
        }
    }
}

/// A string is not an LSN of the form `X/X` (one to eight hexadecimal digits on each side).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("invalid LSN {input:?}: expected two hexadecimal halves like 16/B374D848")]
pub struct ParseLsnError {
    input: String,
}

impl FromStr for Lsn {
    type Err = ParseLsnError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let err = || ParseLsnError {
            input: s.to_owned(),
        };
        let half = |part: &str| {
            let ok = (1..=8).contains(&part.len()) && part.bytes().all(|b| b.is_ascii_hexdigit());
            ok.then(|| u32::from_str_radix(part, 16).ok()).flatten()
        };
        let (hi, lo) = s.split_once('/').ok_or_else(err)?;
        let (hi, lo) = (half(hi).ok_or_else(err)?, half(lo).ok_or_else(err)?);
        Ok(Lsn((u64::from(hi) << 32) | u64::from(lo)))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn displays_like_postgres() {
        assert_eq!(Lsn(0x16_B374_D848).to_string(), "16/B374D848");
        assert_eq!(Lsn(0x1533A48).to_string(), "0/1533A48");
        assert_eq!(format!("{:#}", Lsn(0x1533A48)), "0/01533A48");
        assert_eq!(Lsn::INVALID.to_string(), "0/0");
        assert_eq!(Lsn(u64::MAX).to_string(), "FFFFFFFF/FFFFFFFF");
    }

    #[test]
    fn parses_both_forms() {
        assert_eq!("16/B374D848".parse(), Ok(Lsn(0x16_B374_D848)));
        assert_eq!("0/01533a48".parse(), Ok(Lsn(0x1533A48)));
        assert_eq!("FFFFFFFF/FFFFFFFF".parse(), Ok(Lsn(u64::MAX)));
        for bad in [
            "",
            "/",
            "0/",
            "/0",
            "16B374D848",
            "x/1",
            "+1/1",
            "1/-1",
            "1/123456789",
            "1/1/1",
        ] {
            assert!(bad.parse::<Lsn>().is_err(), "{bad:?} parsed");
        }
    }

    #[test]
    fn round_trips() {
        for v in [
            0,
            1,
            0xFFFF_FFFF,
            0x1_0000_0000,
            u64::MAX,
            0x0123_4567_89AB_CDEF,
        ] {
            let lsn = Lsn(v);
            assert_eq!(lsn.to_string().parse(), Ok(lsn));
            assert_eq!(format!("{lsn:#}").parse(), Ok(lsn));
        }
        assert!(!Lsn::INVALID.is_valid());
        assert!(Lsn(1) > Lsn::INVALID);
    }
}
