//! Typed SQL values, parsed from and rendered to PostgreSQL's text format.

use std::fmt::Write as _;

use chrono::{DateTime, Datelike, NaiveDate, NaiveDateTime, Timelike, Utc};
use rust_decimal::Decimal;
use uuid::Uuid;

use crate::PgType;

/// `YYYY-MM-DD` (chrono's `%Y-%m-%d`), without parsing a format string per value: dates and
/// timestamps are rendered for every row written.
fn date_text(d: NaiveDate) -> String {
    if !(0..=9999).contains(&d.year()) {
        return d.format("%Y-%m-%d").to_string();
    }
    let mut out = String::with_capacity(32);
    let _ = write!(out, "{:04}-{:02}-{:02}", d.year(), d.month(), d.day());
    out
}

/// `YYYY-MM-DD HH:MM:SS[.fff[fff[fff]]]` + `suffix` (chrono's `%Y-%m-%d %H:%M:%S%.f`).
fn timestamp_text(t: NaiveDateTime, suffix: &str) -> String {
    let nanos = t.nanosecond();
    if !(0..=9999).contains(&t.year()) || nanos >= 1_000_000_000 {
        return format!("{}{suffix}", t.format("%Y-%m-%d %H:%M:%S%.f"));
    }
    let mut out = date_text(t.date());
    let _ = write!(out, " {:02}:{:02}:{:02}", t.hour(), t.minute(), t.second());
    let _ = match nanos {
        0 => Ok(()),
        n if n % 1_000_000 == 0 => write!(out, ".{:03}", n / 1_000_000),
        n if n % 1_000 == 0 => write!(out, ".{:06}", n / 1_000),
        n => write!(out, ".{n:09}"),
    };
    out.push_str(suffix);
    out
}

/// A WGS84 point (PostGIS `geography(POINT, 4326)`).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct GeoPoint {
    /// Longitude in degrees (x).
    pub lon: f64,
    /// Latitude in degrees (y).
    pub lat: f64,
}

/// A typed SQL value.
///
/// `Unchanged` is the pgoutput "unchanged TOAST" marker: the column kept its old value and the
/// source did not send it. It is never written to a target as a value.
#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    /// SQL NULL.
    Null,
    /// Unchanged TOASTed column (not sent by the source).
    Unchanged,
    /// `boolean`.
    Bool(bool),
    /// Any integer type.
    Int(i64),
    /// `real` / `double precision`.
    Float(f64),
    /// `numeric`, exact.
    Numeric(Decimal),
    /// Character types.
    Text(String),
    /// `date`.
    Date(NaiveDate),
    /// `timestamp without time zone`.
    Timestamp(NaiveDateTime),
    /// `timestamp with time zone`, normalised to UTC.
    Timestamptz(DateTime<Utc>),
    /// `uuid`.
    Uuid(Uuid),
    /// `json` / `jsonb` (numbers kept exact).
    Json(serde_json::Value),
    /// One-dimensional text array.
    TextArray(Vec<Option<String>>),
    /// A geography point.
    Point(GeoPoint),
}

/// A value whose text could not be parsed as its column type.
#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("cannot read {text:?} as {type_name}: {reason}")]
pub struct ValueError {
    /// The offending text.
    pub text: String,
    /// The SQL type it was read as.
    pub type_name: &'static str,
    /// Why it failed.
    pub reason: String,
}

impl Value {
    /// True for SQL NULL.
    pub fn is_null(&self) -> bool {
        matches!(self, Value::Null)
    }

    /// Parses PostgreSQL's text output of a value of type `ty`.
    pub fn parse_text(ty: PgType, text: &str) -> Result<Value, ValueError> {
        let fail = |reason: String| ValueError {
            text: text.to_string(),
            type_name: ty.sql_name(),
            reason,
        };
        Ok(match ty {
            PgType::Bool => match text {
                "t" | "true" => Value::Bool(true),
                "f" | "false" => Value::Bool(false),
                _ => return Err(fail("expected t or f".into())),
            },
            PgType::Int2 | PgType::Int4 | PgType::Int8 => {
                Value::Int(text.parse().map_err(|e| fail(format!("{e}")))?)
            }
            PgType::Float4 | PgType::Float8 => {
                Value::Float(text.parse().map_err(|e| fail(format!("{e}")))?)
            }
            PgType::Numeric => Value::Numeric(
                Decimal::from_str_exact(text)
                    .or_else(|_| text.parse::<Decimal>())
                    .map_err(|e| fail(format!("{e}")))?,
            ),
            PgType::Text | PgType::Varchar | PgType::Bpchar | PgType::Other(_) => {
                Value::Text(text.to_string())
            }
            PgType::Date => Value::Date(
                NaiveDate::parse_from_str(text, "%Y-%m-%d").map_err(|e| fail(format!("{e}")))?,
            ),
            PgType::Timestamp => Value::Timestamp(
                NaiveDateTime::parse_from_str(text, "%Y-%m-%d %H:%M:%S%.f")
                    .map_err(|e| fail(format!("{e}")))?,
            ),
            PgType::Timestamptz => Value::Timestamptz(
                parse_timestamptz(text)
                    .ok_or_else(|| fail("expected YYYY-MM-DD HH:MM:SS[.ffffff]+HH[:MM]".into()))?,
            ),
            PgType::Uuid => Value::Uuid(Uuid::parse_str(text).map_err(|e| fail(format!("{e}")))?),
            PgType::Json | PgType::Jsonb => {
                Value::Json(serde_json::from_str(text).map_err(|e| fail(format!("{e}")))?)
            }
            PgType::TextArray => Value::TextArray(parse_text_array(text).ok_or_else(|| {
                fail("expected a one-dimensional array literal like {a,b}".into())
            })?),
            PgType::Geography => match parse_ewkb_point(text) {
                Some(point) => Value::Point(point),
                None => return Err(fail("expected a hex EWKB point".into())),
            },
        })
    }

    /// The canonical text of `text` in a column of type `ty`: what [`Value::parse_text`] and
    /// [`Value::to_text`] agree on (so equal values compare equal whatever the server's
    /// output settings); text that does not parse stays as it is. Text types are returned
    /// without a round trip.
    pub fn canonical_text(ty: PgType, text: String) -> String {
        match ty {
            PgType::Text | PgType::Varchar | PgType::Bpchar | PgType::Other(_) => text,
            _ => Value::parse_text(ty, &text)
                .ok()
                .and_then(|v| v.to_text())
                .unwrap_or(text),
        }
    }

    /// Renders the value in PostgreSQL's text input format; `None` for NULL and `Unchanged`.
    pub fn to_text(&self) -> Option<String> {
        Some(match self {
            Value::Null | Value::Unchanged => return None,
            Value::Bool(b) => if *b { "t" } else { "f" }.to_string(),
            Value::Int(i) => i.to_string(),
            Value::Float(f) => format_float(*f),
            Value::Numeric(d) => d.to_string(),
            Value::Text(s) => s.clone(),
            Value::Date(d) => date_text(*d),
            Value::Timestamp(t) => timestamp_text(*t, ""),
            Value::Timestamptz(t) => timestamp_text(t.naive_utc(), "+00"),
            Value::Uuid(u) => u.to_string(),
            Value::Json(j) => j.to_string(),
            Value::TextArray(items) => render_text_array(items),
            Value::Point(p) => format!("SRID=4326;POINT({} {})", p.lon, p.lat),
        })
    }

    /// A JSON image of the value, for `sync_log`, `sync_conflicts` and Kafka envelopes.
    /// Numerics become exact decimal strings; NULL becomes `null`.
    pub fn to_json(&self) -> serde_json::Value {
        match self {
            Value::Null | Value::Unchanged => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(*b),
            Value::Int(i) => serde_json::Value::from(*i),
            Value::Json(j) => j.clone(),
            Value::TextArray(items) => serde_json::Value::Array(
                items
                    .iter()
                    .map(|i| i.clone().map_or(serde_json::Value::Null, Into::into))
                    .collect(),
            ),
            other => serde_json::Value::String(other.to_text().unwrap_or_default()),
        }
    }
}

fn format_float(f: f64) -> String {
    if f.is_nan() {
        "NaN".into()
    } else if f.is_infinite() {
        if f > 0.0 { "Infinity" } else { "-Infinity" }.into()
    } else {
        // Rust's shortest round-trip representation, as PostgreSQL 12+ prints floats.
        format!("{f}")
    }
}

fn parse_timestamptz(text: &str) -> Option<DateTime<Utc>> {
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f%#z",
        "%Y-%m-%d %H:%M:%S%.f%:z",
        "%Y-%m-%dT%H:%M:%S%.f%:z",
    ] {
        if let Ok(t) = DateTime::parse_from_str(text, fmt) {
            return Some(t.with_timezone(&Utc));
        }
    }
    None
}

/// Parses a one-dimensional PostgreSQL array literal of text elements.
fn parse_text_array(text: &str) -> Option<Vec<Option<String>>> {
    let inner = text.strip_prefix('{')?.strip_suffix('}')?;
    let mut items = Vec::new();
    if inner.is_empty() {
        return Some(items);
    }
    let mut chars = inner.chars().peekable();
    loop {
        let mut item = String::new();
        let quoted = chars.peek() == Some(&'"');
        if quoted {
            chars.next();
            loop {
                match chars.next()? {
                    '\\' => item.push(chars.next()?),
                    '"' => break,
                    c => item.push(c),
                }
            }
            items.push(Some(item));
        } else {
            while let Some(&c) = chars.peek() {
                if c == ',' {
                    break;
                }
                item.push(c);
                chars.next();
            }
            items.push(if item == "NULL" { None } else { Some(item) });
        }
        match chars.next() {
            None => return Some(items),
            Some(',') => continue,
            Some(_) => return None,
        }
    }
}

fn render_text_array(items: &[Option<String>]) -> String {
    let mut out = String::from("{");
    for (i, item) in items.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        match item {
            None => out.push_str("NULL"),
            Some(s) => {
                out.push('"');
                for c in s.chars() {
                    if c == '"' || c == '\\' {
                        out.push('\\');
                    }
                    out.push(c);
                }
                out.push('"');
            }
        }
    }
    out.push('}');
    out
}

/// Reads the hex EWKB of a 2D point, as PostGIS prints `geography` values.
fn parse_ewkb_point(hex_text: &str) -> Option<GeoPoint> {
    let bytes: Vec<u8> = (0..hex_text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(hex_text.get(i..i + 2)?, 16).ok())
        .collect::<Option<_>>()?;
    let little = *bytes.first()? == 1;
    let read_u32 = |at: usize| -> Option<u32> {
        let b: [u8; 4] = bytes.get(at..at + 4)?.try_into().ok()?;
        Some(if little {
            u32::from_le_bytes(b)
        } else {
            u32::from_be_bytes(b)
        })
    };
    let read_f64 = |at: usize| -> Option<f64> {
        let b: [u8; 8] = bytes.get(at..at + 8)?.try_into().ok()?;
        Some(if little {
            f64::from_le_bytes(b)
        } else {
            f64::from_be_bytes(b)
        })
    };
    let kind = read_u32(1)?;
    if kind & 0xFF != 1 {
        return None;
    }
    let offset = if kind & 0x2000_0000 != 0 { 9 } else { 5 };
    Some(GeoPoint {
        lon: read_f64(offset)?,
        lat: read_f64(offset + 8)?,
    })
}

/// Writes `text` quoted as a PostgreSQL string literal (for diagnostics and generated DDL only;
/// data values are always bound as parameters).
pub fn quote_literal(text: &str) -> String {
    let mut out = String::with_capacity(text.len() + 2);
    out.push('\'');
    for c in text.chars() {
        if c == '\'' {
            out.push('\'');
        }
        let _ = out.write_char(c);
    }
    out.push('\'');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numeric_stays_exact() {
        assert_eq!(
            Value::canonical_text(PgType::Timestamptz, "2024-03-01 10:00:00.5-06".into()),
            "2024-03-01 16:00:00.500+00"
        );
        assert_eq!(Value::canonical_text(PgType::Varchar, " a ".into()), " a ");
        assert_eq!(Value::canonical_text(PgType::Int4, "x".into()), "x");
        let v = Value::parse_text(PgType::Numeric, "12345678901234.5678").unwrap();
        assert_eq!(v.to_text().unwrap(), "12345678901234.5678");
        assert_eq!(
            v.to_json(),
            serde_json::Value::String("12345678901234.5678".into())
        );
    }

    #[test]
    fn timestamps_parse_with_offsets() {
        let v = Value::parse_text(PgType::Timestamptz, "2024-03-01 10:00:00.5-06").unwrap();
        assert_eq!(v.to_text().unwrap(), "2024-03-01 16:00:00.500+00");
        let v = Value::parse_text(PgType::Timestamp, "2024-03-01 10:00:00").unwrap();
        assert_eq!(v.to_text().unwrap(), "2024-03-01 10:00:00");
    }

    #[test]
    fn arrays_round_trip_with_quotes_and_nulls() {
        let v = Value::parse_text(PgType::TextArray, r#"{a,"b c","d\"e",NULL}"#).unwrap();
        assert_eq!(
            v,
            Value::TextArray(vec![
                Some("a".into()),
                Some("b c".into()),
                Some("d\"e".into()),
                None
            ])
        );
        let again = Value::parse_text(PgType::TextArray, &v.to_text().unwrap()).unwrap();
        assert_eq!(v, again);
        assert!(Value::parse_text(PgType::TextArray, "{unterminated").is_err());
    }

    #[test]
    fn ewkb_point_is_read() {
        // SELECT 'SRID=4326;POINT(-100.39 20.59)'::geography
        let hex = "0101000020E6100000295C8FC2F51859C0D7A3703D0A973440";
        let Value::Point(p) = Value::parse_text(PgType::Geography, hex).unwrap() else {
            panic!("not a point")
        };
        assert!((p.lon + 100.39).abs() < 1e-9 && (p.lat - 20.59).abs() < 1e-9);
    }

    #[test]
    fn bad_text_is_an_error_not_a_panic() {
        assert!(Value::parse_text(PgType::Int4, "12a").is_err());
        assert!(Value::parse_text(PgType::Bool, "yes").is_err());
        assert!(Value::parse_text(PgType::Date, "2024-13-01").is_err());
        assert!(Value::parse_text(PgType::Geography, "zz").is_err());
    }

    #[test]
    fn literal_quoting_doubles_quotes() {
        assert_eq!(quote_literal("O'Brien"), "'O''Brien'");
    }
}

#[cfg(test)]
mod datetime_text_tests {
    use chrono::{NaiveDate, NaiveDateTime, TimeZone, Utc};

    use super::Value;

    fn at(y: i32, nanos: u32) -> NaiveDateTime {
        NaiveDate::from_ymd_opt(y, 3, 9)
            .unwrap()
            .and_hms_nano_opt(7, 5, 59, nanos)
            .unwrap()
    }

    #[test]
    fn dates_and_timestamps_render_as_chrono_formats_them() {
        for y in [1, 99, 1900, 2026, 9999, 10_000, -44] {
            for nanos in [
                0,
                1_000_000,
                120_000_000,
                123_000,
                123_456_000,
                7,
                123_456_789,
                1_500_000_000, // leap second
            ] {
                let t = at(y, nanos);
                assert_eq!(
                    Value::Timestamp(t).to_text().unwrap(),
                    t.format("%Y-%m-%d %H:%M:%S%.f").to_string()
                );
                let tz = Utc.from_utc_datetime(&t);
                assert_eq!(
                    Value::Timestamptz(tz).to_text().unwrap(),
                    tz.format("%Y-%m-%d %H:%M:%S%.f+00").to_string()
                );
                assert_eq!(
                    Value::Date(t.date()).to_text().unwrap(),
                    t.date().format("%Y-%m-%d").to_string()
                );
            }
        }
    }
}
