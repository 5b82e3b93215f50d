//! Row builders and the shipped mapping set, shared by the integration tests.
#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use chrono::{DateTime, NaiveDate, NaiveDateTime, Utc};
use rust_decimal::Decimal;
use supra_sync_core::{ColumnDef, PgType, Row, RowSchema, TableName, Value};
use supra_sync_mapping::{MappingSet, ResolvedContext, TargetOp};
use uuid::Uuid;

/// The tenant id used by the tests.
pub const TENANT: Uuid = Uuid::from_u128(0x1111_2222_3333_4444_5555_6666_7777_8888);

/// The shipped `mappings/` directory.
pub fn mappings_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../../mappings")
}

/// The shipped mapping set.
pub fn shipped() -> MappingSet {
    MappingSet::load_dir(&mappings_dir()).unwrap_or_else(|d| panic!("{d}"))
}

/// A fixed "now".
pub fn now() -> DateTime<Utc> {
    DateTime::parse_from_rfc3339("2025-06-01T12:00:00Z")
        .unwrap()
        .with_timezone(&Utc)
}

/// An empty context for the test tenant.
pub fn ctx() -> ResolvedContext {
    ResolvedContext::new(TENANT, now())
}

/// Builds a row of `table` (`schema.name`); the first `keys` columns are the key.
pub fn row(table: &str, keys: usize, cols: &[(&str, PgType, Value)]) -> Row {
    let schema = Arc::new(RowSchema {
        table: TableName::parse(table),
        columns: cols
            .iter()
            .enumerate()
            .map(|(i, (n, t, _))| ColumnDef {
                name: n.to_string(),
                pg_type: *t,
                key: i < keys,
            })
            .collect(),
    });
    Row::new(schema, cols.iter().map(|(_, _, v)| v.clone()).collect())
}

/// NUMERIC value.
pub fn num(i: i64) -> Value {
    Value::Numeric(Decimal::from(i))
}

/// Text value.
pub fn text(s: &str) -> Value {
    Value::Text(s.into())
}

/// Timestamp value from "YYYY-MM-DD HH:MM:SS".
pub fn ts(s: &str) -> Value {
    Value::Timestamp(NaiveDateTime::parse_from_str(s, "%Y-%m-%d %H:%M:%S").unwrap())
}

/// Date value.
pub fn date(s: &str) -> Value {
    Value::Date(NaiveDate::parse_from_str(s, "%Y-%m-%d").unwrap())
}

/// Decimal from text.
pub fn dec(s: &str) -> Value {
    Value::Numeric(s.parse().unwrap())
}

/// The value a single upsert op writes to `column`.
pub fn col<'a>(ops: &'a [TargetOp], table: &str, column: &str) -> &'a Value {
    let op = ops
        .iter()
        .find(|o| o.table().name == table)
        .unwrap_or_else(|| panic!("no op on {table}: {ops:?}"));
    op.value(column)
        .unwrap_or_else(|| panic!("{table} has no column {column}: {op:?}"))
}

/// A legacy persona row.
pub fn persona(id: i64, tipo: &str, nif: Value, nomape: Value, nombre: Value) -> Row {
    row(
        "cf_quere_pro.persona",
        1,
        &[
            ("prsid", PgType::Numeric, num(id)),
            ("prstipo", PgType::Bpchar, text(tipo)),
            ("prsnif", PgType::Varchar, nif),
            ("prscurp", PgType::Varchar, Value::Null),
            ("prsnomape", PgType::Varchar, nomape),
            ("prsnombre", PgType::Varchar, nombre),
            ("prsape1", PgType::Varchar, text("Peña")),
            ("prsape2", PgType::Varchar, text("Ñúñez")),
            ("prssexo", PgType::Bpchar, text("M")),
            ("prsfecnac", PgType::Timestamp, Value::Null),
            ("prstelef", PgType::Varchar, text(" 4421234567 ")),
            ("prstelef2", PgType::Varchar, text("")),
            ("prsemail", PgType::Varchar, Value::Null),
            ("prsdirid", PgType::Numeric, num(7)),
            ("prsregfiscal", PgType::Varchar, text("616")),
            ("prsusocfdi", PgType::Varchar, text("S01")),
            ("prstipident", PgType::Numeric, Value::Null),
            ("prsnumident", PgType::Varchar, Value::Null),
            ("prssnvulnerable", PgType::Bpchar, text("S")),
            ("prssnpubli", PgType::Bpchar, text("N")),
            ("prspassweb", PgType::Varchar, text("secreto")),
            ("prsfecreg", PgType::Timestamp, ts("2020-07-15 10:00:00")),
            ("prshstusu", PgType::Varchar, text("MIGRA")),
            ("prshsthora", PgType::Timestamp, ts("2024-01-15 10:00:00")),
        ],
    )
}

/// A legacy contrato row.
pub fn contrato(num_: i64, prsid: Value, ptosid: Value, estado: &str) -> Row {
    row(
        "cf_quere_pro.contrato",
        1,
        &[
            ("cnttnum", PgType::Numeric, num(num_)),
            ("cnttprsid", PgType::Numeric, prsid),
            ("cnttptosid", PgType::Numeric, ptosid),
            ("cnttexpid", PgType::Numeric, num(1)),
            ("cnttsocemi", PgType::Numeric, num(1)),
            ("cnttestado", PgType::Bpchar, text(estado)),
            ("cnttfecalta", PgType::Timestamp, ts("2019-03-01 09:30:00")),
            ("cnttfecbaja", PgType::Timestamp, Value::Null),
            ("cnttmotbaja", PgType::Numeric, Value::Null),
            ("cnttcategtarif", PgType::Varchar, text("DOM")),
            ("cntttarid", PgType::Numeric, num(1)),
            ("cnttformapago", PgType::Bpchar, text("D")),
            ("cnttbanco", PgType::Varchar, text("BANORTE")),
            ("cnttclabe", PgType::Varchar, text("072680004567890123")),
            ("cnttsnfactelec", PgType::Bpchar, text("S")),
            ("cnttsntarsocial", PgType::Bpchar, text("N")),
            ("cnttdirenvio", PgType::Numeric, Value::Null),
            ("cnttcanalpref", PgType::Varchar, text("WHATSAPP")),
            ("cnttcnttant", PgType::Numeric, Value::Null),
            ("cnttobserv", PgType::Varchar, Value::Null),
            ("cntthstusu", PgType::Varchar, text("MIGRA")),
            ("cntthsthora", PgType::Timestamp, ts("2024-02-01 08:00:00")),
        ],
    )
}

/// Columns of a legacy table, read from the `sql/legacy/*.sql` DDL of the repository.
pub fn legacy_columns(table: &str) -> Vec<(String, PgType)> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../sql/legacy");
    let mut files: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .filter_map(|e| e.ok().map(|e| e.path()))
        .collect();
    files.sort();
    let needle = format!("CREATE TABLE cf_quere_pro.{table} ");
    let needle2 = format!("CREATE TABLE cf_quere_pro.{table}(");
    for f in files {
        let sql = std::fs::read_to_string(&f).unwrap();
        let Some(start) = sql.find(&needle).or_else(|| sql.find(&needle2)) else {
            continue;
        };
        let body = &sql[start..];
        let open = body.find('(').unwrap();
        let end = body.find("CONSTRAINT").unwrap();
        let mut out = Vec::new();
        let mut depth = 0;
        let mut cur = String::new();
        for ch in body[open + 1..end].chars() {
            match ch {
                '(' => depth += 1,
                ')' => depth -= 1,
                ',' if depth == 0 => {
                    push_col(&cur, &mut out);
                    cur.clear();
                    continue;
                }
                _ => {}
            }
            cur.push(ch);
        }
        push_col(&cur, &mut out);
        return out;
    }
    panic!("table {table} not found in sql/legacy");
}

fn push_col(def: &str, out: &mut Vec<(String, PgType)>) {
    let def: String = def
        .lines()
        .map(|l| l.split("--").next().unwrap_or(""))
        .collect::<Vec<_>>()
        .join(" ");
    let mut parts = def.split_whitespace();
    let (Some(name), Some(ty)) = (parts.next(), parts.next()) else {
        return;
    };
    let ty = ty.to_ascii_uppercase();
    let pg = if ty.starts_with("NUMERIC") {
        PgType::Numeric
    } else if ty.starts_with("VARCHAR") {
        PgType::Varchar
    } else if ty.starts_with("CHAR") {
        PgType::Bpchar
    } else if ty.starts_with("DOUBLE") {
        PgType::Float8
    } else if ty.starts_with("TIMESTAMP") {
        PgType::Timestamp
    } else if ty.starts_with("DATE") {
        PgType::Date
    } else if ty.starts_with("INT") {
        PgType::Int4
    } else {
        PgType::Text
    };
    out.push((name.to_string(), pg));
}

/// A full legacy row of `table`: the given values, NULL for every other column; the key
/// columns are the first `keys` given.
pub fn legacy_row(table: &str, keys: &[&str], given: &[(&str, Value)]) -> Row {
    let cols = legacy_columns(table);
    for (g, _) in given {
        assert!(
            cols.iter().any(|(c, _)| c == g),
            "{table} has no column {g}"
        );
    }
    let schema = Arc::new(RowSchema {
        table: TableName::new("cf_quere_pro", table),
        columns: cols
            .iter()
            .map(|(n, t)| ColumnDef {
                name: n.clone(),
                pg_type: *t,
                key: keys.contains(&n.as_str()),
            })
            .collect(),
    });
    let values = cols
        .iter()
        .map(|(n, _)| {
            given
                .iter()
                .find(|(g, _)| g == n)
                .map_or(Value::Null, |(_, v)| v.clone())
        })
        .collect();
    Row::new(schema, values)
}
