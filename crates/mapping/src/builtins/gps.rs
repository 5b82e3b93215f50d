//! `legacy_gps_to_geom`: legacy VARCHAR latitude/longitude → a WGS84 point, or NULL.
//!
//! Each coordinate is trimmed and must then be a plain decimal number: optional sign, digits,
//! optional fraction. A single decimal comma is accepted in place of the point (`'20,5888'`);
//! anything else (`''`, `'N/A'`, `'20.5.1'`, `'1,234.5'`, exponents, NaN) makes the result NULL.
//!
//! Swapped pairs: a latitude can never exceed 90°, while Querétaro's longitude is about −100°.
//! So when |lat| > 90 and |lng| ≤ 90 the two were typed into each other's field and are
//! swapped back (lat −100.39, lng 20.59 → POINT(−100.39 20.59)). After that, a pair outside
//! the valid ranges (|lat| ≤ 90, |lng| ≤ 180) is NULL, and so is (0, 0), the placeholder the
//! legacy forms store when no position was captured. No other guessing is done: a pair that is
//! valid but lies outside Querétaro is kept as typed.

use rust_decimal::Decimal;
use supra_sync_core::{GeoPoint, Value};

use super::money::{f64_to_decimal, round_to};
use super::text::as_text;

/// Reads one coordinate; `None` when it is not a plain decimal number.
pub fn parse_coordinate(v: &Value) -> Option<f64> {
    match v {
        Value::Float(f) => return f.is_finite().then_some(*f),
        Value::Int(i) => return Some(*i as f64),
        Value::Numeric(d) => return d.to_string().parse().ok(),
        _ => {}
    }
    let text = as_text(v)?;
    let t = text.trim();
    let owned;
    let t = if !t.contains('.') && t.matches(',').count() == 1 {
        owned = t.replace(',', ".");
        owned.as_str()
    } else {
        t
    };
    let digits = t.strip_prefix(['-', '+']).unwrap_or(t);
    let (int, frac) = digits.split_once('.').unwrap_or((digits, ""));
    let ok = !int.is_empty()
        && int.bytes().all(|b| b.is_ascii_digit())
        && frac.bytes().all(|b| b.is_ascii_digit())
        && !(digits.ends_with('.') && frac.is_empty() && digits.len() == 1);
    if !ok {
        return None;
    }
    t.parse::<f64>().ok().filter(|f| f.is_finite())
}

/// `legacy_gps_to_geom(lat, lng)`.
pub fn legacy_gps_to_geom(lat: &Value, lng: &Value) -> Value {
    let (Some(mut la), Some(mut lo)) = (parse_coordinate(lat), parse_coordinate(lng)) else {
        return Value::Null;
    };
    if la.abs() > 90.0 && lo.abs() <= 90.0 {
        std::mem::swap(&mut la, &mut lo);
    }
    if la.abs() > 90.0 || lo.abs() > 180.0 || (la == 0.0 && lo == 0.0) {
        return Value::Null;
    }
    Value::Point(GeoPoint { lon: lo, lat: la })
}

/// `geom_lat(p)` / `geom_lng(p)`: a coordinate of a point as DECIMAL(10,7).
pub fn coordinate(v: &Value, latitude: bool) -> Result<Value, String> {
    match v {
        Value::Null | Value::Unchanged => Ok(Value::Null),
        Value::Point(p) => {
            let d: Decimal = f64_to_decimal(if latitude { p.lat } else { p.lon })?;
            Ok(Value::Numeric(round_to(d, 7)))
        }
        other => Err(format!("expected a point, got {other:?}")),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn gps(lat: &str, lng: &str) -> Value {
        legacy_gps_to_geom(&Value::Text(lat.into()), &Value::Text(lng.into()))
    }

    #[test]
    fn clean_dirty_and_swapped() {
        assert_eq!(
            gps("20.5888", "-100.3899"),
            Value::Point(GeoPoint {
                lon: -100.3899,
                lat: 20.5888
            })
        );
        assert_eq!(
            gps(" 20,5888 ", "-100,3899"),
            Value::Point(GeoPoint {
                lon: -100.3899,
                lat: 20.5888
            })
        );
        assert_eq!(
            gps("-100.3899", "20.5888"),
            Value::Point(GeoPoint {
                lon: -100.3899,
                lat: 20.5888
            })
        );
        for (la, lo) in [
            ("", "-100.1"),
            ("N/A", "N/A"),
            ("20.5.1", "-100"),
            ("1,234.5", "-100"),
            ("1e3", "-100"),
            ("NaN", "-100"),
            ("0", "0"),
            ("95", "190"),
            ("-", "-100"),
            ("20.", "-100."),
        ] {
            let got = gps(la, lo);
            if (la, lo) == ("20.", "-100.") {
                assert!(matches!(got, Value::Point(_)));
            } else {
                assert_eq!(got, Value::Null, "{la:?} {lo:?}");
            }
        }
        assert_eq!(
            legacy_gps_to_geom(&Value::Null, &Value::Text("1".into())),
            Value::Null
        );
        let p = gps("20.58881234", "-100.3899");
        assert_eq!(
            coordinate(&p, true).unwrap().to_text().unwrap(),
            "20.5888123"
        );
    }
}
