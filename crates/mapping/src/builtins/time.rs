//! Dates and times. Legacy timestamps are `timestamp without time zone` holding **local
//! Querétaro wall-clock time**; SUPRA uses `timestamptz`. The conversion uses the rules of the
//! IANA zone America/Mexico_City, which Querétaro follows, coded here for the years that matter
//! (no tz database is loaded at run time):
//!
//! * before 1996, and from 2023 on (Mexico abolished DST on 30 Oct 2022): UTC−6 all year;
//! * 1996–2000 and 2002–2022: UTC−5 from the first Sunday of April 02:00 to the last Sunday of
//!   October 02:00 local time;
//! * 2001: UTC−5 from the first Sunday of May to the last Sunday of September.
//!
//! A local time that does not exist (02:00–02:59 on the spring-forward day) and one that exists
//! twice (01:00–01:59 on the fall-back day) are both read with the standard offset (UTC−6): the
//! former lands on 03:xx CDT, the latter on the later of the two instants. Going back
//! (`to_timestamp(timestamptz)`) shows the instant in local time, so every existing local time
//! round-trips exactly; the non-existent hour comes back one hour later (normalization).
//!
//! The 1922–1995 historical oddities of the zone (LMT, 1930s–1950s summer times) are ignored.

use chrono::{DateTime, Datelike, Duration, NaiveDate, NaiveDateTime, NaiveTime, Utc, Weekday};
use supra_sync_core::Value;

use super::text::as_text;

const STD: i64 = -6;

/// Local start (02:00 standard) and end (02:00 daylight) of daylight saving time in `year`.
fn dst_window(year: i32) -> Option<(NaiveDateTime, NaiveDateTime)> {
    let two = NaiveTime::from_hms_opt(2, 0, 0)?;
    let (start, end) = match year {
        2001 => (
            NaiveDate::from_weekday_of_month_opt(year, 5, Weekday::Sun, 1)?,
            last_sunday(year, 9)?,
        ),
        1996..=2022 => (
            NaiveDate::from_weekday_of_month_opt(year, 4, Weekday::Sun, 1)?,
            last_sunday(year, 10)?,
        ),
        _ => return None,
    };
    Some((start.and_time(two), end.and_time(two)))
}

fn last_sunday(year: i32, month: u32) -> Option<NaiveDate> {
    let next = if month == 12 {
        NaiveDate::from_ymd_opt(year + 1, 1, 1)?
    } else {
        NaiveDate::from_ymd_opt(year, month + 1, 1)?
    };
    let last = next.pred_opt()?;
    let back = last.weekday().num_days_from_sunday();
    Some(last - Duration::days(i64::from(back)))
}

/// Reads a Querétaro local time as an instant.
pub fn local_to_utc(local: NaiveDateTime) -> DateTime<Utc> {
    let offset = match dst_window(local.year()) {
        // Daylight time is certain only from 03:00 on the first day to 01:00 on the last.
        Some((start, end))
            if local >= start + Duration::hours(1) && local < end - Duration::hours(1) =>
        {
            STD + 1
        }
        _ => STD,
    };
    (local - Duration::hours(offset)).and_utc()
}

/// Shows an instant as Querétaro local time.
pub fn utc_to_local(t: DateTime<Utc>) -> NaiveDateTime {
    let naive = t.naive_utc();
    let dst = dst_window(naive.year()).is_some_and(|(start, end)| {
        let start_utc = start - Duration::hours(STD);
        let end_utc = end - Duration::hours(STD + 1);
        naive >= start_utc && naive < end_utc
    });
    naive + Duration::hours(if dst { STD + 1 } else { STD })
}

fn parse_text_datetime(s: &str) -> Option<Value> {
    let s = s.trim();
    if let Ok(t) = Value::parse_text(supra_sync_core::PgType::Timestamptz, s) {
        return Some(t);
    }
    for fmt in [
        "%Y-%m-%d %H:%M:%S%.f",
        "%Y-%m-%dT%H:%M:%S%.f",
        "%Y-%m-%d %H:%M",
    ] {
        if let Ok(t) = NaiveDateTime::parse_from_str(s, fmt) {
            return Some(Value::Timestamp(t));
        }
    }
    for fmt in ["%Y-%m-%d", "%d/%m/%Y"] {
        if let Ok(d) = NaiveDate::parse_from_str(s, fmt) {
            return Some(Value::Date(d));
        }
    }
    None
}

fn normalize(v: &Value) -> Result<Option<Value>, String> {
    Ok(match v {
        Value::Timestamp(t) => Some(Value::Timestamp(*t)),
        Value::Null | Value::Unchanged => None,
        Value::Date(_) | Value::Timestamptz(_) => Some(v.clone()),
        Value::Text(s) if s.trim().is_empty() => None,
        other => {
            let text = as_text(other).unwrap_or_default();
            Some(parse_text_datetime(&text).ok_or_else(|| format!("{text:?} is not a date/time"))?)
        }
    })
}

/// `to_date(x)`.
pub fn to_date(v: &Value) -> Result<Value, String> {
    Ok(match normalize(v)? {
        None => Value::Null,
        Some(Value::Date(d)) => Value::Date(d),
        Some(Value::Timestamp(t)) => Value::Date(t.date()),
        Some(Value::Timestamptz(t)) => Value::Date(utc_to_local(t).date()),
        Some(_) => unreachable!("normalize returns date/time values only"),
    })
}

/// `to_timestamp(x)`.
pub fn to_timestamp(v: &Value) -> Result<Value, String> {
    Ok(match normalize(v)? {
        None => Value::Null,
        Some(Value::Date(d)) => Value::Timestamp(d.and_time(NaiveTime::MIN)),
        Some(Value::Timestamp(t)) => Value::Timestamp(t),
        Some(Value::Timestamptz(t)) => Value::Timestamp(utc_to_local(t)),
        Some(_) => unreachable!("normalize returns date/time values only"),
    })
}

/// `to_timestamptz(x)`.
pub fn to_timestamptz(v: &Value) -> Result<Value, String> {
    Ok(match normalize(v)? {
        None => Value::Null,
        Some(Value::Date(d)) => Value::Timestamptz(local_to_utc(d.and_time(NaiveTime::MIN))),
        Some(Value::Timestamp(t)) => Value::Timestamptz(local_to_utc(t)),
        Some(Value::Timestamptz(t)) => Value::Timestamptz(t),
        Some(_) => unreachable!("normalize returns date/time values only"),
    })
}

/// `month_start(x)` / `month_end(x)`: first or last day of the month of a date, a timestamp,
/// or a `'YYYYMM'` period text (the legacy `facperiodo`).
pub fn month_bound(v: &Value, end: bool) -> Result<Value, String> {
    let period = match v {
        Value::Text(s) if s.trim().len() == 6 && s.trim().bytes().all(|b| b.is_ascii_digit()) => {
            let s = s.trim();
            let y: i32 = s[..4].parse().map_err(|_| format!("{s:?} is not YYYYMM"))?;
            let m: u32 = s[4..].parse().map_err(|_| format!("{s:?} is not YYYYMM"))?;
            Some((y, m))
        }
        _ => None,
    };
    let (y, m) = match period {
        Some(p) => p,
        None => match to_date(v)? {
            Value::Date(d) => (d.year(), d.month()),
            _ => return Ok(Value::Null),
        },
    };
    let first = NaiveDate::from_ymd_opt(y, m, 1).ok_or_else(|| format!("no month {y}-{m}"))?;
    if !end {
        return Ok(Value::Date(first));
    }
    let next = if m == 12 {
        NaiveDate::from_ymd_opt(y + 1, 1, 1)
    } else {
        NaiveDate::from_ymd_opt(y, m + 1, 1)
    };
    Ok(Value::Date(
        next.and_then(|n| n.pred_opt())
            .ok_or_else(|| format!("no month {y}-{m}"))?,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn local(s: &str) -> NaiveDateTime {
        NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap()
    }

    #[test]
    fn mexico_city_offsets() {
        // Winter: UTC-6.
        assert_eq!(
            local_to_utc(local("2020-01-15 10:00:00")).to_rfc3339(),
            "2020-01-15T16:00:00+00:00"
        );
        // Summer 2020: UTC-5.
        assert_eq!(
            local_to_utc(local("2020-07-15 10:00:00")).to_rfc3339(),
            "2020-07-15T15:00:00+00:00"
        );
        // 2001 rule: April is still standard time.
        assert_eq!(
            local_to_utc(local("2001-04-15 10:00:00")).to_rfc3339(),
            "2001-04-15T16:00:00+00:00"
        );
        // No DST since 2023.
        assert_eq!(
            local_to_utc(local("2024-07-15 10:00:00")).to_rfc3339(),
            "2024-07-15T16:00:00+00:00"
        );
        // Spring forward 2020-04-05 02:30 does not exist: read as standard time.
        assert_eq!(
            local_to_utc(local("2020-04-05 02:30:00")).to_rfc3339(),
            "2020-04-05T08:30:00+00:00"
        );
        // Fall back 2020-10-25 01:30 is ambiguous: the later (standard) instant.
        assert_eq!(
            local_to_utc(local("2020-10-25 01:30:00")).to_rfc3339(),
            "2020-10-25T07:30:00+00:00"
        );
    }

    #[test]
    fn local_times_round_trip() {
        let mut t = local("2019-01-01 00:00:00");
        let end = local("2023-01-01 00:00:00");
        while t < end {
            let back = utc_to_local(local_to_utc(t));
            let skipped = t.format("%m-%d %H").to_string();
            if back != t {
                // Only the non-existent spring-forward hour may move.
                assert!(skipped.ends_with(" 02"), "{t} came back as {back}");
                assert_eq!(back, t + Duration::hours(1));
            }
            t += Duration::minutes(30);
        }
    }

    #[test]
    fn casts() {
        assert_eq!(
            to_date(&Value::Text("2024-03-01".into()))
                .unwrap()
                .to_text()
                .unwrap(),
            "2024-03-01"
        );
        assert_eq!(
            to_date(&Value::Timestamp(local("2024-03-01 23:59:00")))
                .unwrap()
                .to_text()
                .unwrap(),
            "2024-03-01"
        );
        assert!(to_date(&Value::Text("nope".into())).is_err());
        assert_eq!(to_timestamptz(&Value::Null).unwrap(), Value::Null);
    }
}
