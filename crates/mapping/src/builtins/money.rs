//! `legacy_money`: legacy DOUBLE PRECISION amounts → DECIMAL(12,2), exactly.
//!
//! The seed's `ROUND(val::numeric, 2)` is what we want, but done without binary floating point
//! arithmetic: the double is first written as its *shortest round-trip decimal string* (the
//! digits the legacy application meant: `2.675` prints as `2.675`, although the nearest double
//! is 2.67499999…), parsed as an exact decimal, then rounded half away from zero to 2 places.
//! So `0.125 → 0.13`, `2.675 → 2.68`, `-2.675 → -2.68`. The result always has scale 2 and must
//! fit DECIMAL(12,2) (|x| < 10¹⁰); NaN, ±Infinity and larger values are errors, not silent
//! clamps. NUMERIC and integer input is rounded the same way; text input is parsed as a decimal.

use rust_decimal::{Decimal, RoundingStrategy};
use supra_sync_core::Value;

/// Largest magnitude DECIMAL(12,2) holds, exclusive.
fn limit() -> Decimal {
    Decimal::from(10_000_000_000i64)
}

/// An f64 as the exact decimal of its shortest round-trip representation.
pub fn f64_to_decimal(f: f64) -> Result<Decimal, String> {
    if !f.is_finite() {
        return Err(format!("{f} is not a finite number"));
    }
    let text = format!("{f}");
    Decimal::from_str_exact(&text)
        .or_else(|_| text.parse::<Decimal>())
        .map_err(|e| format!("{text} does not fit an exact decimal: {e}"))
}

/// Rounds half away from zero to `scale` places and sets the scale (so 5 becomes 5.00).
pub fn round_to(d: Decimal, scale: u32) -> Decimal {
    let mut r = d.round_dp_with_strategy(scale, RoundingStrategy::MidpointAwayFromZero);
    r.rescale(scale);
    if r.is_zero() {
        r.set_sign_positive(true);
    }
    r
}

/// `legacy_money(x)`.
pub fn legacy_money(v: &Value) -> Result<Value, String> {
    let d = match v {
        Value::Null | Value::Unchanged => return Ok(Value::Null),
        Value::Float(f) => f64_to_decimal(*f)?,
        Value::Numeric(d) => *d,
        Value::Int(i) => Decimal::from(*i),
        Value::Text(s) => {
            let s = s.trim();
            if s.is_empty() {
                return Ok(Value::Null);
            }
            Decimal::from_str_exact(s).map_err(|e| format!("{s:?} is not an amount: {e}"))?
        }
        other => return Err(format!("cannot read {other:?} as an amount")),
    };
    let r = round_to(d, 2);
    if r.abs() >= limit() {
        return Err(format!("{r} is out of range for DECIMAL(12,2)"));
    }
    Ok(Value::Numeric(r))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn money(f: f64) -> String {
        match legacy_money(&Value::Float(f)).unwrap() {
            Value::Numeric(d) => d.to_string(),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn rounds_the_meant_decimal_half_away_from_zero() {
        assert_eq!(money(0.125), "0.13");
        assert_eq!(money(2.675), "2.68");
        assert_eq!(money(-2.675), "-2.68");
        assert_eq!(money(1.005), "1.01");
        assert_eq!(money(45.0), "45.00");
        assert_eq!(money(0.1 + 0.2), "0.30");
        assert_eq!(money(-0.001), "0.00");
        assert_eq!(money(9999999999.994), "9999999999.99");
        assert!(legacy_money(&Value::Float(9999999999.995)).is_err());
        assert!(legacy_money(&Value::Float(f64::NAN)).is_err());
        assert_eq!(legacy_money(&Value::Null).unwrap(), Value::Null);
    }
}
