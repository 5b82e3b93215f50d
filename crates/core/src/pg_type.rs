//! The PostgreSQL types supra-sync understands, identified by type OID.

/// A column type, as far as supra-sync needs to know it to parse and bind values.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum PgType {
    /// `boolean`
    Bool,
    /// `smallint`
    Int2,
    /// `integer`
    Int4,
    /// `bigint`
    Int8,
    /// `real`
    Float4,
    /// `double precision`
    Float8,
    /// `numeric` / `decimal`
    Numeric,
    /// `text`
    Text,
    /// `varchar`
    Varchar,
    /// `char(n)` / `bpchar`
    Bpchar,
    /// `date`
    Date,
    /// `timestamp without time zone`
    Timestamp,
    /// `timestamp with time zone`
    Timestamptz,
    /// `uuid`
    Uuid,
    /// `json`
    Json,
    /// `jsonb`
    Jsonb,
    /// `varchar[]` / `text[]`
    TextArray,
    /// PostGIS `geography` (OID assigned at extension creation time).
    Geography,
    /// Anything else: carried as text, bound with an explicit cast.
    Other(u32),
}

impl PgType {
    /// Maps a built-in type OID. Extension types (PostGIS) have per-database OIDs and are
    /// resolved by name with [`PgType::from_name`].
    pub fn from_oid(oid: u32) -> PgType {
        match oid {
            16 => PgType::Bool,
            21 => PgType::Int2,
            23 => PgType::Int4,
            20 => PgType::Int8,
            700 => PgType::Float4,
            701 => PgType::Float8,
            1700 => PgType::Numeric,
            25 => PgType::Text,
            1043 => PgType::Varchar,
            1042 => PgType::Bpchar,
            1082 => PgType::Date,
            1114 => PgType::Timestamp,
            1184 => PgType::Timestamptz,
            2950 => PgType::Uuid,
            114 => PgType::Json,
            3802 => PgType::Jsonb,
            1015 | 1009 => PgType::TextArray,
            other => PgType::Other(other),
        }
    }

    /// Maps a type by its `format_type` / `udt_name` spelling, for catalog lookups.
    pub fn from_name(name: &str) -> PgType {
        let base = name.split('(').next().unwrap_or(name).trim();
        match base {
            "boolean" | "bool" => PgType::Bool,
            "smallint" | "int2" => PgType::Int2,
            "integer" | "int4" | "int" => PgType::Int4,
            "bigint" | "int8" => PgType::Int8,
            "real" | "float4" => PgType::Float4,
            "double precision" | "float8" => PgType::Float8,
            "numeric" | "decimal" => PgType::Numeric,
            "text" => PgType::Text,
            "character varying" | "varchar" => PgType::Varchar,
            "character" | "bpchar" | "char" => PgType::Bpchar,
            "date" => PgType::Date,
            "timestamp without time zone" | "timestamp" => PgType::Timestamp,
            "timestamp with time zone" | "timestamptz" => PgType::Timestamptz,
            "uuid" => PgType::Uuid,
            "json" => PgType::Json,
            "jsonb" => PgType::Jsonb,
            "character varying[]" | "text[]" | "_varchar" | "_text" => PgType::TextArray,
            "geography" => PgType::Geography,
            _ => PgType::Other(0),
        }
    }

    /// The SQL spelling used in explicit casts when binding text parameters.
    pub fn sql_name(self) -> &'static str {
        match self {
            PgType::Bool => "boolean",
            PgType::Int2 => "smallint",
            PgType::Int4 => "integer",
            PgType::Int8 => "bigint",
            PgType::Float4 => "real",
            PgType::Float8 => "double precision",
            PgType::Numeric => "numeric",
            PgType::Text | PgType::Other(_) => "text",
            PgType::Varchar => "varchar",
            PgType::Bpchar => "bpchar",
            PgType::Date => "date",
            PgType::Timestamp => "timestamp",
            PgType::Timestamptz => "timestamptz",
            PgType::Uuid => "uuid",
            PgType::Json => "json",
            PgType::Jsonb => "jsonb",
            PgType::TextArray => "text[]",
            PgType::Geography => "geography",
        }
    }

    /// True for the character types (`text`, `varchar`, `char`).
    pub fn is_textual(self) -> bool {
        matches!(self, PgType::Text | PgType::Varchar | PgType::Bpchar)
    }

    /// True for the exact and approximate number types.
    pub fn is_numeric(self) -> bool {
        matches!(
            self,
            PgType::Int2
                | PgType::Int4
                | PgType::Int8
                | PgType::Float4
                | PgType::Float8
                | PgType::Numeric
        )
    }
}
