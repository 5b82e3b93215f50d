//! Numeric and text casts. Exact decimals never pass through `f64`: floats are read through
//! their shortest round-trip decimal string (see [`super::money`]), text is parsed exactly.

use rust_decimal::Decimal;
use rust_decimal::prelude::ToPrimitive;
use supra_sync_core::Value;

use super::money::{f64_to_decimal, round_to};
use super::text::as_text;

/// A value as an exact decimal; `None` for NULL or blank text.
pub fn to_decimal(v: &Value) -> Result<Option<Decimal>, String> {
    Ok(Some(match v {
        Value::Null | Value::Unchanged => return Ok(None),
        Value::Numeric(d) => *d,
        Value::Int(i) => Decimal::from(*i),
        Value::Float(f) => f64_to_decimal(*f)?,
        Value::Bool(b) => Decimal::from(u8::from(*b)),
        other => {
            let text = as_text(other).unwrap_or_default();
            let t = text.trim();
            if t.is_empty() {
                return Ok(None);
            }
            Decimal::from_str_exact(t).map_err(|e| format!("{t:?} is not a number: {e}"))?
        }
    }))
}

/// `to_numeric(x[, scale])`.
pub fn to_numeric(v: &Value, scale: Option<u32>) -> Result<Value, String> {
    Ok(match to_decimal(v)? {
        None => Value::Null,
        Some(d) => Value::Numeric(match scale {
            Some(s) => round_to(d, s),
            None => d,
        }),
    })
}

/// `to_int(x)`: fails on fractional values rather than silently truncating.
pub fn to_int(v: &Value) -> Result<Value, String> {
    if let Value::Int(i) = v {
        return Ok(Value::Int(*i));
    }
    Ok(match to_decimal(v)? {
        None => Value::Null,
        Some(d) if d.fract().is_zero() => Value::Int(
            d.to_i64()
                .ok_or_else(|| format!("{d} is out of range for bigint"))?,
        ),
        Some(d) => return Err(format!("{d} is not a whole number")),
    })
}

/// `to_float(x)`: the nearest double of the exact value.
pub fn to_float(v: &Value) -> Result<Value, String> {
    Ok(match v {
        Value::Float(f) => Value::Float(*f),
        other => match to_decimal(other)? {
            None => Value::Null,
            Some(d) => Value::Float(
                d.to_string()
                    .parse::<f64>()
                    .map_err(|e| format!("{d} as double: {e}"))?,
            ),
        },
    })
}

/// `to_uuid(x)`: a uuid, or NULL when the value is not one.
pub fn to_uuid(v: &Value) -> Value {
    match v {
        Value::Uuid(u) => Value::Uuid(*u),
        other => as_text(other)
            .and_then(|t| uuid::Uuid::parse_str(t.trim()).ok())
            .map_or(Value::Null, Value::Uuid),
    }
}

/// `to_text(x)`: the PostgreSQL text form.
pub fn to_text(v: &Value) -> Value {
    match as_text(v) {
        None => Value::Null,
        Some(t) => Value::Text(t.into_owned()),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn casts_are_exact() {
        assert_eq!(
            to_numeric(&Value::Text("12.345".into()), Some(2))
                .unwrap()
                .to_text()
                .unwrap(),
            "12.35"
        );
        assert_eq!(
            to_numeric(&Value::Float(0.1), None)
                .unwrap()
                .to_text()
                .unwrap(),
            "0.1"
        );
        assert_eq!(
            to_int(&Value::Numeric(Decimal::from(9_999_999_999i64))).unwrap(),
            Value::Int(9_999_999_999)
        );
        assert!(to_int(&Value::Text("1.5".into())).is_err());
        assert_eq!(to_int(&Value::Text(" ".into())).unwrap(), Value::Null);
        assert_eq!(
            to_float(&Value::Numeric(Decimal::new(2675, 3))).unwrap(),
            Value::Float(2.675)
        );
        assert_eq!(to_text(&Value::Bool(true)), Value::Text("t".into()));
    }
}
