//! Expression AST → [`Node`] trees bound to column *slots*, with static types.
//!
//! A slot is a (source, name) pair: source 0 is the row being mapped, sources 1.. are joined
//! rows. Every source keeps the list of column names its expressions read; when a row arrives,
//! [`Binder`] maps those names to positions in the row's [`RowSchema`] once per schema (cached
//! by `Arc` pointer, then by equality), so evaluation is an index lookup per column.
//!
//! Compilation also infers a static [`Ty`] for every expression. Without a catalog column types
//! are unknown ([`Ty::Any`]); the live check passes real column types and then reports
//! mismatches such as text into an integer column.

use std::sync::{Arc, RwLock};

use rust_decimal::Decimal;
use supra_sync_core::{PgType, RowSchema, Value};

use crate::builtins::{self, Func};
use crate::diag::did_you_mean;
use crate::expr::{Expr, ExprKind, MapKey};

/// Static type of an expression.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Ty {
    /// Unknown (no catalog) — compatible with anything.
    Any,
    /// The NULL literal.
    Null,
    /// boolean
    Bool,
    /// integer types
    Int,
    /// numeric
    Numeric,
    /// double precision / real
    Float,
    /// character types
    Text,
    /// date
    Date,
    /// timestamp without time zone
    Timestamp,
    /// timestamp with time zone
    Timestamptz,
    /// uuid
    Uuid,
    /// json / jsonb
    Json,
    /// geography point
    Point,
    /// text[]
    TextArray,
}

impl Ty {
    /// The type of a column of PostgreSQL type `pg`.
    pub fn of(pg: PgType) -> Ty {
        match pg {
            PgType::Bool => Ty::Bool,
            PgType::Int2 | PgType::Int4 | PgType::Int8 => Ty::Int,
            PgType::Float4 | PgType::Float8 => Ty::Float,
            PgType::Numeric => Ty::Numeric,
            PgType::Text | PgType::Varchar | PgType::Bpchar => Ty::Text,
            PgType::Date => Ty::Date,
            PgType::Timestamp => Ty::Timestamp,
            PgType::Timestamptz => Ty::Timestamptz,
            PgType::Uuid => Ty::Uuid,
            PgType::Json | PgType::Jsonb => Ty::Json,
            PgType::TextArray => Ty::TextArray,
            PgType::Geography => Ty::Point,
            PgType::Other(_) => Ty::Any,
        }
    }

    /// Whether a value of this type may be written into a column of type `pg` as is.
    /// `Err` carries a hint naming the cast to use.
    pub fn assignable_to(self, pg: PgType) -> Result<(), String> {
        let ok = match (self, pg) {
            (Ty::Any | Ty::Null, _) | (_, PgType::Other(_)) => true,
            (Ty::Bool, PgType::Bool) => true,
            (Ty::Int, p) => p.is_numeric(),
            (Ty::Numeric, PgType::Numeric | PgType::Float4 | PgType::Float8) => true,
            (Ty::Float, PgType::Float4 | PgType::Float8) => true,
            (Ty::Text, p) => p.is_textual(),
            (Ty::Date, PgType::Date | PgType::Timestamp | PgType::Timestamptz) => true,
            (Ty::Timestamp, PgType::Timestamp) => true,
            (Ty::Timestamptz, PgType::Timestamptz) => true,
            (Ty::Uuid, PgType::Uuid) => true,
            (Ty::Json, PgType::Json | PgType::Jsonb) => true,
            (Ty::Point, PgType::Geography) => true,
            (Ty::TextArray, PgType::TextArray) => true,
            _ => false,
        };
        if ok {
            return Ok(());
        }
        Err(match pg {
            p if p.is_textual() => "use to_text(...)".into(),
            PgType::Int2 | PgType::Int4 | PgType::Int8 => "use to_int(...)".into(),
            PgType::Numeric if self == Ty::Float => {
                "use legacy_money(...) for amounts or to_numeric(..., scale)".into()
            }
            PgType::Numeric => "use to_numeric(...)".into(),
            PgType::Float4 | PgType::Float8 => "use to_float(...)".into(),
            PgType::Bool => "use legacy_bool(...)".into(),
            PgType::Date => "use to_date(...)".into(),
            PgType::Timestamp => "use to_timestamp(...)".into(),
            PgType::Timestamptz => {
                "use to_timestamptz(...) (reads local legacy time as America/Mexico_City)".into()
            }
            PgType::Geography => "use legacy_gps_to_geom(lat, lng)".into(),
            PgType::Json | PgType::Jsonb => "use json_object(...)".into(),
            other => format!("convert the value to {}", other.sql_name()),
        })
    }

    /// How the type reads in messages.
    pub fn name(self) -> &'static str {
        match self {
            Ty::Any => "any",
            Ty::Null => "null",
            Ty::Bool => "boolean",
            Ty::Int => "integer",
            Ty::Numeric => "numeric",
            Ty::Float => "double precision",
            Ty::Text => "text",
            Ty::Date => "date",
            Ty::Timestamp => "timestamp",
            Ty::Timestamptz => "timestamptz",
            Ty::Uuid => "uuid",
            Ty::Json => "jsonb",
            Ty::Point => "geography point",
            Ty::TextArray => "text[]",
        }
    }
}

/// A compiled expression.
#[derive(Debug, Clone)]
pub(crate) enum Node {
    Const(Value),
    Col {
        src: usize,
        slot: usize,
    },
    Call {
        func: Func,
        args: Vec<Node>,
    },
    Map {
        input: Box<Node>,
        entries: Vec<(MapKey, Node)>,
        default: Option<Box<Node>>,
    },
    Ref {
        entity: String,
        args: Vec<Node>,
    },
    LegacyRef {
        entity: String,
        arg: Box<Node>,
    },
    JsonObject {
        keys: Vec<String>,
        values: Vec<Node>,
    },
    ToNumeric {
        arg: Box<Node>,
        scale: Option<u32>,
    },
}

/// Column names read per source; slot `i` of source `s` is `names[s][i]`.
#[derive(Debug, Clone, Default)]
pub(crate) struct Slots {
    pub(crate) names: Vec<Vec<String>>,
}

impl Slots {
    pub(crate) fn with_sources(n: usize) -> Slots {
        Slots {
            names: vec![Vec::new(); n],
        }
    }

    /// The slot of `name` in source `src`, adding it if new.
    pub(crate) fn slot(&mut self, src: usize, name: &str) -> usize {
        let list = &mut self.names[src];
        match list.iter().position(|n| n == name) {
            Some(i) => i,
            None => {
                list.push(name.to_string());
                list.len() - 1
            }
        }
    }
}

/// Type of a column of a source: `None` = no such column, `Some(None)` = type unknown.
pub(crate) type ColumnLookup<'a> = dyn Fn(usize, &str) -> Option<Option<PgType>> + 'a;
/// All column names of a source.
pub(crate) type KnownColumns<'a> = dyn Fn(usize) -> Vec<String> + 'a;
/// One cached binding: a schema and the positions of the slots in it.
type Binding = (Arc<RowSchema>, Arc<[usize]>);

/// What an expression may refer to.
pub(crate) struct Scope<'a> {
    /// Qualifiers naming each source (source 0 may also be referred to unqualified).
    pub(crate) qualifiers: Vec<Vec<String>>,
    /// Human name of each source's table, for messages.
    pub(crate) tables: Vec<String>,
    /// Entities `ref()` / `legacy_ref()` may name; `None` = don't check.
    pub(crate) entities: Option<&'a [String]>,
    /// Whether this is a reverse (SUPRA → legacy) expression.
    pub(crate) reverse: bool,
    /// Catalog column types per source, when checking against a live database.
    pub(crate) columns: Option<&'a ColumnLookup<'a>>,
    /// Column names per source (for "did you mean"), when known.
    pub(crate) known: Option<&'a KnownColumns<'a>>,
}

/// A problem found while compiling, at a byte position of the expression.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct CompileError {
    pub(crate) pos: usize,
    pub(crate) message: String,
    pub(crate) hint: Option<String>,
}

fn err(pos: usize, message: impl Into<String>, hint: Option<String>) -> CompileError {
    CompileError {
        pos,
        message: message.into(),
        hint,
    }
}

/// Compiles `e`, registering column slots; pushes every problem into `errors`.
pub(crate) fn compile(
    e: &Expr,
    scope: &Scope<'_>,
    slots: &mut Slots,
    errors: &mut Vec<CompileError>,
) -> (Node, Ty) {
    match &e.kind {
        ExprKind::Null => (Node::Const(Value::Null), Ty::Null),
        ExprKind::Bool(b) => (Node::Const(Value::Bool(*b)), Ty::Bool),
        ExprKind::Int(i) => (Node::Const(Value::Int(*i)), Ty::Int),
        ExprKind::Num(d) => (Node::Const(Value::Numeric(*d)), Ty::Numeric),
        ExprKind::Str(s) => (Node::Const(Value::Text(s.clone())), Ty::Text),
        ExprKind::Placeholder(p) => {
            errors.push(err(
                e.pos,
                format!("template variable `${p}` is not defined here"),
                None,
            ));
            (Node::Const(Value::Null), Ty::Any)
        }
        ExprKind::Map(_) => {
            errors.push(err(
                e.pos,
                "a { key = value } map is only allowed as the second argument of map()",
                None,
            ));
            (Node::Const(Value::Null), Ty::Any)
        }
        ExprKind::Column { qualifier, name } => {
            compile_column(e.pos, qualifier.as_deref(), name, scope, slots, errors)
        }
        ExprKind::Call { name, args } => compile_call(e.pos, name, args, scope, slots, errors),
    }
}

fn compile_column(
    pos: usize,
    qualifier: Option<&str>,
    name: &str,
    scope: &Scope<'_>,
    slots: &mut Slots,
    errors: &mut Vec<CompileError>,
) -> (Node, Ty) {
    let src = match qualifier {
        None => 0,
        Some(q) => match scope
            .qualifiers
            .iter()
            .position(|qs| qs.iter().any(|x| x == q))
        {
            Some(s) => s,
            None => {
                let all: Vec<&str> = scope
                    .qualifiers
                    .iter()
                    .flatten()
                    .map(String::as_str)
                    .collect();
                let hint = did_you_mean(q, all.iter().copied())
                    .or_else(|| Some(format!("known tables here: {}", all.join(", "))));
                errors.push(err(pos, format!("unknown table alias `{q}`"), hint));
                return (Node::Const(Value::Null), Ty::Any);
            }
        },
    };
    let mut ty = Ty::Any;
    if let Some(lookup) = scope.columns {
        match lookup(src, name) {
            Some(pg) => ty = pg.map_or(Ty::Any, Ty::of),
            None => {
                let known = scope.known.map(|k| k(src)).unwrap_or_default();
                let hint = did_you_mean(name, known.iter().map(String::as_str));
                errors.push(err(
                    pos,
                    format!("unknown column `{name}` in {}", scope.tables[src]),
                    hint,
                ));
            }
        }
    }
    (
        Node::Col {
            src,
            slot: slots.slot(src, name),
        },
        ty,
    )
}

fn unify(tys: impl IntoIterator<Item = Ty>) -> Ty {
    let mut out = Ty::Null;
    for t in tys {
        out = match (out, t) {
            (Ty::Null, t) | (t, Ty::Null) => t,
            (a, b) if a == b => a,
            (Ty::Int, Ty::Numeric) | (Ty::Numeric, Ty::Int) => Ty::Numeric,
            _ => Ty::Any,
        };
    }
    out
}

fn literal_str(e: &Expr) -> Option<&str> {
    match &e.kind {
        ExprKind::Str(s) => Some(s),
        _ => None,
    }
}

fn compile_call(
    pos: usize,
    name: &str,
    args: &[Expr],
    scope: &Scope<'_>,
    slots: &mut Slots,
    errors: &mut Vec<CompileError>,
) -> (Node, Ty) {
    let bad = (Node::Const(Value::Null), Ty::Any);
    let Some(info) = builtins::lookup(name) else {
        let hint = did_you_mean(name, builtins::FUNCTIONS.iter().map(|f| f.name))
            .or_else(|| Some("see `supra-sync mappings explain` for the function list".into()));
        errors.push(err(pos, format!("unknown function `{name}`"), hint));
        return bad;
    };
    let n = args.len();
    if n < info.min_args || info.max_args.is_some_and(|m| n > m) {
        let want = match info.max_args {
            Some(m) if m == info.min_args => format!("{m}"),
            Some(m) => format!("{} to {m}", info.min_args),
            None => format!("at least {}", info.min_args),
        };
        errors.push(err(
            pos,
            format!("wrong number of arguments to {name}(): expected {want}, got {n}"),
            Some(format!("usage: {}", info.signature)),
        ));
        return bad;
    }
    let sub = |a: &Expr, slots: &mut Slots, errors: &mut Vec<CompileError>| {
        compile(a, scope, slots, errors)
    };
    match info.func {
        Func::Map => {
            let (input, _) = sub(&args[0], slots, errors);
            let ExprKind::Map(entries) = &args[1].kind else {
                errors.push(err(
                    args[1].pos,
                    "map() expects a { key = value, ... } table as its second argument",
                    Some("map(prstipo, {F = 'fisica', J = 'moral'}, 'fisica')".into()),
                ));
                return bad;
            };
            let mut tys = Vec::new();
            let mut compiled = Vec::new();
            for (k, v) in entries {
                if compiled.iter().any(|(ck, _): &(MapKey, Node)| ck == k) {
                    errors.push(err(v.pos, format!("duplicate map key {k:?}"), None));
                }
                let (node, t) = sub(v, slots, errors);
                tys.push(t);
                compiled.push((k.clone(), node));
            }
            let default = args.get(2).map(|d| {
                let (node, t) = sub(d, slots, errors);
                tys.push(t);
                Box::new(node)
            });
            (
                Node::Map {
                    input: Box::new(input),
                    entries: compiled,
                    default,
                },
                unify(tys),
            )
        }
        Func::Ref | Func::LegacyRef => {
            let Some(entity) = literal_str(&args[0]) else {
                errors.push(err(
                    args[0].pos,
                    format!("the first argument of {name}() must be an entity name in quotes"),
                    Some(format!("{name}('persona', ...)")),
                ));
                return bad;
            };
            if let Some(known) = scope.entities
                && !known.iter().any(|k| k == entity)
            {
                let hint = did_you_mean(entity, known.iter().map(String::as_str))
                    .or_else(|| Some("add a mapping file for that entity, or fix the name".into()));
                errors.push(err(
                    args[0].pos,
                    format!("lookup to an unmapped entity `{entity}`"),
                    hint,
                ));
            }
            if info.func == Func::Ref {
                if scope.reverse {
                    errors.push(err(
                        pos,
                        "ref() resolves legacy keys and is only allowed in forward expressions",
                        Some("use legacy_ref('entity', uuid_column) in [reverse]".into()),
                    ));
                }
                let nodes: Vec<Node> = args[1..].iter().map(|a| sub(a, slots, errors).0).collect();
                (
                    Node::Ref {
                        entity: entity.to_string(),
                        args: nodes,
                    },
                    Ty::Uuid,
                )
            } else {
                if !scope.reverse {
                    errors.push(err(
                        pos,
                        "legacy_ref() is only allowed in [reverse] expressions",
                        Some("use ref('entity', legacy_key_column) in forward expressions".into()),
                    ));
                }
                let (arg, _) = sub(&args[1], slots, errors);
                (
                    Node::LegacyRef {
                        entity: entity.to_string(),
                        arg: Box::new(arg),
                    },
                    Ty::Text,
                )
            }
        }
        Func::JsonObject => {
            if !n.is_multiple_of(2) {
                errors.push(err(
                    pos,
                    "json_object() takes key/value pairs: an even number of arguments",
                    Some("json_object('cycle_days', expdiasvencfact, ...)".into()),
                ));
                return bad;
            }
            let mut keys = Vec::new();
            let mut values = Vec::new();
            for pair in args.chunks(2) {
                match literal_str(&pair[0]) {
                    Some(k) if keys.iter().any(|x| x == k) => errors.push(err(
                        pair[0].pos,
                        format!("duplicate key '{k}' in json_object()"),
                        None,
                    )),
                    Some(k) => keys.push(k.to_string()),
                    None => errors.push(err(
                        pair[0].pos,
                        "json_object() keys must be string literals",
                        None,
                    )),
                }
                values.push(sub(&pair[1], slots, errors).0);
            }
            (Node::JsonObject { keys, values }, Ty::Json)
        }
        Func::ToNumeric => {
            let (arg, _) = sub(&args[0], slots, errors);
            let scale = match args.get(1).map(|a| &a.kind) {
                None => None,
                Some(ExprKind::Int(s)) if (0..=28).contains(s) => Some(*s as u32),
                Some(_) => {
                    errors.push(err(
                        args[1].pos,
                        "the scale of to_numeric() must be an integer literal from 0 to 28",
                        None,
                    ));
                    None
                }
            };
            (
                Node::ToNumeric {
                    arg: Box::new(arg),
                    scale,
                },
                Ty::Numeric,
            )
        }
        Func::LegacyKey | Func::SupraId | Func::Now => {
            if info.func == Func::LegacyKey && !scope.reverse {
                errors.push(err(
                    pos,
                    "legacy_key() is only allowed in [reverse] expressions",
                    Some("in forward expressions use the key column itself".into()),
                ));
            }
            let nodes: Vec<Node> = args.iter().map(|a| sub(a, slots, errors).0).collect();
            let ty = match info.func {
                Func::LegacyKey => Ty::Text,
                Func::SupraId => Ty::Uuid,
                _ => Ty::Timestamptz,
            };
            (
                Node::Call {
                    func: info.func,
                    args: nodes,
                },
                ty,
            )
        }
        func => {
            let compiled: Vec<(Node, Ty)> = args.iter().map(|a| sub(a, slots, errors)).collect();
            let tys: Vec<Ty> = compiled.iter().map(|(_, t)| *t).collect();
            let ty = match func {
                Func::Coalesce => unify(tys.iter().copied()),
                Func::Nullif => tys[0],
                Func::Trim
                | Func::TrimNullif
                | Func::ConcatWs
                | Func::Concat
                | Func::Lower
                | Func::Upper
                | Func::Substr
                | Func::Left
                | Func::ToText
                | Func::BoolToLegacy => Ty::Text,
                Func::ToDate => Ty::Date,
                Func::ToTimestamp => Ty::Timestamp,
                Func::ToTimestamptz => Ty::Timestamptz,
                Func::ToInt => Ty::Int,
                Func::ToFloat => Ty::Float,
                Func::LegacyBool => Ty::Bool,
                Func::LegacyGpsToGeom => Ty::Point,
                Func::GeomLat | Func::GeomLng | Func::LegacyMoney => Ty::Numeric,
                Func::JsonGet => Ty::Text,
                Func::ToUuid => Ty::Uuid,
                Func::MonthStart | Func::MonthEnd => Ty::Date,
                Func::Sum => unify(tys.iter().copied()),
                _ => Ty::Any,
            };
            (
                Node::Call {
                    func,
                    args: compiled.into_iter().map(|(n, _)| n).collect(),
                },
                ty,
            )
        }
    }
}

/// True when the node reads a joined row (source > 0).
pub(crate) fn reads_joined(n: &Node) -> bool {
    let mut found = false;
    visit(n, &mut |x| {
        if let Node::Col { src, .. } = x
            && *src != 0
        {
            found = true;
        }
    });
    found
}

/// Visits `n` and every node below it.
pub(crate) fn visit<'a>(n: &'a Node, f: &mut dyn FnMut(&'a Node)) {
    f(n);
    match n {
        Node::Call { args, .. } | Node::Ref { args, .. } => args.iter().for_each(|a| visit(a, f)),
        Node::Map {
            input,
            entries,
            default,
        } => {
            visit(input, f);
            entries.iter().for_each(|(_, e)| visit(e, f));
            if let Some(d) = default {
                visit(d, f);
            }
        }
        Node::LegacyRef { arg, .. } | Node::ToNumeric { arg, .. } => visit(arg, f),
        Node::JsonObject { values, .. } => values.iter().for_each(|v| visit(v, f)),
        Node::Const(_) | Node::Col { .. } => {}
    }
}

/// Position used for a column a row's schema does not have.
pub(crate) const MISSING: usize = usize::MAX;

/// Maps slot names to positions in row schemas, caching per schema.
#[derive(Debug, Default)]
pub(crate) struct Binder {
    cache: RwLock<Vec<Binding>>,
}

impl Binder {
    /// Positions of `names` in `schema` ([`MISSING`] where absent).
    pub(crate) fn bind(&self, names: &[String], schema: &Arc<RowSchema>) -> Arc<[usize]> {
        if let Ok(cache) = self.cache.read()
            && let Some((_, b)) = cache.iter().find(|(s, _)| Arc::ptr_eq(s, schema))
        {
            return b.clone();
        }
        let found = self.cache.read().ok().and_then(|c| {
            c.iter()
                .find(|(s, _)| **s == **schema)
                .map(|(_, b)| b.clone())
        });
        let bound: Arc<[usize]> = found.unwrap_or_else(|| {
            names
                .iter()
                .map(|n| schema.index_of(n).unwrap_or(MISSING))
                .collect()
        });
        if let Ok(mut cache) = self.cache.write() {
            if cache.len() >= 16 {
                cache.remove(0);
            }
            cache.push((schema.clone(), bound.clone()));
        }
        bound
    }
}

/// Decimal literal helper for map keys.
pub(crate) fn key_matches(input: &Value, key: &MapKey) -> bool {
    match (input, key) {
        (Value::Text(s), MapKey::Str(k)) => s == k,
        (Value::Bool(b), MapKey::Bool(k)) => b == k,
        (Value::Int(i), MapKey::Num(k)) => Decimal::from(*i) == *k,
        (Value::Numeric(d), MapKey::Num(k)) => d == k,
        (Value::Text(s), MapKey::Num(k)) => s.trim().parse::<Decimal>().is_ok_and(|d| d == *k),
        (Value::Int(_) | Value::Numeric(_), MapKey::Str(k)) => {
            input.to_text().is_some_and(|t| t == *k)
        }
        _ => false,
    }
}
