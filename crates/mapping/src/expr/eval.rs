//! Evaluation of compiled [`Node`] trees. Pure: everything an expression can look at is in the
//! [`Env`] — the bound rows, and the [`ResolvedContext`] the engine filled beforehand.
//!
//! Values are passed as `Cow` so a column that a function leaves untouched (the common case of
//! `trim_nullif` on clean data) is cloned once, into the output row, and not at every step.

use std::borrow::Cow;

use supra_sync_core::{Row, Value};
use uuid::Uuid;

use crate::builtins::{self, Func};
use crate::compile::{MISSING, Node, key_matches};
use crate::context::ResolvedContext;

/// Why an expression could not be evaluated (the caller adds the target column).
#[derive(Debug, Clone, PartialEq)]
pub(crate) enum Fault {
    MissingRef { entity: String, legacy_key: String },
    MissingLegacyId { entity: String, supra_id: Uuid },
    Unchanged(String),
    MissingColumn(String),
    Invalid(String),
}

/// A row bound to a source: the row and the positions of the source's slots in it.
#[derive(Clone, Copy)]
pub(crate) struct Bound<'a> {
    pub(crate) row: &'a Row,
    pub(crate) map: &'a [usize],
    pub(crate) names: &'a [String],
}

/// Everything an expression can read.
pub(crate) struct Env<'a> {
    /// One entry per source; `None` for a joined row that does not exist (reads as NULL).
    pub(crate) rows: &'a [Option<Bound<'a>>],
    pub(crate) ctx: &'a ResolvedContext,
    pub(crate) supra_id: Uuid,
    /// The legacy key of the row being written back (reverse only).
    pub(crate) legacy_key: Option<&'a str>,
}

static NULL: Value = Value::Null;

type R<'a> = Result<Cow<'a, Value>, Fault>;

fn owned<'a>(r: Result<Value, String>) -> R<'a> {
    r.map(Cow::Owned).map_err(Fault::Invalid)
}

/// The canonical key text of values, as `sync_mappings.legacy_id` stores it: the single
/// value's text, or a JSON array for composite keys (same as `Row::key_text`).
pub(crate) fn key_text(values: &[&Value]) -> Option<String> {
    if values.iter().any(|v| v.is_null()) {
        return None;
    }
    Some(match values {
        [one] => one.to_text().unwrap_or_default(),
        many => serde_json::Value::Array(many.iter().map(|v| v.to_json()).collect()).to_string(),
    })
}

/// Evaluates `node`.
pub(crate) fn eval<'a>(node: &'a Node, env: &Env<'a>) -> R<'a> {
    match node {
        Node::Const(v) => Ok(Cow::Borrowed(v)),
        Node::Col { src, slot } => {
            let Some(b) = env.rows.get(*src).copied().flatten() else {
                return Ok(Cow::Borrowed(&NULL));
            };
            let pos = b.map[*slot];
            if pos == MISSING {
                return Err(Fault::MissingColumn(b.names[*slot].clone()));
            }
            match &b.row.values[pos] {
                Value::Unchanged => Err(Fault::Unchanged(b.names[*slot].clone())),
                v => Ok(Cow::Borrowed(v)),
            }
        }
        Node::Map {
            input,
            entries,
            default,
        } => {
            let v = eval(input, env)?;
            if !v.is_null()
                && let Some((_, out)) = entries.iter().find(|(k, _)| key_matches(&v, k))
            {
                return eval(out, env);
            }
            match default {
                Some(d) => eval(d, env),
                None => Ok(Cow::Borrowed(&NULL)),
            }
        }
        Node::Ref { entity, args } => {
            let vals = args
                .iter()
                .map(|a| eval(a, env))
                .collect::<Result<Vec<_>, _>>()?;
            let refs: Vec<&Value> = vals.iter().map(|c| c.as_ref()).collect();
            let Some(key) = key_text(&refs) else {
                return Ok(Cow::Borrowed(&NULL));
            };
            match env.ctx.supra_id_of(entity, &key) {
                Some(id) => Ok(Cow::Owned(Value::Uuid(id))),
                None => Err(Fault::MissingRef {
                    entity: entity.clone(),
                    legacy_key: key,
                }),
            }
        }
        Node::LegacyRef { entity, arg } => {
            let v = eval(arg, env)?;
            let id = match v.as_ref() {
                Value::Null => return Ok(Cow::Borrowed(&NULL)),
                Value::Uuid(u) => *u,
                Value::Text(t) => Uuid::parse_str(t.trim())
                    .map_err(|e| Fault::Invalid(format!("{t:?} is not a uuid: {e}")))?,
                other => {
                    return Err(Fault::Invalid(format!(
                        "legacy_ref() expects a uuid, got {other:?}"
                    )));
                }
            };
            match env.ctx.legacy_id_of(entity, id) {
                Some(k) => Ok(Cow::Owned(Value::Text(k.to_string()))),
                None => Err(Fault::MissingLegacyId {
                    entity: entity.clone(),
                    supra_id: id,
                }),
            }
        }
        Node::JsonObject { keys, values } => {
            let mut map = serde_json::Map::with_capacity(keys.len());
            for (k, v) in keys.iter().zip(values) {
                map.insert(k.clone(), builtins::json::to_json(&*eval(v, env)?));
            }
            Ok(Cow::Owned(Value::Json(serde_json::Value::Object(map))))
        }
        Node::ToNumeric { arg, scale } => {
            owned(builtins::cast::to_numeric(&*eval(arg, env)?, *scale))
        }
        Node::Call { func, args } => call(*func, args, env),
    }
}

fn int_arg<'a>(n: &'a Node, env: &Env<'a>) -> Result<Option<i64>, Fault> {
    match builtins::cast::to_int(&*eval(n, env)?).map_err(Fault::Invalid)? {
        Value::Int(i) => Ok(Some(i)),
        _ => Ok(None),
    }
}

fn call<'a>(func: Func, args: &'a [Node], env: &Env<'a>) -> R<'a> {
    use builtins::{bool as b, cast, gps, money, text, time};
    let arg = |i: usize| eval(&args[i], env);
    match func {
        Func::Coalesce => {
            for a in args {
                let v = eval(a, env)?;
                if !v.is_null() {
                    return Ok(v);
                }
            }
            Ok(Cow::Borrowed(&NULL))
        }
        Func::Trim => Ok(text::trim(arg(0)?)),
        Func::TrimNullif => Ok(text::trim_nullif(arg(0)?)),
        Func::Nullif => {
            let a = arg(0)?;
            let b = arg(1)?;
            let same = !a.is_null()
                && (a.as_ref() == b.as_ref() || text::as_text(&a) == text::as_text(&b));
            Ok(if same { Cow::Borrowed(&NULL) } else { a })
        }
        Func::Lower => Ok(text::change_case(arg(0)?, false)),
        Func::Upper => Ok(text::change_case(arg(0)?, true)),
        Func::Concat | Func::ConcatWs => {
            let sep_value;
            let (sep, rest): (Cow<'_, str>, &[Node]) = if func == Func::ConcatWs {
                sep_value = arg(0)?;
                match text::as_text(&sep_value) {
                    None => return Ok(Cow::Borrowed(&NULL)),
                    Some(t) => (Cow::Owned(t.into_owned()), &args[1..]),
                }
            } else {
                (Cow::Borrowed(""), args)
            };
            let mut out = String::new();
            let mut first = true;
            for a in rest {
                let v = eval(a, env)?;
                if let Some(t) = text::as_text(&v) {
                    if !first {
                        out.push_str(&sep);
                    }
                    out.push_str(&t);
                    first = false;
                } else if func == Func::Concat {
                    first = false;
                }
            }
            Ok(Cow::Owned(Value::Text(out)))
        }
        Func::Substr => {
            let v = arg(0)?;
            let Some(start) = int_arg(&args[1], env)? else {
                return Ok(Cow::Borrowed(&NULL));
            };
            let len = match args.get(2) {
                Some(n) => match int_arg(n, env)? {
                    Some(l) => Some(l),
                    None => return Ok(Cow::Borrowed(&NULL)),
                },
                None => None,
            };
            owned(text::substr(&v, start, len))
        }
        Func::Left => {
            let v = arg(0)?;
            let Some(n) = int_arg(&args[1], env)? else {
                return Ok(Cow::Borrowed(&NULL));
            };
            Ok(Cow::Owned(text::left(&v, n)))
        }
        Func::ToDate => owned(time::to_date(&*arg(0)?)),
        Func::ToTimestamp => owned(time::to_timestamp(&*arg(0)?)),
        Func::ToTimestamptz => owned(time::to_timestamptz(&*arg(0)?)),
        Func::ToInt => owned(cast::to_int(&*arg(0)?)),
        Func::ToFloat => owned(cast::to_float(&*arg(0)?)),
        Func::ToText => {
            let v = arg(0)?;
            if matches!(v.as_ref(), Value::Text(_) | Value::Null) {
                return Ok(v);
            }
            Ok(Cow::Owned(cast::to_text(&v)))
        }
        Func::ToNumeric => owned(cast::to_numeric(&*arg(0)?, None)),
        Func::Now => Ok(Cow::Owned(Value::Timestamptz(env.ctx.now))),
        Func::SupraId => Ok(Cow::Owned(Value::Uuid(env.supra_id))),
        Func::LegacyKey => {
            let Some(key) = env.legacy_key else {
                return Err(Fault::Invalid(
                    "legacy_key() has no legacy id for this row".into(),
                ));
            };
            match args.first() {
                None => Ok(Cow::Owned(Value::Text(key.to_string()))),
                Some(n) => {
                    let i = int_arg(n, env)?.unwrap_or(0);
                    let parts: Vec<serde_json::Value> =
                        serde_json::from_str(key).map_err(|_| {
                            Fault::Invalid(format!("legacy key {key:?} is not composite"))
                        })?;
                    let part = usize::try_from(i)
                        .ok()
                        .and_then(|i| parts.get(i))
                        .ok_or_else(|| {
                            Fault::Invalid(format!("legacy key {key:?} has no part {i}"))
                        })?;
                    Ok(Cow::Owned(match part {
                        serde_json::Value::Null => Value::Null,
                        serde_json::Value::String(s) => Value::Text(s.clone()),
                        other => Value::Text(other.to_string()),
                    }))
                }
            }
        }
        Func::LegacyBool => Ok(Cow::Owned(b::legacy_bool(&*arg(0)?))),
        Func::BoolToLegacy => {
            let v = arg(0)?;
            let yes = match args.get(1) {
                Some(_) => text::as_text(&*arg(1)?)
                    .map(Cow::into_owned)
                    .unwrap_or_default(),
                None => "S".into(),
            };
            let no = match args.get(2) {
                Some(_) => text::as_text(&*arg(2)?)
                    .map(Cow::into_owned)
                    .unwrap_or_default(),
                None => "N".into(),
            };
            owned(b::bool_to_legacy(&v, &yes, &no))
        }
        Func::LegacyGpsToGeom => Ok(Cow::Owned(gps::legacy_gps_to_geom(&*arg(0)?, &*arg(1)?))),
        Func::GeomLat => owned(gps::coordinate(&*arg(0)?, true)),
        Func::GeomLng => owned(gps::coordinate(&*arg(0)?, false)),
        Func::LegacyMoney => owned(money::legacy_money(&*arg(0)?)),
        Func::JsonGet => {
            let v = arg(0)?;
            let k = arg(1)?;
            let (Value::Json(serde_json::Value::Object(o)), Some(key)) =
                (v.as_ref(), text::as_text(&k))
            else {
                return Ok(Cow::Borrowed(&NULL));
            };
            Ok(Cow::Owned(match o.get(key.as_ref()) {
                None | Some(serde_json::Value::Null) => Value::Null,
                Some(serde_json::Value::String(s)) => Value::Text(s.clone()),
                Some(other) => Value::Text(other.to_string()),
            }))
        }
        Func::ToUuid => Ok(Cow::Owned(cast::to_uuid(&*arg(0)?))),
        Func::MonthStart => owned(time::month_bound(&*arg(0)?, false)),
        Func::MonthEnd => owned(time::month_bound(&*arg(0)?, true)),
        Func::Sum => {
            let mut total: Option<rust_decimal::Decimal> = None;
            for a in args {
                if let Some(d) = cast::to_decimal(&*eval(a, env)?).map_err(Fault::Invalid)? {
                    total = Some(total.map_or(d, |t| t + d));
                }
            }
            Ok(Cow::Owned(total.map_or(Value::Null, Value::Numeric)))
        }
        Func::Map | Func::Ref | Func::LegacyRef | Func::JsonObject => {
            unreachable!("compiled to dedicated nodes")
        }
    }
}
