//! The built-in functions of the expression language: their names, arities and documentation
//! (this module), and their implementations, grouped by concern in the submodules.
//!
//! | module    | functions |
//! |-----------|-----------|
//! | [`text`]  | `trim`, `trim_nullif`, `nullif`, `concat`, `concat_ws`, `lower`, `upper`, `substr`, `left` |
//! | [`cast`]  | `to_text`, `to_int`, `to_float`, `to_numeric` |
//! | [`time`]  | `to_date`, `to_timestamp`, `to_timestamptz`, `now` (America/Mexico_City rules) |
//! | [`bool`]  | `legacy_bool`, `bool_to_legacy` |
//! | [`gps`]   | `legacy_gps_to_geom`, `geom_lat`, `geom_lng` |
//! | [`money`] | `legacy_money` |
//! | [`json`]  | `json_object`, `json_get` and the JSON image of values |
//! | [`cast`]  | also `to_uuid`, `sum` |
//! | [`time`]  | also `month_start`, `month_end` |
//!
//! `coalesce`, `map`, `ref`, `legacy_ref`, `legacy_key` and `supra_id` need the evaluation
//! context and live in [`crate::expr::eval`].

pub mod bool;
pub mod cast;
pub mod gps;
pub mod json;
pub mod money;
pub mod text;
pub mod time;

/// A built-in function.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[allow(missing_docs)]
pub enum Func {
    Coalesce,
    Trim,
    Nullif,
    TrimNullif,
    ConcatWs,
    Concat,
    Lower,
    Upper,
    Substr,
    Left,
    ToDate,
    ToTimestamp,
    ToTimestamptz,
    ToNumeric,
    ToInt,
    ToFloat,
    ToText,
    Now,
    Map,
    Ref,
    LegacyRef,
    LegacyKey,
    SupraId,
    LegacyBool,
    BoolToLegacy,
    LegacyGpsToGeom,
    GeomLat,
    GeomLng,
    LegacyMoney,
    JsonObject,
    JsonGet,
    ToUuid,
    MonthStart,
    MonthEnd,
    Sum,
}

/// Signature and documentation of a built-in.
#[derive(Debug, Clone, Copy)]
pub struct FuncInfo {
    /// The function.
    pub func: Func,
    /// Name as written in expressions.
    pub name: &'static str,
    /// Minimum number of arguments.
    pub min_args: usize,
    /// Maximum number of arguments (`None` = any number).
    pub max_args: Option<usize>,
    /// Call shape, e.g. `substr(text, start[, length])`.
    pub signature: &'static str,
    /// One-line description.
    pub summary: &'static str,
}

macro_rules! f {
    ($func:ident, $name:literal, $min:expr, $max:expr, $sig:literal, $sum:literal) => {
        FuncInfo {
            func: Func::$func,
            name: $name,
            min_args: $min,
            max_args: $max,
            signature: $sig,
            summary: $sum,
        }
    };
}

/// Every built-in function.
pub const FUNCTIONS: &[FuncInfo] = &[
    f!(
        Coalesce,
        "coalesce",
        1,
        None,
        "coalesce(a, b, ...)",
        "first argument that is not NULL"
    ),
    f!(
        Trim,
        "trim",
        1,
        Some(1),
        "trim(text)",
        "strips leading and trailing whitespace"
    ),
    f!(
        Nullif,
        "nullif",
        2,
        Some(2),
        "nullif(a, b)",
        "NULL when a = b, else a"
    ),
    f!(
        TrimNullif,
        "trim_nullif",
        1,
        Some(1),
        "trim_nullif(text)",
        "trim, then NULL when empty"
    ),
    f!(
        ConcatWs,
        "concat_ws",
        2,
        None,
        "concat_ws(sep, a, b, ...)",
        "joins the non-NULL arguments with sep"
    ),
    f!(
        Concat,
        "concat",
        1,
        None,
        "concat(a, b, ...)",
        "joins the arguments; NULL counts as ''"
    ),
    f!(Lower, "lower", 1, Some(1), "lower(text)", "lower case"),
    f!(Upper, "upper", 1, Some(1), "upper(text)", "upper case"),
    f!(
        Substr,
        "substr",
        2,
        Some(3),
        "substr(text, start[, length])",
        "characters from 1-based start"
    ),
    f!(
        Left,
        "left",
        2,
        Some(2),
        "left(text, n)",
        "first n characters"
    ),
    f!(
        ToDate,
        "to_date",
        1,
        Some(1),
        "to_date(x)",
        "date of a date/timestamp/'YYYY-MM-DD' text"
    ),
    f!(
        ToTimestamp,
        "to_timestamp",
        1,
        Some(1),
        "to_timestamp(x)",
        "timestamp without time zone (a timestamptz is shown in America/Mexico_City)"
    ),
    f!(
        ToTimestamptz,
        "to_timestamptz",
        1,
        Some(1),
        "to_timestamptz(x)",
        "timestamptz; a local legacy timestamp is read as America/Mexico_City time"
    ),
    f!(
        ToNumeric,
        "to_numeric",
        1,
        Some(2),
        "to_numeric(x[, scale])",
        "exact decimal, rounded half away from zero to scale"
    ),
    f!(
        ToInt,
        "to_int",
        1,
        Some(1),
        "to_int(x)",
        "integer; fails on a fractional value"
    ),
    f!(
        ToFloat,
        "to_float",
        1,
        Some(1),
        "to_float(x)",
        "double precision (the nearest double of an exact decimal)"
    ),
    f!(
        ToText,
        "to_text",
        1,
        Some(1),
        "to_text(x)",
        "PostgreSQL text form of the value"
    ),
    f!(
        Now,
        "now",
        0,
        Some(0),
        "now()",
        "the time of the sync operation"
    ),
    f!(
        Map,
        "map",
        2,
        Some(3),
        "map(x, {k = v, ...}[, default])",
        "value map; unmatched → default (NULL without one)"
    ),
    f!(
        Ref,
        "ref",
        2,
        None,
        "ref('entity', key, ...)",
        "SUPRA id of a legacy row of a mapped entity (via sync_mappings)"
    ),
    f!(
        LegacyRef,
        "legacy_ref",
        2,
        Some(2),
        "legacy_ref('entity', uuid)",
        "legacy key (text) of a SUPRA row of a mapped entity"
    ),
    f!(
        LegacyKey,
        "legacy_key",
        0,
        Some(1),
        "legacy_key([n])",
        "legacy key of the row being written back (n-th part of a composite key)"
    ),
    f!(
        SupraId,
        "supra_id",
        0,
        Some(0),
        "supra_id()",
        "SUPRA id of the row being mapped"
    ),
    f!(
        LegacyBool,
        "legacy_bool",
        1,
        Some(1),
        "legacy_bool(flag)",
        "'S','Y','X','1','T' → true; 'N','0','F',' ' → false"
    ),
    f!(
        BoolToLegacy,
        "bool_to_legacy",
        1,
        Some(3),
        "bool_to_legacy(b[, 'S', 'N'])",
        "boolean → legacy flag character"
    ),
    f!(
        LegacyGpsToGeom,
        "legacy_gps_to_geom",
        2,
        Some(2),
        "legacy_gps_to_geom(lat, lng)",
        "VARCHAR GPS → point; NULL when malformed"
    ),
    f!(
        GeomLat,
        "geom_lat",
        1,
        Some(1),
        "geom_lat(point)",
        "latitude as DECIMAL(10,7)"
    ),
    f!(
        GeomLng,
        "geom_lng",
        1,
        Some(1),
        "geom_lng(point)",
        "longitude as DECIMAL(10,7)"
    ),
    f!(
        LegacyMoney,
        "legacy_money",
        1,
        Some(1),
        "legacy_money(x)",
        "double → DECIMAL(12,2), exact half-away-from-zero rounding"
    ),
    f!(
        JsonObject,
        "json_object",
        0,
        None,
        "json_object('key', value, ...)",
        "JSON object from key/value pairs"
    ),
    f!(
        JsonGet,
        "json_get",
        2,
        Some(2),
        "json_get(json, 'key')",
        "text of a key of a JSON object (NULL when absent)"
    ),
    f!(
        ToUuid,
        "to_uuid",
        1,
        Some(1),
        "to_uuid(text)",
        "uuid; NULL when the text is not a uuid"
    ),
    f!(
        MonthStart,
        "month_start",
        1,
        Some(1),
        "month_start(x)",
        "first day of the month of a date/timestamp or 'YYYYMM' text"
    ),
    f!(
        MonthEnd,
        "month_end",
        1,
        Some(1),
        "month_end(x)",
        "last day of the month of a date/timestamp or 'YYYYMM' text"
    ),
    f!(
        Sum,
        "sum",
        1,
        None,
        "sum(a, b, ...)",
        "exact sum of the non-NULL arguments (NULL when all are NULL)"
    ),
];

/// Looks a function up by name.
pub fn lookup(name: &str) -> Option<&'static FuncInfo> {
    FUNCTIONS.iter().find(|f| f.name == name)
}

/// Information about a function.
pub fn info(func: Func) -> &'static FuncInfo {
    FUNCTIONS
        .iter()
        .find(|f| f.func == func)
        .expect("every Func is listed in FUNCTIONS")
}
