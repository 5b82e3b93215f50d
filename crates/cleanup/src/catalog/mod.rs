//! Read-only questions to the live catalogs: which tables exist, how many rows they hold,
//! what depends on them, what dropping them frees.

pub(crate) mod ddl;

use std::collections::BTreeMap;

use supra_sync_core::quote_ident;
use tokio_postgres::Client;

use crate::error::{CleanupError, Result};
use crate::plan::Footprint;

/// `"schema"."table"`.
pub(crate) fn qualified(schema: &str, table: &str) -> String {
    format!("{}.{}", quote_ident(schema), quote_ident(table))
}

/// Ordinary and partitioned tables of `schema` whose name matches `regex`, by name.
pub(crate) async fn tables_matching(
    client: &Client,
    schema: &str,
    regex: &str,
) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND NOT c.relispartition
                AND c.relname ~ $2
              ORDER BY c.relname",
            &[&schema, &regex],
        )
        .await
        .map_err(CleanupError::db(format!(
            "list tables of {schema} matching {regex}"
        )))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// The subset of `names` that exists as tables in `schema`, in the order given.
pub(crate) async fn existing(
    client: &Client,
    schema: &str,
    names: &[String],
) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT c.relname::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relkind IN ('r', 'p') AND c.relname = ANY($2)",
            &[&schema, &names],
        )
        .await
        .map_err(CleanupError::db(format!("look up tables in {schema}")))?;
    let found: Vec<String> = rows.iter().map(|r| r.get(0)).collect();
    Ok(names
        .iter()
        .filter(|n| found.contains(n))
        .cloned()
        .collect())
}

/// Whether one relation (table or view) exists.
pub(crate) async fn relation_kind(
    client: &Client,
    schema: &str,
    name: &str,
) -> Result<Option<String>> {
    let row = client
        .query_opt(
            "SELECT c.relkind::text FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2",
            &[&schema, &name],
        )
        .await
        .map_err(CleanupError::db(format!("look up {schema}.{name}")))?;
    Ok(row.map(|r| r.get(0)))
}

/// Exact row count of one table.
pub(crate) async fn count_rows(client: &Client, schema: &str, table: &str) -> Result<i64> {
    let sql = format!("SELECT count(*) FROM {}", qualified(schema, table));
    let row = client
        .query_one(&sql, &[])
        .await
        .map_err(CleanupError::db(format!("count rows of {schema}.{table}")))?;
    Ok(row.get(0))
}

/// Exact row counts of many tables in one round trip (`query_to_xml` runs each count).
pub(crate) async fn count_many(
    client: &Client,
    schema: &str,
    tables: &[String],
) -> Result<BTreeMap<String, i64>> {
    if tables.is_empty() {
        return Ok(BTreeMap::new());
    }
    let rows = client
        .query(
            "SELECT t, (xpath('/row/c/text()',
                        query_to_xml(format('SELECT count(*) AS c FROM %I.%I', $1::text, t),
                                     false, true, '')))[1]::text::bigint
               FROM unnest($2::text[]) AS t",
            &[&schema, &tables],
        )
        .await
        .map_err(CleanupError::db(format!(
            "count rows of {} tables",
            tables.len()
        )))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Column names and formatted types of a table, in order.
pub(crate) async fn columns(
    client: &Client,
    schema: &str,
    table: &str,
) -> Result<Vec<(String, String)>> {
    let rows = client
        .query(
            "SELECT a.attname::text, format_type(a.atttypid, a.atttypmod)
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = $2 AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY a.attnum",
            &[&schema, &table],
        )
        .await
        .map_err(CleanupError::db(format!(
            "read columns of {schema}.{table}"
        )))?;
    Ok(rows.iter().map(|r| (r.get(0), r.get(1))).collect())
}

/// Column lists of many tables at once.
pub(crate) async fn columns_many(
    client: &Client,
    schema: &str,
    tables: &[String],
) -> Result<BTreeMap<String, Vec<(String, String)>>> {
    let rows = client
        .query(
            "SELECT c.relname::text, a.attname::text, format_type(a.atttypid, a.atttypmod)
               FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
              WHERE n.nspname = $1 AND c.relname = ANY($2) AND a.attnum > 0 AND NOT a.attisdropped
              ORDER BY c.relname, a.attnum",
            &[&schema, &tables],
        )
        .await
        .map_err(CleanupError::db(format!(
            "read columns of {} tables",
            tables.len()
        )))?;
    let mut out: BTreeMap<String, Vec<(String, String)>> = BTreeMap::new();
    for r in &rows {
        out.entry(r.get(0)).or_default().push((r.get(1), r.get(2)));
    }
    Ok(out)
}

/// Primary key columns of a table, in key order (empty when it has none).
pub(crate) async fn primary_key(client: &Client, schema: &str, table: &str) -> Result<Vec<String>> {
    let rows = client
        .query(
            "SELECT a.attname::text
               FROM pg_constraint con JOIN pg_class c ON c.oid = con.conrelid
               JOIN pg_namespace n ON n.oid = c.relnamespace
               CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord)
               JOIN pg_attribute a ON a.attrelid = c.oid AND a.attnum = k.attnum
              WHERE n.nspname = $1 AND c.relname = $2 AND con.contype = 'p'
              ORDER BY k.ord",
            &[&schema, &table],
        )
        .await
        .map_err(CleanupError::db(format!(
            "read the primary key of {schema}.{table}"
        )))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}

/// Objects that would stop a plain `DROP TABLE` (views, foreign keys from other tables,
/// inheritance children), per table.
pub(crate) async fn dependents(
    client: &Client,
    schema: &str,
    tables: &[String],
) -> Result<BTreeMap<String, Vec<String>>> {
    let rows = client
        .query(
            "SELECT DISTINCT src.relname::text,
                    format('%s %I.%I', CASE v.relkind WHEN 'm' THEN 'materialized view' ELSE 'view' END,
                           vn.nspname, v.relname)
               FROM pg_depend d
               JOIN pg_rewrite r ON r.oid = d.objid
               JOIN pg_class v ON v.oid = r.ev_class
               JOIN pg_namespace vn ON vn.oid = v.relnamespace
               JOIN pg_class src ON src.oid = d.refobjid
               JOIN pg_namespace n ON n.oid = src.relnamespace
              WHERE d.classid = 'pg_rewrite'::regclass AND d.refclassid = 'pg_class'::regclass
                AND v.oid <> src.oid AND n.nspname = $1 AND src.relname = ANY($2)
             UNION
             SELECT ref.relname::text,
                    format('foreign key %I on %I.%I', con.conname, tn.nspname, t.relname)
               FROM pg_constraint con
               JOIN pg_class ref ON ref.oid = con.confrelid
               JOIN pg_namespace n ON n.oid = ref.relnamespace
               JOIN pg_class t ON t.oid = con.conrelid
               JOIN pg_namespace tn ON tn.oid = t.relnamespace
              WHERE con.contype = 'f' AND con.conrelid <> con.confrelid
                AND n.nspname = $1 AND ref.relname = ANY($2)
             UNION
             SELECT p.relname::text, format('child table %I.%I', cn.nspname, ch.relname)
               FROM pg_inherits i
               JOIN pg_class p ON p.oid = i.inhparent
               JOIN pg_namespace n ON n.oid = p.relnamespace
               JOIN pg_class ch ON ch.oid = i.inhrelid
               JOIN pg_namespace cn ON cn.oid = ch.relnamespace
              WHERE n.nspname = $1 AND p.relname = ANY($2)
              ORDER BY 1, 2",
            &[&schema, &tables],
        )
        .await
        .map_err(CleanupError::db("look for dependent objects"))?;
    let mut out: BTreeMap<String, Vec<String>> = BTreeMap::new();
    for r in &rows {
        out.entry(r.get(0)).or_default().push(r.get(1));
    }
    Ok(out)
}

/// Catalog rows that belong to `tables` (and their indexes and TOAST relations).
pub(crate) async fn footprint(
    client: &Client,
    schema: &str,
    tables: &[String],
) -> Result<Footprint> {
    if tables.is_empty() {
        return Ok(Footprint::default());
    }
    let row = client
        .query_one(
            "WITH t AS (
                 SELECT c.oid, c.reltoastrelid FROM pg_class c
                   JOIN pg_namespace n ON n.oid = c.relnamespace
                  WHERE n.nspname = $1 AND c.relname = ANY($2)),
             rels AS (
                 SELECT oid FROM t
                 UNION SELECT reltoastrelid FROM t WHERE reltoastrelid <> 0
                 UNION SELECT i.indexrelid FROM pg_index i
                        WHERE i.indrelid IN (SELECT oid FROM t)
                           OR i.indrelid IN (SELECT reltoastrelid FROM t))
             SELECT (SELECT count(*) FROM t),
                    (SELECT count(*) FROM rels),
                    (SELECT count(*) FROM pg_attribute WHERE attrelid IN (SELECT oid FROM rels)),
                    (SELECT count(*) FROM pg_depend
                      WHERE (classid = 'pg_class'::regclass AND objid IN (SELECT oid FROM rels))
                         OR (refclassid = 'pg_class'::regclass AND refobjid IN (SELECT oid FROM rels))),
                    (SELECT count(*) FROM pg_type
                      WHERE typrelid IN (SELECT oid FROM rels)
                         OR typelem IN (SELECT oid FROM pg_type WHERE typrelid IN (SELECT oid FROM rels))),
                    (SELECT count(*) FROM pg_constraint WHERE conrelid IN (SELECT oid FROM t))",
            &[&schema, &tables],
        )
        .await
        .map_err(CleanupError::db("measure the catalog footprint"))?;
    Ok(Footprint {
        tables: row.get(0),
        pg_class: row.get(1),
        pg_attribute: row.get(2),
        pg_depend: row.get(3),
        pg_type: row.get(4),
        pg_constraint: row.get(5),
    })
}

/// Up to `limit` rows of a table as JSON text (long values shortened), for error details.
pub(crate) async fn sample_rows(
    client: &Client,
    schema: &str,
    table: &str,
    filter: &str,
    limit: i64,
) -> Result<Vec<String>> {
    let sql = format!(
        "SELECT left(to_jsonb(t)::text, 300) FROM {} AS t {filter} LIMIT $1",
        qualified(schema, table)
    );
    let rows = client
        .query(&sql, &[&limit])
        .await
        .map_err(CleanupError::db(format!(
            "read sample rows of {schema}.{table}"
        )))?;
    Ok(rows.iter().map(|r| r.get(0)).collect())
}
