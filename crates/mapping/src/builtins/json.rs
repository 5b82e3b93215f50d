//! JSON images of values, as written into SUPRA JSONB columns.
//!
//! Numbers stay exact: a NUMERIC becomes a JSON number with exactly its decimal digits
//! (`45.00` stays `45.00`; serde_json runs with `arbitrary_precision`), a double becomes the
//! number of its shortest round-trip string. Dates and timestamps become ISO-8601 strings
//! (timestamptz in UTC with `Z`), points become `{"lat": .., "lon": ..}`, NULL becomes `null`.

use std::str::FromStr;

use supra_sync_core::Value;

/// The JSONB image of one value.
pub fn to_json(v: &Value) -> serde_json::Value {
    use serde_json::Value as J;
    match v {
        Value::Null | Value::Unchanged => J::Null,
        Value::Bool(b) => J::Bool(*b),
        Value::Int(i) => J::from(*i),
        Value::Numeric(d) => number(&d.to_string()),
        Value::Float(f) if f.is_finite() => number(&format!("{f}")),
        Value::Float(_) => J::Null,
        Value::Text(s) => J::String(s.clone()),
        Value::Date(d) => J::String(d.format("%Y-%m-%d").to_string()),
        Value::Timestamp(t) => J::String(t.format("%Y-%m-%dT%H:%M:%S%.f").to_string()),
        Value::Timestamptz(t) => J::String(t.format("%Y-%m-%dT%H:%M:%S%.fZ").to_string()),
        Value::Uuid(u) => J::String(u.to_string()),
        Value::Json(j) => j.clone(),
        Value::TextArray(items) => J::Array(
            items
                .iter()
                .map(|i| i.clone().map_or(J::Null, J::String))
                .collect(),
        ),
        Value::Point(p) => {
            serde_json::json!({ "lat": number(&format!("{}", p.lat)), "lon": number(&format!("{}", p.lon)) })
        }
    }
}

fn number(text: &str) -> serde_json::Value {
    serde_json::Number::from_str(text)
        .map(serde_json::Value::Number)
        .unwrap_or_else(|_| serde_json::Value::String(text.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;
    use rust_decimal::Decimal;

    #[test]
    fn numbers_stay_exact() {
        let j = to_json(&Value::Numeric(Decimal::new(4500, 2)));
        assert_eq!(j.to_string(), "45.00");
        assert_eq!(to_json(&Value::Float(5.5)).to_string(), "5.5");
        assert_eq!(to_json(&Value::Null), serde_json::Value::Null);
    }
}
