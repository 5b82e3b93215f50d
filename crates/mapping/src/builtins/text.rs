//! Text functions. They follow PostgreSQL: NULL in → NULL out, except `concat`/`concat_ws`,
//! which skip NULLs. Non-text arguments are first turned into their PostgreSQL text form.
//! Lengths and positions count characters, not bytes ('Ñúñez' has 5).

use std::borrow::Cow;

use supra_sync_core::Value;

/// The text form of a value; `None` for NULL.
pub fn as_text<'a>(v: &'a Value) -> Option<Cow<'a, str>> {
    match v {
        Value::Null | Value::Unchanged => None,
        Value::Text(s) => Some(Cow::Borrowed(s.as_str())),
        other => other.to_text().map(Cow::Owned),
    }
}

fn text_value<'a>(original: Cow<'a, Value>, result: &str) -> Cow<'a, Value> {
    if let Value::Text(s) = original.as_ref()
        && s == result
    {
        return original;
    }
    Cow::Owned(Value::Text(result.to_string()))
}

/// `trim(x)`: strips leading and trailing whitespace.
pub fn trim(v: Cow<'_, Value>) -> Cow<'_, Value> {
    let Some(t) = as_text(&v).map(|t| t.trim().to_string()) else {
        return Cow::Owned(Value::Null);
    };
    text_value(v, &t)
}

/// `trim_nullif(x)`: trim, and NULL when nothing is left.
pub fn trim_nullif(v: Cow<'_, Value>) -> Cow<'_, Value> {
    let trimmed = match as_text(&v) {
        None => return Cow::Owned(Value::Null),
        Some(t) => {
            let t2 = t.trim();
            if t2.is_empty() {
                return Cow::Owned(Value::Null);
            }
            if let (Cow::Borrowed(orig), Value::Text(_)) = (&t, v.as_ref())
                && orig.len() == t2.len()
            {
                return v;
            }
            t2.to_string()
        }
    };
    Cow::Owned(Value::Text(trimmed))
}

/// `lower(x)` / `upper(x)`.
pub fn change_case(v: Cow<'_, Value>, upper: bool) -> Cow<'_, Value> {
    let Some(t) = as_text(&v) else {
        return Cow::Owned(Value::Null);
    };
    let out = if upper {
        t.to_uppercase()
    } else {
        t.to_lowercase()
    };
    text_value(v, &out)
}

/// `substr(x, start[, len])` with PostgreSQL's 1-based, clamp-at-the-edges semantics.
pub fn substr(v: &Value, start: i64, len: Option<i64>) -> Result<Value, String> {
    let Some(t) = as_text(v) else {
        return Ok(Value::Null);
    };
    if let Some(l) = len
        && l < 0
    {
        return Err("negative substring length not allowed".into());
    }
    let end = len.map(|l| start.saturating_add(l));
    let from = start.max(1);
    let out: String = t
        .chars()
        .enumerate()
        .filter(|(i, _)| {
            let p = *i as i64 + 1;
            p >= from && end.is_none_or(|e| p < e)
        })
        .map(|(_, c)| c)
        .collect();
    Ok(Value::Text(out))
}

/// `left(x, n)`: the first n characters; a negative n drops the last |n|.
pub fn left(v: &Value, n: i64) -> Value {
    let Some(t) = as_text(v) else {
        return Value::Null;
    };
    let count = t.chars().count() as i64;
    let take = if n >= 0 {
        n.min(count)
    } else {
        (count + n).max(0)
    };
    Value::Text(t.chars().take(take as usize).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn t(s: &str) -> Value {
        Value::Text(s.into())
    }

    #[test]
    fn text_functions() {
        assert_eq!(trim(Cow::Owned(t("  Peña  "))).into_owned(), t("Peña"));
        assert_eq!(trim_nullif(Cow::Owned(t("   "))).into_owned(), Value::Null);
        assert_eq!(
            trim_nullif(Cow::Owned(Value::Null)).into_owned(),
            Value::Null
        );
        let v = t("ok");
        assert!(matches!(trim_nullif(Cow::Borrowed(&v)), Cow::Borrowed(_)));
        assert_eq!(
            change_case(Cow::Owned(t("ñúñez")), true).into_owned(),
            t("ÑÚÑEZ")
        );
        assert_eq!(substr(&t("Ñúñez"), 2, Some(3)).unwrap(), t("úñe"));
        assert_eq!(substr(&t("abc"), 0, Some(2)).unwrap(), t("a"));
        assert_eq!(left(&t("Querétaro"), 5), t("Queré"));
        assert_eq!(left(&t("abc"), -1), t("ab"));
        assert_eq!(as_text(&Value::Int(7)).unwrap(), "7");
    }
}
