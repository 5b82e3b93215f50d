//! Legacy S/N flags ⇄ booleans.
//!
//! `legacy_bool` reads the flag after trimming and upper-casing it:
//!
//! | legacy value                         | result |
//! |--------------------------------------|--------|
//! | `S`, `Y`, `X`, `1`, `T`, `SI`, `YES`, `TRUE` | true   |
//! | `N`, `0`, `F`, `' '`/`''`, `NO`, `FALSE`     | false  |
//! | NULL                                 | NULL   |
//! | anything else                        | false (as the seed's `ELSE false`) |
//!
//! Integers read as C does (0 → false, else true); booleans pass through.
//! `bool_to_legacy` writes back `S`/`N` (or the characters given), NULL stays NULL.
//! Round trip: 'S' and 'N' come back exactly; 'Y','X','1','T' come back as 'S' and
//! '0','F',' ' as 'N' — a documented normalization.

use supra_sync_core::Value;

use super::text::as_text;

/// `legacy_bool(x)`.
pub fn legacy_bool(v: &Value) -> Value {
    match v {
        Value::Null | Value::Unchanged => Value::Null,
        Value::Bool(b) => Value::Bool(*b),
        Value::Int(i) => Value::Bool(*i != 0),
        Value::Numeric(d) => Value::Bool(!d.is_zero()),
        other => {
            let text = as_text(other).unwrap_or_default();
            let flag = text.trim();
            Value::Bool(
                ["S", "Y", "X", "1", "T", "SI", "YES", "TRUE"]
                    .iter()
                    .any(|t| t.eq_ignore_ascii_case(flag)),
            )
        }
    }
}

/// `bool_to_legacy(b, yes, no)`.
pub fn bool_to_legacy(v: &Value, yes: &str, no: &str) -> Result<Value, String> {
    let b = match legacy_bool(v) {
        Value::Bool(b) => b,
        Value::Null => return Ok(Value::Null),
        other => return Err(format!("expected a boolean, got {other:?}")),
    };
    Ok(Value::Text(if b { yes } else { no }.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn flags() {
        for s in ["S", "s", " Y", "X", "1", "T", "si"] {
            assert_eq!(
                legacy_bool(&Value::Text(s.into())),
                Value::Bool(true),
                "{s}"
            );
        }
        for s in ["N", "n", "0", "F", " ", "", "Z"] {
            assert_eq!(
                legacy_bool(&Value::Text(s.into())),
                Value::Bool(false),
                "{s}"
            );
        }
        assert_eq!(legacy_bool(&Value::Null), Value::Null);
        assert_eq!(
            bool_to_legacy(&Value::Bool(true), "S", "N").unwrap(),
            Value::Text("S".into())
        );
        assert_eq!(bool_to_legacy(&Value::Null, "S", "N").unwrap(), Value::Null);
    }
}
