//! One column value ↔ its Debezium JSON form.
//!
//! | PostgreSQL        | JSON (Debezium semantic type)                                        |
//! |-------------------|----------------------------------------------------------------------|
//! | bool, int*        | boolean, number                                                      |
//! | real, double      | number; `"NaN"`, `"Infinity"`, `"-Infinity"` as strings (JSON has none) |
//! | numeric           | exact decimal string (`decimal.handling.mode=string`)                |
//! | text, varchar, …  | string                                                               |
//! | date              | int: days since 1970-01-01 (`io.debezium.time.Date`)                 |
//! | timestamp         | int: microseconds since epoch (`io.debezium.time.MicroTimestamp`)    |
//! | timestamptz       | ISO-8601 string in UTC (`io.debezium.time.ZonedTimestamp`)           |
//! | uuid              | string (`io.debezium.data.Uuid`)                                     |
//! | json, jsonb       | the JSON text as a string (`io.debezium.data.Json`)                  |
//! | text[]            | array of strings / nulls                                             |
//! | geography point   | `{"wkb": base64 WKB, "srid": 4326}` (`io.debezium.data.geometry.Geography`) |
//! | unchanged TOAST   | `"__debezium_unavailable_value"`                                     |
//!
//! Timestamps: Debezium's adaptive mode sends millis for `timestamp(0..3)` and micros for
//! `timestamp(4..6)` and plain `timestamp`. The column precision (typmod) is not part of the change
//! model, so supra-sync always sends micros: exact for every precision, identical to Debezium for the
//! plain `timestamp` columns AquaCIS uses, and the `supra.types` header says which unit applies.

use base64::Engine as _;
use chrono::{DateTime, NaiveDate, Utc};
use rust_decimal::Decimal;
use serde_json::Value as Json;
use supra_sync_core::{GeoPoint, PgType, Value};
use uuid::Uuid;

use crate::EnvelopeError;

/// Debezium's placeholder for an unchanged TOASTed column.
pub const UNAVAILABLE_VALUE: &str = "__debezium_unavailable_value";

const EPOCH: NaiveDate = match NaiveDate::from_ymd_opt(1970, 1, 1) {
    Some(d) => d,
    None => panic!("epoch"),
};

/// Encodes one value of a column of type `ty`.
pub fn encode(ty: PgType, value: &Value) -> Json {
    if matches!(ty, PgType::Other(_)) && !matches!(value, Value::Null | Value::Unchanged) {
        // Types supra-sync does not model are carried as their PostgreSQL text.
        return value.to_text().map_or(Json::Null, Json::String);
    }
    match value {
        Value::Null => Json::Null,
        Value::Unchanged => Json::String(UNAVAILABLE_VALUE.into()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Int(i) => Json::from(*i),
        Value::Float(f) if f.is_finite() => Json::from(*f),
        Value::Float(f) if f.is_nan() => Json::String("NaN".into()),
        Value::Float(f) => Json::String(if *f > 0.0 { "Infinity" } else { "-Infinity" }.into()),
        Value::Numeric(d) => Json::String(d.to_string()),
        Value::Text(s) => Json::String(s.clone()),
        Value::Date(d) => Json::from((*d - EPOCH).num_days()),
        Value::Timestamp(t) => Json::from(t.and_utc().timestamp_micros()),
        Value::Timestamptz(t) => Json::String(iso_utc(t)),
        Value::Uuid(u) => Json::String(u.to_string()),
        Value::Json(j) => Json::String(j.to_string()),
        Value::TextArray(items) => Json::Array(
            items
                .iter()
                .map(|i| i.as_ref().map_or(Json::Null, |s| Json::String(s.clone())))
                .collect(),
        ),
        Value::Point(p) => serde_json::json!({
            "wkb": base64::engine::general_purpose::STANDARD.encode(wkb_point(p)),
            "srid": 4326,
        }),
    }
}

/// ISO-8601 in UTC with the shortest exact fraction, as Java's `ISO_OFFSET_DATE_TIME` prints it.
fn iso_utc(t: &DateTime<Utc>) -> String {
    let mut out = t.format("%Y-%m-%dT%H:%M:%S").to_string();
    let nanos = t.timestamp_subsec_nanos();
    if nanos != 0 {
        let frac = format!("{nanos:09}");
        out.push('.');
        out.push_str(frac.trim_end_matches('0'));
    }
    out.push('Z');
    out
}

/// Little-endian 2D WKB point (21 bytes).
fn wkb_point(p: &GeoPoint) -> Vec<u8> {
    let mut wkb = Vec::with_capacity(21);
    wkb.push(1);
    wkb.extend_from_slice(&1u32.to_le_bytes());
    wkb.extend_from_slice(&p.lon.to_le_bytes());
    wkb.extend_from_slice(&p.lat.to_le_bytes());
    wkb
}

fn read_wkb_point(wkb: &[u8]) -> Option<GeoPoint> {
    let little = *wkb.first()? == 1;
    let u32_at = |at: usize| -> Option<u32> {
        let b: [u8; 4] = wkb.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let f64_at = |at: usize| -> Option<f64> {
        let b: [u8; 8] = wkb.get(at..at + 8)?.try_into().ok()?;
        Some(if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    };
    let kind = u32_at(1)?;
    if kind & 0xFF != 1 {
        return None;
    }
    let at = if kind & 0x2000_0000 != 0 { 9 } else { 5 };
    Some(GeoPoint {
        lon: f64_at(at)?,
        lat: f64_at(at + 8)?,
    })
}

/// Decodes the JSON form of a value of type `ty` (the inverse of [`encode`]).
pub fn decode(ty: PgType, json: &Json) -> Result<Value, EnvelopeError> {
    let bad = || EnvelopeError::new(format!("cannot read {json} as {}", ty.sql_name()));
    if json.is_null() {
        return Ok(Value::Null);
    }
    if json.as_str() == Some(UNAVAILABLE_VALUE) {
        return Ok(Value::Unchanged);
    }
    let text = || json.as_str().ok_or_else(bad);
    Ok(match ty {
        PgType::Bool => Value::Bool(json.as_bool().ok_or_else(bad)?),
        PgType::Int2 | PgType::Int4 | PgType::Int8 => Value::Int(json.as_i64().ok_or_else(bad)?),
        PgType::Float4 | PgType::Float8 => Value::Float(match json.as_str() {
            Some("NaN") => f64::NAN,
            Some("Infinity") => f64::INFINITY,
            Some("-Infinity") => f64::NEG_INFINITY,
            _ => json.as_f64().ok_or_else(bad)?,
        }),
        PgType::Numeric => Value::Numeric(Decimal::from_str_exact(text()?).map_err(|_| bad())?),
        PgType::Text | PgType::Varchar | PgType::Bpchar | PgType::Other(_) => {
            Value::Text(text()?.to_string())
        }
        PgType::Date => {
            let days = json.as_i64().ok_or_else(bad)?;
            Value::Date(
                EPOCH
                    .checked_add_signed(chrono::Duration::days(days))
                    .ok_or_else(bad)?,
            )
        }
        PgType::Timestamp => {
            let micros = json.as_i64().ok_or_else(bad)?;
            let t = DateTime::from_timestamp_micros(micros).ok_or_else(bad)?;
            Value::Timestamp(t.naive_utc())
        }
        PgType::Timestamptz => Value::Timestamptz(
            DateTime::parse_from_rfc3339(text()?)
                .map_err(|_| bad())?
                .with_timezone(&Utc),
        ),
        PgType::Uuid => Value::Uuid(Uuid::parse_str(text()?).map_err(|_| bad())?),
        PgType::Json | PgType::Jsonb => {
            Value::Json(serde_json::from_str(text()?).map_err(|_| bad())?)
        }
        PgType::TextArray => Value::TextArray(
            json.as_array()
                .ok_or_else(bad)?
                .iter()
                .map(|i| match i {
                    Json::Null => Ok(None),
                    Json::String(s) => Ok(Some(s.clone())),
                    _ => Err(bad()),
                })
                .collect::<Result<_, _>>()?,
        ),
        PgType::Geography => {
            let wkb = json.get("wkb").and_then(Json::as_str).ok_or_else(bad)?;
            let bytes = base64::engine::general_purpose::STANDARD
                .decode(wkb)
                .map_err(|_| bad())?;
            Value::Point(read_wkb_point(&bytes).ok_or_else(bad)?)
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn round_trip(ty: PgType, value: Value, expected: Json) {
        let encoded = encode(ty, &value);
        assert_eq!(encoded, expected, "{ty:?} {value:?}");
        let back = decode(ty, &encoded).unwrap();
        match (&back, &value) {
            (Value::Float(a), Value::Float(b)) if a.is_nan() && b.is_nan() => {}
            _ => assert_eq!(back, value, "{ty:?}"),
        }
    }

    #[test]
    fn debezium_forms_round_trip() {
        let date = NaiveDate::from_ymd_opt(2024, 3, 1).unwrap();
        let ts = date.and_hms_micro_opt(10, 0, 0, 123_456).unwrap();
        round_trip(
            PgType::Numeric,
            Value::Numeric("12345678901234.5600".parse().unwrap()),
            json!("12345678901234.5600"),
        );
        round_trip(PgType::Int4, Value::Int(-7), json!(-7));
        round_trip(PgType::Bool, Value::Bool(true), json!(true));
        round_trip(PgType::Float8, Value::Float(1.5), json!(1.5));
        round_trip(PgType::Float8, Value::Float(f64::NAN), json!("NaN"));
        round_trip(
            PgType::Float4,
            Value::Float(f64::NEG_INFINITY),
            json!("-Infinity"),
        );
        round_trip(PgType::Date, Value::Date(date), json!(19783));
        round_trip(
            PgType::Date,
            Value::Date(NaiveDate::from_ymd_opt(1900, 1, 1).unwrap()),
            json!(-25567),
        );
        round_trip(
            PgType::Timestamp,
            Value::Timestamp(ts),
            json!(1_709_287_200_123_456_i64),
        );
        round_trip(
            PgType::Timestamptz,
            Value::Timestamptz(ts.and_utc()),
            json!("2024-03-01T10:00:00.123456Z"),
        );
        round_trip(
            PgType::Timestamptz,
            Value::Timestamptz(date.and_hms_opt(0, 0, 0).unwrap().and_utc()),
            json!("2024-03-01T00:00:00Z"),
        );
        let id = Uuid::from_u128(0x1234);
        round_trip(PgType::Uuid, Value::Uuid(id), json!(id.to_string()));
        let doc: Json = serde_json::from_str(r#"{"a":[1,2.50]}"#).unwrap();
        round_trip(PgType::Jsonb, Value::Json(doc), json!(r#"{"a":[1,2.50]}"#));
        round_trip(
            PgType::TextArray,
            Value::TextArray(vec![Some("a".into()), None]),
            json!(["a", null]),
        );
        round_trip(
            PgType::Varchar,
            Value::Text("Querétaro".into()),
            json!("Querétaro"),
        );
        round_trip(PgType::Varchar, Value::Unchanged, json!(UNAVAILABLE_VALUE));
        round_trip(PgType::Date, Value::Null, Json::Null);
        round_trip(
            PgType::Other(600),
            Value::Text("(1,2)".into()),
            json!("(1,2)"),
        );
    }

    #[test]
    fn geography_is_wkb_with_srid() {
        let p = Value::Point(GeoPoint {
            lon: -100.39,
            lat: 20.59,
        });
        let encoded = encode(PgType::Geography, &p);
        assert_eq!(encoded["srid"], json!(4326));
        assert_eq!(decode(PgType::Geography, &encoded).unwrap(), p);
    }

    #[test]
    fn wrong_json_types_are_errors() {
        assert!(decode(PgType::Int4, &json!("1")).is_err());
        assert!(decode(PgType::Numeric, &json!(1.5)).is_err());
        assert!(decode(PgType::Date, &json!("2024-01-01")).is_err());
        assert!(decode(PgType::Timestamptz, &json!("yesterday")).is_err());
        assert!(decode(PgType::Geography, &json!({"wkb": "!!"})).is_err());
    }
}
